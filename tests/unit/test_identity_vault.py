"""The identity vault's envelope encryption: a data key per case wrapped by a master
key with an id, legacy v1 tokens, rotation, crypto-erasure, the keyring settings and
E.164 before the pseudonym. The data keys live in a dict-backed stand-in for the
``data_keys`` collection here; tests/interface/intake/test_erasure.py runs the same on
the embedded Mongo server."""
import base64
import copy
import os
from datetime import datetime, timezone

import pytest
from cryptography.exceptions import InvalidTag

from services.intake import keys as master_keys
from services.intake.domain import contact_identifier
from services.intake.identity import DataKeys, Vault
from services.intake.phones import normalise_phone
from shared.crypto import ENVELOPE_PREFIX, TOKEN_PREFIX, Erased, Keyring, SealedBox
from shared.errors import ConfigError
from shared.repository import DuplicateKeyError

K1, K2, K3 = (os.urandom(32) for _ in range(3))
REF, OTHER_REF = "ILM-ENVELOPE1", "ILM-ENVELOPE2"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
WORDS = "The supervisor took our passports. Call me on 081 234 5678."


class MemoryCollection:
    """The few pymongo calls DataKeys and rotate make, over a dict."""

    def __init__(self):
        self.docs = {}

    @staticmethod
    def _matches(doc, query):
        for name, cond in query.items():
            if isinstance(cond, dict):
                if "$exists" in cond and (name in doc) != cond["$exists"]:
                    return False
                if "$ne" in cond and doc.get(name) == cond["$ne"]:
                    return False
            elif doc.get(name) != cond:
                return False
        return True

    def find_one(self, query, projection=None):
        return next(iter(self.find(query)), None)

    def find(self, query, projection=None):
        return [copy.deepcopy(d) for d in self.docs.values() if self._matches(d, query)]

    def insert_one(self, doc):
        if doc["_id"] in self.docs:
            raise DuplicateKeyError("duplicate")
        self.docs[doc["_id"]] = copy.deepcopy(doc)

    def replace_one(self, query, doc, upsert=False):
        found = self.find_one(query)
        if found is not None or upsert:
            self.docs[doc["_id"]] = copy.deepcopy(doc)

        class Result:
            matched_count = int(found is not None)
        return Result()


def vault_with(keyring, col=None):
    col = col if col is not None else MemoryCollection()
    return Vault(DataKeys({"data_keys": col}, keyring), b"p" * 32, "TH"), col


@pytest.fixture
def vault():
    return vault_with(Keyring({"k1": K1}, "k1"))[0]


# --- envelope ------------------------------------------------------------------------

def test_envelope_round_trip_with_a_data_key_per_case(vault):
    token = vault.seal(WORDS, REF)
    assert token.startswith(ENVELOPE_PREFIX) and "passport" not in token
    assert vault.open(token, REF) == WORDS
    other = vault.seal(WORDS, OTHER_REF)
    docs = vault.keys.col.docs
    assert set(docs) == {REF, OTHER_REF} and docs[REF]["key_id"] == "k1"
    assert docs[REF]["wrapped"] != docs[OTHER_REF]["wrapped"]
    # A fresh worker (no cached key) opens it from the stored, wrapped key.
    assert Vault(vault.keys, b"p" * 32, "TH").open(other, OTHER_REF) == WORDS
    # The master key alone does not open a value: it is sealed with the data key.
    with pytest.raises((InvalidTag, ValueError)):
        SealedBox(K1, ENVELOPE_PREFIX).open(token, REF)


def test_a_token_moved_to_another_case_does_not_open(vault):
    token = vault.seal(WORDS, REF)
    vault.seal("x", OTHER_REF)
    with pytest.raises(InvalidTag):
        vault.open(token, OTHER_REF)


def test_a_wrapped_key_opens_only_under_its_master_key_and_its_case():
    ring = Keyring({"k1": K1}, "k1")
    data_key = os.urandom(32)
    key_id, wrapped = ring.wrap(data_key, REF)
    assert key_id == "k1" and ring.unwrap("k1", wrapped, REF) == data_key
    with pytest.raises(InvalidTag):
        Keyring({"k1": K2}, "k1").unwrap("k1", wrapped, REF)      # the wrong master key
    with pytest.raises(InvalidTag):
        ring.unwrap("k1", wrapped, OTHER_REF)                        # copied onto another case
    with pytest.raises(InvalidTag):
        Keyring({"k1": K1, "k2": K1}, "k2").unwrap("k2", wrapped, REF)   # relabelled key id
    with pytest.raises(KeyError, match="not in the keyring"):
        Keyring({"k2": K2}, "k2").unwrap("k1", wrapped, REF)


def test_racing_workers_end_up_with_one_data_key():
    """The loser of the insert race reads the winner's key (unique _id)."""
    col = MemoryCollection()
    ring = Keyring({"k1": K1}, "k1")
    first, second = DataKeys({"data_keys": col}, ring), DataKeys({"data_keys": col}, ring)
    real_find = second.find
    calls = []

    def find_after_the_other_inserted(case_ref):
        calls.append(case_ref)
        if len(calls) == 1:                       # 'second' looked before 'first' inserted
            first.find_or_create(case_ref, NOW)
            return None
        return real_find(case_ref)
    second.find = find_after_the_other_inserted
    assert second.find_or_create(REF, NOW) == first.find(REF)
    assert len(col.docs) == 1


def test_legacy_v1_tokens_open_with_the_former_identity_key():
    legacy = SealedBox(K1).seal(WORDS, REF)        # sealed with IDENTITY_KEY before this change
    assert legacy.startswith(TOKEN_PREFIX)
    vault, _ = vault_with(Keyring({"k1": K1, "k2": K2}, "k2"))
    assert vault.open(legacy, REF) == WORDS
    assert vault.seal("new", REF).startswith(ENVELOPE_PREFIX)
    assert vault.keys.col.docs[REF]["key_id"] == "k2"
    no_k1, _ = vault_with(Keyring({"k2": K2}, "k2"))
    with pytest.raises(KeyError, match="k1"):
        no_k1.open(legacy, REF)


# --- rotation --------------------------------------------------------------------------

def test_rotation_rewraps_every_data_key_and_old_data_still_opens_without_the_old_master():
    vault, col = vault_with(Keyring({"k1": K1}, "k1"))
    tokens = {ref: vault.seal(f"words of {ref}", ref) for ref in ("ILM-A", "ILM-B", "ILM-C")}
    vault.erase("ILM-C", "retention")
    before = copy.deepcopy(col.docs)
    assert master_keys.rotate({"data_keys": col}, Keyring({"k1": K1, "k2": K2}, "k2")) == {
        "rewrapped": 2, "skipped": 0}
    assert {d.get("key_id") for d in col.docs.values()} == {"k2", None}
    assert col.docs["ILM-C"] == before["ILM-C"]               # an erased key stays erased
    assert master_keys.status({"data_keys": col, "grievances": MemoryCollection()}) == {"k2": 2, "erased": 1}
    after, _ = vault_with(Keyring({"k2": K2}, "k2"), col)     # k1 removed from the ring
    for ref in ("ILM-A", "ILM-B"):
        assert after.open(tokens[ref], ref) == f"words of {ref}"
    assert master_keys.rotate({"data_keys": col}, Keyring({"k2": K2}, "k2")) == {"rewrapped": 0, "skipped": 0}


# --- erasure ---------------------------------------------------------------------------

def test_erasure_makes_every_value_of_the_case_unopenable_and_nothing_new_sealable(vault):
    text, chat_id = vault.seal(WORDS, REF), vault.seal("line:U4af4980629", REF)
    kept = vault.seal("another case", OTHER_REF)
    vault.erase(REF, "worker_request")
    doc = vault.keys.col.docs[REF]
    assert "wrapped" not in doc and doc["why"] == "worker_request" and doc["erased_at"]
    fresh = Vault(vault.keys, b"p" * 32, "TH")
    for token in (text, chat_id):
        for v in (vault, fresh):
            with pytest.raises(Erased, match=f"{REF}.*erased"):
                v.open(token, REF)
    with pytest.raises(Erased):
        vault.seal("more", REF)
    with pytest.raises(Erased):      # a v1 token of an erased case is refused too
        vault.open(SealedBox(K1).seal(WORDS, REF), REF)
    assert vault.open(kept, OTHER_REF) == "another case"
    vault.erase(REF, "retention")                           # idempotent
    assert vault.keys.col.docs[REF]["erased_at"]


# --- the keyring from the settings -------------------------------------------------------

def b64(key):
    return base64.b64encode(key).decode()


@pytest.mark.parametrize("env,ids,current", [
    ({"IDENTITY_KEY": b64(K1)}, ["k1"], "k1"),
    ({"IDENTITY_KEYS": f"k1:{b64(K1)},k2:{b64(K2)}"}, ["k1", "k2"], "k2"),
    ({"IDENTITY_KEYS": f"k1:{b64(K1)},k2:{b64(K2)}", "IDENTITY_KEY_ID": "k1"}, ["k1", "k2"], "k1"),
    ({"IDENTITY_KEYS": f"dev1:{b64(K2)}", "IDENTITY_KEY": b64(K1)}, ["dev1", "k1"], "dev1"),
    ({"IDENTITY_KEYS": f"k1:{b64(K1)}", "IDENTITY_KEY": b64(K1)}, ["k1"], "k1"),
])
def test_keyring_from_settings(monkeypatch, env, ids, current):
    for name in ("IDENTITY_KEY", "IDENTITY_KEYS", "IDENTITY_KEY_ID"):
        monkeypatch.setenv(name, env.get(name, ""))
    ring = master_keys.keyring_from_settings()
    assert list(ring.ids) == ids and ring.current == current


@pytest.mark.parametrize("env,error", [
    ({}, "IDENTITY_KEYS is not set"),
    ({"IDENTITY_KEYS": b64(K1)}, "id:base64"),
    ({"IDENTITY_KEYS": f"k1:{b64(K1)},k1:{b64(K2)}"}, "distinct ids"),
    ({"IDENTITY_KEYS": f"bad id:{b64(K1)}"}, "id:base64"),
    ({"IDENTITY_KEYS": f"k1:{b64(K1[:16])}"}, "32 bytes"),
    ({"IDENTITY_KEYS": f"k1:{b64(K1)}", "IDENTITY_KEY_ID": "k9"}, "k9"),
    ({"IDENTITY_KEYS": f"k1:{b64(K1)}", "IDENTITY_KEY": b64(K2)}, "differs"),
])
def test_a_bad_keyring_names_the_variable(monkeypatch, env, error):
    for name in ("IDENTITY_KEY", "IDENTITY_KEYS", "IDENTITY_KEY_ID"):
        monkeypatch.setenv(name, env.get(name, ""))
    with pytest.raises(ConfigError, match=error):
        master_keys.keyring_from_settings()
    assert b64(K1) not in str(pytest.raises(ConfigError, master_keys.keyring_from_settings).value)


# --- E.164 before the pseudonym -----------------------------------------------------------

@pytest.mark.parametrize("kind", ["phone", "whatsapp"])
def test_the_local_international_and_00_forms_are_the_same_worker(vault, kind):
    forms = ("081 234 5678", "+66 81 234 5678", "0066812345678", "66812345678")
    assert {vault.worker_key({kind: form}) for form in forms} == {vault.worker_key({kind: "+66812345678"})}
    assert {contact_identifier({kind: form}) for form in forms} == {f"{kind}:66812345678"}
    assert vault.worker_key({kind: "081 234 5679"}) != vault.worker_key({kind: "081 234 5678"})


def test_normalise_phone_for_chat_sender_ids_and_the_region():
    assert normalise_phone("66812345678") == "+66812345678"          # WhatsApp's "from"
    assert normalise_phone("+66812345678") == "+66812345678"          # SMS gateways' From
    assert normalise_phone("09 212 3456", "MM") == "+9592123456"           # a Myanmar mobile
    assert normalise_phone("081 234 5678", "TH") != normalise_phone("081 234 5678", "MM")
    assert normalise_phone("12-345") == "12345"                       # unparsable: its digits
    assert contact_identifier({"phone": "12-345"}) == "phone:12345"
