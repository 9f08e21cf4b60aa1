"""Crypto-erasure, retention and master-key rotation on the embedded Mongo server:
intake's real grievance store and ``data_keys`` collection, real HTTP, and (for the
withdrawal) remediation's container over RPC with its cases in memory."""
import base64
import json
import os
from datetime import datetime, timezone

import eventlet
import pytest
import requests
from nameko.testing.services import entrypoint_hook

from scripts.stack import wait_for
from services.intake import keys as master_keys
from services.intake.identity import DataKeys, Vault
from services.intake.service import IntakeService
from shared.config import SETTINGS_KEY, settings
from shared.contracts.events import CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, iso, make_event
from shared.crypto import Erased, Keyring, SealedBox, new_key
from shared.repository import database
from tests.principals import signing_key

WORDS, NAME, PHONE, LINE_ID = "The supervisor kept our passports", "Aung Aung", "081 555 0142", "aung.aung.1990"
REPORT = {"channel": "line", "language": "my", "work_area": "working_conditions", "text": WORDS,
          "contact": {"name": NAME, "phone": PHONE, "line_id": LINE_ID}, "supplier_ref": "SUP-1"}
SECRETS = (WORDS, NAME, PHONE, "66815550142", "815550142", LINE_ID, "U4af4980629")
RECEIVED_FIELDS = ("worker_key", "channel", "language", "work_area", "forced_labour_indicators", "severity",
                   "retaliation", "supplier_ref", "site_ref", "agency_ref", "received_at")


def intake_db(config):
    return database("intake", config[SETTINGS_KEY])


def vault_of(config) -> Vault:
    """A vault over the container's own data keys (as a later worker would see them)."""
    return Vault(DataKeys(intake_db(config), master_keys.keyring_from_settings()), b"p" * 32, "TH")


def report(url) -> dict:
    answer = requests.post(f"{url}/grievances", json=REPORT, timeout=10)
    assert answer.status_code == 201, answer.text
    return answer.json()


def dump(db) -> str:
    return json.dumps({name: list(db[name].find()) for name in db.list_collection_names()}, default=str)


def assert_erased(config, ref, sealed: list[str], why: str):
    db = intake_db(config)
    doc = db["grievances"].find_one({"_id": ref})
    assert doc["erased_at"] and doc["sealed_text"] is None and doc["sealed_contact"] is None
    assert [(a["action"], a["why"]) for a in doc["audit"]] == [("erase", why)]
    assert doc["work_area"] == "working_conditions" and doc["supplier_ref"] == "SUP-1"   # anonymous facts stay
    key = db["data_keys"].find_one({"_id": ref})
    assert "wrapped" not in key and key["why"] == why
    text = dump(db)
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in intake's database"
    for token in sealed:
        assert token not in text
        with pytest.raises(Erased):
            vault_of(config).open(token, ref)


def test_withdrawal_with_delete_my_data_erases_the_case_for_good(doors):
    url, config, remediation, _, _ = doors()
    created = report(url)
    ref = created["case_ref"]
    doc = intake_db(config)["grievances"].find_one({"_id": ref})
    with entrypoint_hook(remediation, "on_grievance_received") as opened:
        opened(make_event(GRIEVANCE_RECEIVED, ref, {k: doc[k] for k in RECEIVED_FIELDS}, "c"))
    # What the chat code seals for the case (the LINE user id) goes with it.
    chat_id = vault_of(config).seal("line:U4af4980629", ref)
    assert vault_of(config).open(doc["sealed_text"], ref) == WORDS
    assert doc["sealed_text"].startswith("v2:")

    done = requests.post(f"{url}/grievances/{ref}/withdrawal", timeout=10, json={
        "receipt": created["receipt"], "reason": "I want to forget this", "delete_my_data": True})
    assert done.status_code == 200 and done.json()["status"] == "withdrawn", done.text
    assert_erased(config, ref, [doc["sealed_text"], doc["sealed_contact"], chat_id], "worker_request")
    # The worker still reads the status; nothing more can be added to the erased case.
    status = requests.post(f"{url}/grievances/{ref}/status", json={"receipt": created["receipt"]}, timeout=10)
    assert status.status_code == 200 and status.json()["status"] == "withdrawn"
    more = requests.post(f"{url}/grievances/{ref}/follow-ups", timeout=10,
                         json={"receipt": created["receipt"], "text": "one more thing"})
    assert more.status_code == 409


def test_a_withdrawal_without_delete_my_data_keeps_the_data_until_the_worker_asks(doors):
    url, config, remediation, _, _ = doors()
    created = report(url)
    ref = created["case_ref"]
    doc = intake_db(config)["grievances"].find_one({"_id": ref})
    with entrypoint_hook(remediation, "on_grievance_received") as opened:
        opened(make_event(GRIEVANCE_RECEIVED, ref, {k: doc[k] for k in RECEIVED_FIELDS}, "c"))
    done = requests.post(f"{url}/grievances/{ref}/withdrawal", timeout=10,
                         json={"receipt": created["receipt"], "reason": "settled"})
    assert done.status_code == 200
    assert vault_of(config).open(doc["sealed_text"], ref) == WORDS
    assert not intake_db(config)["grievances"].find_one({"_id": ref})["erased_at"]
    again = requests.post(f"{url}/grievances/{ref}/withdrawal", timeout=10,
                          json={"receipt": created["receipt"], "reason": "settled"})
    assert again.status_code == 409                  # withdrawn already: nothing to do
    # ... but the worker may still ask, later, to be erased.
    later = requests.post(f"{url}/grievances/{ref}/withdrawal", timeout=10,
                          json={"receipt": created["receipt"], "reason": "forget me", "delete_my_data": True})
    assert later.status_code == 200 and later.json()["status"] == "withdrawn", later.text
    assert_erased(config, ref, [doc["sealed_text"], doc["sealed_contact"]], "worker_request")


def test_the_retention_sweep_erases_a_closed_case_after_its_period(container_factory, make_config):
    config = make_config(actor_signing_key=signing_key("intake"), retention_days=0, retention_sweep_seconds=0.2)
    intake = container_factory(IntakeService, config)
    intake.start()
    url = f"http://{config['WEB_SERVER_ADDRESS']}"
    kept, closed = report(url)["case_ref"], report(url)["case_ref"]
    doc = intake_db(config)["grievances"].find_one({"_id": closed})
    event = make_event(CASE_STATUS_CHANGED, closed, {
        "from_status": "validating", "to_status": "closed", "case_version": 12, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None, "business_ref": "SUP-1",
        "business_type": "supplier", "actor": {"id": "remediation", "role": "system"},
        "changed_at": iso(datetime.now(timezone.utc))}, "c")
    with entrypoint_hook(intake, "on_case_status_changed") as changed:
        changed(event)
    grievances = intake_db(config)["grievances"]
    wait_for(lambda: grievances.find_one({"_id": closed})["erased_at"], 10, "the retention sweep")
    with entrypoint_hook(intake, "on_case_status_changed") as changed:
        changed(event)                               # redelivered: changes nothing
    erased = grievances.find_one({"_id": closed})
    assert len(erased["audit"]) == 1 and "intake.on_case_status_changed:" + event["event_id"] in str(
        erased.get("applied_events"))
    with pytest.raises(Erased):
        vault_of(config).open(doc["sealed_text"], closed)
    assert vault_of(config).open(grievances.find_one({"_id": kept})["sealed_text"], kept) == WORDS
    assert not grievances.find_one({"_id": kept})["erased_at"]


def test_due_cases_are_found_only_until_erased(mongo):
    from services.intake.store import GrievanceStore
    db = database("intake", settings().replace(mongo_db_prefix="due_"))
    store = GrievanceStore(db)
    store.col.delete_many({})
    store.ensure_indexes()
    store.col.insert_many([{"_id": "ILM-DUE1", "erase_after": "2026-01-01T00:00:00.000Z", "erased_at": None},
                           {"_id": "ILM-DUE2", "erase_after": "2027-01-01T00:00:00.000Z", "erased_at": None},
                           {"_id": "ILM-DUE3", "erase_after": "2025-01-01T00:00:00.000Z",
                            "erased_at": "2025-01-02T00:00:00.000Z"},
                           {"_id": "ILM-DUE4", "erase_after": None, "erased_at": None},
                           {"_id": "ILM-OLD"}])
    assert store.due_for_erasure("2026-06-01T00:00:00.000Z", 10) == ["ILM-DUE1"]


# --- data keys and rotation on the real store ------------------------------------------------

@pytest.fixture
def data_keys_db(mongo):
    """intake's database of this run (the ops command finds it from the settings)."""
    db = database("intake")
    db["data_keys"].delete_many({})
    db["grievances"].delete_many({})
    return db


def test_racing_greenthreads_sealing_for_a_new_case_share_one_data_key(data_keys_db):
    keys = DataKeys(data_keys_db, Keyring({"k1": os.urandom(32)}, "k1"))
    pool = eventlet.GreenPool(20)
    tokens = list(pool.imap(lambda i: Vault(keys, b"p" * 32, "TH").seal(f"message {i}", "ILM-RACE0001"), range(20)))
    assert data_keys_db["data_keys"].count_documents({"_id": "ILM-RACE0001"}) == 1
    reader = Vault(keys, b"p" * 32, "TH")
    assert [reader.open(t, "ILM-RACE0001") for t in tokens] == [f"message {i}" for i in range(20)]


def printed(capsys) -> dict:
    """The command's answer: its last line (log lines may come before it)."""
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_rotation_end_to_end_with_the_ops_command(data_keys_db, monkeypatch, capsys):
    old, new = new_key(), new_key()
    legacy_token = SealedBox(base64.b64decode(old)).seal("sealed before envelopes", "ILM-ROT00001")
    monkeypatch.setenv("IDENTITY_KEY", old)            # an older set-up: one key, id k1
    monkeypatch.setenv("IDENTITY_KEYS", "")
    monkeypatch.setenv("IDENTITY_KEY_ID", "")
    before = Vault(DataKeys(data_keys_db, master_keys.keyring_from_settings()), b"p" * 32, "TH")
    tokens = {ref: before.seal(f"words of {ref}", ref) for ref in ("ILM-ROT00001", "ILM-ROT00002", "ILM-ROT00003")}
    before.erase("ILM-ROT00003", "retention")
    # A grievance stored before envelope encryption: its tokens are v1, under k1 itself.
    data_keys_db["grievances"].insert_one({
        "_id": "ILM-ROT00004", "_rev": 3, "sealed_text": SealedBox(base64.b64decode(old)).seal("old words", "ILM-ROT00004"),
        "sealed_contact": None, "validation_answers": [],
        "follow_ups": [{"sealed_text": SealedBox(base64.b64decode(old)).seal("old follow-up", "ILM-ROT00004")}]})

    monkeypatch.setenv("IDENTITY_KEYS", f"k2:{new}")   # the new key, current; k1 still from IDENTITY_KEY
    assert master_keys.main(["rotate"]) == 0
    assert printed(capsys) == {"rewrapped": 2, "skipped": 0}
    assert master_keys.main(["status"]) == 0
    assert printed(capsys) == {"k2": 2, "erased": 1, "v1_grievances": 1}
    assert master_keys.main(["reseal-v1"]) == 0          # v1 tokens go under their case's data key
    assert printed(capsys) == {"resealed": 1, "skipped": 0}
    assert master_keys.main(["status"]) == 0
    assert printed(capsys) == {"k2": 3, "erased": 1}
    stored = {d["_id"]: d for d in data_keys_db["data_keys"].find()}
    assert "wrapped" not in stored["ILM-ROT00003"]

    monkeypatch.setenv("IDENTITY_KEY", "")             # the old master key is gone
    after = Vault(DataKeys(data_keys_db, master_keys.keyring_from_settings()), b"p" * 32, "TH")
    for ref in ("ILM-ROT00001", "ILM-ROT00002"):
        assert after.open(tokens[ref], ref) == f"words of {ref}"
    with pytest.raises(Erased):
        after.open(tokens["ILM-ROT00003"], "ILM-ROT00003")
    with pytest.raises(KeyError, match="k1"):           # a v1 token left somewhere needs k1
        after.open(legacy_token, "ILM-ROT00001")
    resealed = data_keys_db["grievances"].find_one({"_id": "ILM-ROT00004"})
    assert resealed["_rev"] == 4 and resealed["sealed_text"].startswith("v2:")
    assert after.open(resealed["sealed_text"], "ILM-ROT00004") == "old words"
    assert after.open(resealed["follow_ups"][0]["sealed_text"], "ILM-ROT00004") == "old follow-up"
