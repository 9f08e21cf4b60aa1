"""Workers' chat channels end to end: provider webhooks signed as each provider signs
them reach intake's real process, the case opens in remediation, and intake's replies
go out through the provider's send API (scripts/fake_providers.py records them)."""
import json
import os

import pytest
import requests

from scripts.chat_worker import ChatWorker, case_and_receipt, signed
from scripts.demo import business_chain, remediate, until
from scripts.provider_webhooks import line_sticker, meta_handshake
from scripts.stack import wait_for
from shared.repository import database
from tests.integration.helpers import key_for, unique

CHANNELS = ("line", "whatsapp", "facebook_messenger", "viber", "sms")


def worker(stack, providers, channel="line"):
    return ChatWorker(channel, stack.intake_url, providers, os.environ)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_first_message_opens_a_case_answered_on_the_same_chat(stack, providers, staff, channel):
    w = worker(stack, providers, channel)
    w.send("My employer has kept my wages for two months")
    ref, receipt = case_and_receipt(w.next_reply())
    _opened(staff, ref)
    case = staff["case_worker"].ok("GET", f"/v1/cases/{ref}")
    assert case["status"] == "received" and case["channel"] == channel
    # The receipt in the reply is the worker's proof at the worker's own door too.
    status = requests.post(f"{stack.intake_url}/grievances/{ref}/status", json={"receipt": receipt}, timeout=10)
    assert status.status_code == 200 and status.json()["case_ref"] == ref


def _opened(staff, ref):
    wait_for(lambda: staff["case_worker"].call("GET", f"/v1/cases/{ref}").status_code == 200, 20, "case to open")


def test_a_tampered_or_unsigned_webhook_is_401_and_stores_nothing(stack, providers):
    w = worker(stack, providers)
    stored = {name: database("intake")[name].count_documents({}) for name in ("grievances", "chat_inbox")}
    for channel in CHANNELS:
        headers, body = signed(channel, os.environ, w.chat_id, "forged complaint", stack.intake_url)
        tampered = requests.post(f"{stack.intake_url}/channels/{channel}", data=body.replace(b"forged", b"f0rged"),
                                 headers=headers, timeout=10)
        assert tampered.status_code == 401, (channel, tampered.text)
        unsigned = requests.post(f"{stack.intake_url}/channels/{channel}", data=body,
                                 headers={"Content-Type": headers["Content-Type"]}, timeout=10)
        assert unsigned.status_code == 401
    assert {name: database("intake")[name].count_documents({}) for name in stored} == stored
    assert w.replies() == []
    assert requests.post(f"{stack.intake_url}/channels/telegram", data=b"{}", timeout=10).status_code == 404


def test_the_conversation_threads_answers_status_and_ignores_redelivery(stack, providers, staff):
    w = worker(stack, providers)
    w.send("The agent took 30000 baht and keeps my passport", message_id="01EVT-FIRST")
    ref, _ = case_and_receipt(w.next_reply())
    w.send("The agent took 30000 baht and keeps my passport", message_id="01EVT-FIRST")   # LINE redelivers
    w.send("STATUS")
    assert w.next_reply().startswith(f"Case {ref}: ")
    w.send("He also said I must pay again next year")
    assert ref in w.next_reply()
    assert sum("receipt" in r for r in w.replies()) == 1          # the redelivery opened nothing
    grievances = database("intake")["grievances"]
    assert grievances.count_documents({"chat_key": grievances.find_one({"_id": ref})["chat_key"]}) == 1
    assert len(grievances.find_one({"_id": ref})["follow_ups"]) == 1
    # A sticker is acknowledged politely; only the fact is kept.
    headers, body = line_sticker(os.environ["LINE_CHANNEL_SECRET"], w.chat_id)
    assert requests.post(f"{stack.intake_url}/channels/line", data=body, headers=headers, timeout=10).ok
    assert "text" in w.next_reply()
    assert len(grievances.find_one({"_id": ref})["follow_ups"]) == 1


def test_stop_withdraws_the_case_as_the_worker(stack, providers, staff):
    w = worker(stack, providers, "whatsapp")
    w.send("Our dormitory has no water")
    ref, _ = case_and_receipt(w.next_reply())
    _opened(staff, ref)
    w.send("STOP")
    assert "again to confirm" in w.next_reply()
    w.send("STOP")
    assert "withdrawn" in w.next_reply()
    case = staff["case_worker"].ok("GET", f"/v1/cases/{ref}")
    assert case["status"] == "withdrawn" and case["audit"][-1]["actor"]["role"] == "worker"
    w.send("New problem: the supervisor shouts at us")
    new_ref, _ = case_and_receipt(w.next_reply())
    assert new_ref != ref


def test_validation_is_asked_and_answered_on_the_chat_until_the_case_closes(stack, providers, staff, receiver):
    supplier = unique("SUP")
    chain = business_chain(stack, staff, receiver.url(f"/hooks/{supplier}"), supplier, say=lambda _: None)
    w = worker(stack, providers)
    w.send("We have not been paid overtime for three months")
    ref, _ = case_and_receipt(w.next_reply())
    cw = staff["case_worker"]
    remediate(cw, chain["supplier"], ref, supplier, say=lambda _: None, work_area="working_conditions")
    assert "YES" in w.next_reply(containing=ref)
    w.send("no")
    assert "Thank you" in w.next_reply()
    until(cw, ref, "remediating")
    chain["supplier"].ok("POST", f"/v1/cases/{ref}/remediation-reports", {"summary": "Rest paid", "evidence": ["slip-2.pdf"]})
    until(cw, ref, "validating")
    w.next_reply(containing="YES")
    w.send("Yes")
    w.next_reply(containing="Thank you")
    until(cw, ref, "closed")
    assert [r["status"] for r in cw.ok("GET", f"/v1/cases/{ref}/validation")["rounds"]] == ["not_resolved",
                                                                                          "confirmed"]


def test_replies_survive_a_provider_outage(stack, providers):
    providers.fail_next(2, status=503)
    w = worker(stack, providers, "viber")
    w.send("Wages are late again")
    case_and_receipt(w.next_reply(timeout=30))        # tried again after 1 s, then 2 s


def test_meta_handshake_echoes_the_challenge_only_for_the_verify_token(stack):
    good = requests.get(f"{stack.intake_url}/channels/whatsapp", params=meta_handshake(
        os.environ["META_VERIFY_TOKEN"], "8812"), timeout=10)
    assert (good.status_code, good.text) == (200, "8812")
    bad = requests.get(f"{stack.intake_url}/channels/whatsapp", params=meta_handshake("guess", "8812"), timeout=10)
    assert bad.status_code == 401 and "8812" not in bad.text


def test_a_case_worker_records_a_hotline_call_and_an_ngo_referral(stack, staff):
    cw = staff["case_worker"]
    call = {"channel": "hotline", "language": "km", "work_area": "labour_recruitment",
            "text": "Caller says the broker kept her passport", "contact": {"phone": "081 234 5678"}}
    recorded = cw.ok("POST", "/v1/calls", call)
    assert recorded["receipt"] and recorded["workers_count"] == 1
    _opened(staff, recorded["case_ref"])
    referral = dict(call, channel="ngo_referral", workers_count=12, referred_by="NGO-HRDF", contact=None)
    group = cw.ok("POST", "/v1/calls", referral)
    assert group["workers_count"] == 12
    stored = database("intake")["grievances"].find_one({"_id": group["case_ref"]})
    assert stored["recorded_by"]["role"] == "case_worker" and stored["referred_by"] == "NGO-HRDF"
    bad = cw.call("POST", "/v1/calls", dict(call, channel="line"))
    assert bad.status_code == 400 and "channel" in bad.json()["errors"]
    supplier = key_for(staff, stack, unique("SUP"), "supplier")
    assert supplier.call("POST", "/v1/calls", call).status_code == 403


def test_no_chat_id_phone_or_receipt_is_stored_or_logged_in_the_clear(stack, providers, staff):
    """Chat ids and phone numbers never leave intake, and inside it they are sealed;
    the reply that carried the receipt is dropped once sent."""
    line_user, sms = worker(stack, providers), worker(stack, providers, "sms")
    line_user.send("My passport was taken by the agent")
    sms.send("No overtime pay since March")
    refs = [case_and_receipt(w.next_reply()) for w in (line_user, sms)]
    line_user.send("STATUS")
    line_user.next_reply()
    phone_forms = (sms.chat_id, sms.chat_id.lstrip("+"), "0" + sms.chat_id[3:])
    secrets_ = (line_user.chat_id, *phone_forms, *(receipt for _, receipt in refs),
                *(receipt.replace("-", "") for _, receipt in refs))
    for service in ("intake", "gateway", "remediation", "validation", "notifications"):
        db = database(service)
        for name in db.list_collection_names():
            dump = json.dumps(list(db[name].find()), default=str)
            for secret in secrets_:
                assert secret not in dump, f"{secret!r} stored in clear in {service}.{name}"
    for name, proc in stack.procs.items():
        text = proc.log_path.read_text()
        for secret in secrets_:
            assert secret not in text, f"{secret!r} logged by {name}"
