"""One grievance across the four service processes: HTTP intake -> case -> referral
-> supplier response -> validation 'not resolved' (reopen) -> remediation again ->
validation 'confirmed' -> closed, with signed webhooks to a partner's endpoint."""
import json
from datetime import datetime, timezone

import pytest
import requests

from services.notifications.domain import verify
from tests.integration.conftest import eventually
from tests.integration.helpers import CASE_WORKER, post_grievance, report, unique

pytestmark = pytest.mark.integration

EXPECTED_STATUSES = ["received", "triaged", "referred", "acknowledged", "plan_submitted", "remediating",
                     "remediation_reported", "validating", "remediating", "remediation_reported",
                     "validating", "closed"]


def status_of(rpc, ref):
    return rpc.remediation.get_case({"case_ref": ref, "actor": CASE_WORKER})["status"]


def test_grievance_flows_to_closure_only_through_worker_validation(stack, rpc, receiver, db):
    supplier = unique("SUP")
    supplier_actor = {"id": supplier, "role": "supplier"}
    hook = rpc.notifications.register_webhook({
        "partner_id": "BRAND-1", "url": receiver.url(f"/hooks/{supplier}"),
        "event_types": ["case.status_changed", "retaliation.reported"], "supplier_refs": [supplier]})
    assert hook["secret"].startswith("whsec_") and "sealed_secret" not in hook

    body = report(supplier)
    response = post_grievance(stack, body, headers={"X-Correlation-ID": "corr-flow-1"})
    assert response.status_code == 201, response.text
    ref = response.json()["case_ref"]
    assert response.json()["status"] == "received"

    eventually(lambda: status_of(rpc, ref) == "received")
    cmd = {"case_ref": ref, "actor": CASE_WORKER}
    rpc.remediation.triage({**cmd, "severity": "high", "note": "wage theft, 40 workers"})
    rpc.remediation.refer({**cmd, "business_ref": supplier, "business_type": "supplier"})
    sup = {"case_ref": ref, "actor": supplier_actor}
    rpc.remediation.acknowledge(sup)
    rpc.remediation.submit_plan({**sup, "actions": [{
        "type": "back_pay", "description": "Pay 3 months of overtime", "owner": "HR manager",
        "due_date": "2026-12-15", "amount": "120000.00", "currency": "THB", "workers_count": 40}]})
    rpc.remediation.accept_plan(cmd)
    rpc.remediation.report_remediation({**sup, "summary": "Back pay transferred", "evidence": ["bank-slip-1.pdf"]})

    # Validation opens a round by itself; the worker answers through intake: not resolved.
    eventually(lambda: status_of(rpc, ref) == "validating")
    assert rpc.validation.get_rounds({"case_ref": ref})["rounds"][0]["status"] == "open"
    answer = requests.post(f"{stack.intake_url}/grievances/{ref}/validation-answers",
                           json={"answer": "not_resolved", "text": "Only half was paid."}, timeout=10)
    assert answer.status_code == 202, answer.text
    eventually(lambda: status_of(rpc, ref) == "remediating")

    rpc.remediation.report_remediation({**sup, "summary": "Remainder paid", "evidence": ["bank-slip-2.pdf"]})
    eventually(lambda: status_of(rpc, ref) == "validating")
    staff_view = rpc.remediation.get_case(cmd)
    # A case worker records the worker's confirmation taken by phone (RPC path).
    rpc.validation.submit_answer({**cmd, "worker_key": staff_view["worker_key"], "answer": "confirmed"})
    eventually(lambda: status_of(rpc, ref) == "closed")

    case = rpc.remediation.get_case(cmd)
    assert [a["to"] for a in case["audit"]] == EXPECTED_STATUSES
    assert [a["action"] for a in case["audit"]] == [
        "open", "triage", "refer", "acknowledge", "submit_plan", "accept_plan", "report_remediation",
        "start_validation", "reopen", "report_remediation", "start_validation", "close"]
    assert all(a["service"] == "remediation" and a["at"] and a["actor"]["role"] for a in case["audit"])
    assert case["severity"] == "high"
    assert case["deadlines"]["acknowledge"]["met"] is True
    rounds = rpc.validation.get_rounds({"case_ref": ref})["rounds"]
    assert [r["status"] for r in rounds] == ["not_resolved", "confirmed"]

    # The partner got every status change, signed, in a verifiable order, with no identity.
    path = f"/hooks/{supplier}"
    hooks = receiver.wait(path, lambda got: len(got) >= len(EXPECTED_STATUSES))
    now = datetime.now(timezone.utc)
    for h in hooks:
        assert verify(hook["secret"], h.headers, h.body, now), h.headers
        assert h.json["type"] == "case.status_changed" and h.json["data"]["case_ref"] == ref
    by_version = sorted(hooks, key=lambda h: h.json["data"]["case_version"])
    assert [h.json["data"]["to_status"] for h in by_version] == EXPECTED_STATUSES
    assert len({h.headers["webhook-id"] for h in hooks}) == len(hooks)
    everything_sent = " ".join(h.body for h in hooks)
    for secret_thing in (body["text"], "Aung Aung", "81 555 0199", "aungaung99", staff_view["worker_key"],
                         "Only half was paid"):
        assert secret_thing not in everything_sent

    # The business sees the case redacted.
    business_view = rpc.remediation.get_case(sup)
    assert "worker_key" not in business_view and "channel" not in business_view

    # Identity and free text are stored sealed: the plaintext appears in no database.
    for service in ("intake", "remediation", "validation", "notifications"):
        for name in database(service).list_collection_names():
            dump = json.dumps(list(database(service)[name].find()), default=str)
            for secret_thing in (body["text"], "Aung Aung", "555 0199", "aungaung99", "Only half was paid"):
                assert secret_thing not in dump, f"{secret_thing!r} stored in clear in {service}.{name}"

    # And no log line of any service carries it; the correlation id crossed services.
    logs = {name: p.log_path.read_text() for name, p in stack.procs.items()}
    for name, text in logs.items():
        for secret_thing in (body["text"], "Aung Aung", "555 0199", "aungaung99", "Only half was paid"):
            assert secret_thing not in text, f"{secret_thing!r} logged by {name}"
    assert "corr-flow-1" in logs["intake"] and "corr-flow-1" in logs["remediation"]


def database(service):
    from shared.store import database as db
    return db(service)
