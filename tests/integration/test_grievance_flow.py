"""One grievance across the four service processes: HTTP intake -> case -> referral
-> supplier response -> validation 'not resolved' (reopen) -> remediation again ->
validation 'confirmed' -> closed, with signed webhooks to a partner's endpoint.

The journey is the README demo's own (scripts.demo.walk_through), through the doors
each actor really uses: the worker's receipt at intake, staff logins and the
supplier's and partner's API keys at the gateway. So the demo a newcomer runs is the
flow this test checks."""
import json
from datetime import datetime, timezone

import pytest

from scripts.api_client import Api
from scripts.demo import walk_through
from services.notifications.domain import verify
from shared.repository import database
from tests.integration.conftest import eventually
from tests import principals
from tests.integration.helpers import PASSWORD, post_grievance, report as report_body, unique

pytestmark = pytest.mark.integration

EXPECTED_STATUSES = ["received", "triaged", "referred", "acknowledged", "plan_submitted", "remediating",
                     "remediation_reported", "validating", "remediating", "remediation_reported",
                     "validating", "closed"]
# The worker's words, name, LINE id and phone in every form it could be stored or typed.
SECRETS = ("Forty of us have not been paid", "Aung Aung", "aung.aung.1990", "81 555 0199", "66815550199",
           "0815550199", "815550199", "Only half was paid")


def test_grievance_flows_to_closure_only_through_worker_validation(stack, rpc, staff, receiver):
    supplier = unique("SUP")
    path = f"/hooks/{supplier}"
    demo = walk_through(stack, staff, receiver.url(path), supplier, say=lambda _: None,
                        correlation_id="corr-flow-1")
    ref = demo["case_ref"]
    cmd = {"case_ref": ref}

    case = rpc.remediation.get_case(cmd)
    assert case["status"] == "closed"
    # The workers' answers are on the timeline too (when and what kind, no words).
    said = [a for a in case["audit"] if a["action"] == "worker_message"]
    assert said and {a["detail"]["kind"] for a in said} == {"validation_answer"}
    steps = [a for a in case["audit"] if a["action"] != "worker_message"]
    assert [a["to"] for a in steps] == EXPECTED_STATUSES
    assert [a["action"] for a in steps] == [
        "open", "triage", "refer", "acknowledge", "submit_plan", "accept_plan", "report_remediation",
        "start_validation", "reopen", "report_remediation", "start_validation", "close"]
    assert [a["actor"]["role"] for a in steps] == [
        "system", "case_worker", "case_worker", "supplier", "supplier", "case_worker", "supplier",
        "system", "system", "supplier", "system", "system"]
    assert all(a["service"] == "remediation" and a["at"] for a in case["audit"])
    assert case["severity"] == "high" and case["deadlines"]["acknowledge"]["met"] is True
    assert case["plan"][0]["amount"] == "120000.00" and case["plan"][0]["workers_count"] == 40
    rounds = rpc.validation.get_rounds({"case_ref": ref})["rounds"]
    assert [r["status"] for r in rounds] == ["not_resolved", "confirmed"]

    # The partner got every status change, signed, orderable by case_version, no identity.
    hooks = receiver.wait(path, lambda got: len(got) >= len(EXPECTED_STATUSES))
    assert len(hooks) == len(EXPECTED_STATUSES)
    now = datetime.now(timezone.utc)
    for h in hooks:
        assert verify(demo["secret"], h.headers, h.body, now), h.headers
        assert h.json["type"] == "case.status_changed" and h.json["data"]["case_ref"] == ref
    assert not verify(demo["secret"], hooks[0].headers, hooks[0].body.replace(ref, "ILM-FORGED"), now)
    by_version = sorted(hooks, key=lambda h: h.json["data"]["case_version"])
    assert [h.json["data"]["to_status"] for h in by_version] == EXPECTED_STATUSES
    assert len({h.headers["webhook-id"] for h in hooks}) == len(hooks)
    sent = " ".join(h.body for h in hooks)
    for secret in (*SECRETS, demo["worker_key"]):
        assert secret not in sent
    assert not {"worker_key", "channel", "language", "text"} & set().union(*(h.json["data"] for h in hooks))

    # The business and the partner see the case redacted, through their keys.
    business_view = Api(stack.gateway_url, demo["keys"][supplier]).ok("GET", f"/v1/cases/{ref}")
    for view in (business_view, demo["partner_view"]):
        assert view["status"] == "closed" and "worker_key" not in view and "channel" not in view

    # Identity and free text are stored sealed, the receipt only as a slow hash: none
    # of them is in any database, in any form the worker could type it.
    # ... nor any credential: the receipt, API keys, staff password, the webhook secret.
    receipt_forms = (demo["receipt"], demo["receipt"].replace("-", ""), *demo["keys"].values(), PASSWORD,
                     demo["secret"])
    for service in ("intake", "gateway", "remediation", "validation", "notifications"):
        db = database(service)
        for name in db.list_collection_names():
            dump = json.dumps(list(db[name].find()), default=str)
            for secret in (*SECRETS, *receipt_forms):
                assert secret not in dump, f"{secret!r} stored in clear in {service}.{name}"
    grievance = database("intake")["grievances"].find_one({"_id": ref})
    assert grievance["sealed_text"].startswith("v2:") and grievance["sealed_contact"].startswith("v2:")
    # Closed: intake (consuming remediation's case.status_changed) set the date its
    # worker data is erased, RETENTION_DAYS later.
    grievance = eventually(lambda: (g := database("intake")["grievances"].find_one({"_id": ref}))["erase_after"] and g)
    assert grievance["erase_why"] == "retention" and grievance["erase_after"] > grievance["received_at"]

    # No log line of any service carries it; the correlation id crossed services.
    logs = {name: p.log_path.read_text() for name, p in stack.procs.items()}
    for name, text in logs.items():
        for secret in (*SECRETS, *receipt_forms):
            assert secret not in text, f"{secret!r} logged by {name}"
    assert "corr-flow-1" in logs["intake"] and "corr-flow-1" in logs["remediation"]


def test_scorecard_and_public_report_over_rpc(stack, rpc, actors, staff):
    supplier = unique("SUP")
    demo = walk_through(stack, staff, "http://127.0.0.1:9/unused", supplier, say=lambda _: None)
    # The scorecard is fed by the case's events: it settles a moment after the case.
    card = eventually(lambda: (c := rpc.remediation.supplier_scorecard(
        {"business_ref": supplier}))["closed_cases"] == 1 and c)
    assert card["cases"] == 1 and card["open_cases"] == 0
    assert card["validated_first_round_share"] == 0.0 and card["reopen_rate"] == 1.0
    assert card["deadlines_met_share"] == 1.0 and card["median_days_to_acknowledge_at_most"] == 0.5
    own = actors(principals.supplier(supplier)).remediation.supplier_scorecard({"business_ref": supplier})
    assert own == card
    from shared.errors import Forbidden
    with pytest.raises(Forbidden):
        actors(principals.supplier("SUP-RIVAL")).remediation.supplier_scorecard({"business_ref": supplier})

    brand = actors(principals.partner("BRAND-1"))
    with pytest.raises(Forbidden):
        brand.remediation.refresh_public_report({})
    # Enough cases that a report may be released (its total must reach REPORT_SUPPRESS_BELOW).
    for _ in range(10):
        assert post_grievance(stack, report_body(unique("SUP"))).status_code == 201
    cases = database("remediation")["cases"]
    eventually(lambda: cases.count_documents({}) >= 10)
    report = rpc.remediation.refresh_public_report({})
    assert brand.remediation.public_report({}) == report
    assert set(report["by_work_area"]) == {"labour_recruitment", "working_conditions",
                                           "employer_employee_relations", "living_eating_conditions"}
    published = [n for area in report["by_work_area"].values() for n in area.values()]
    assert all(n is None or n == 0 or n >= 10 for n in published), published
    assert report["total_cases"] >= 11
    assert supplier not in json.dumps(report) and demo["case_ref"] not in json.dumps(report)
