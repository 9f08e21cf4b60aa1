"""Plans returned with reasons and resubmitted; plan actions' ids, status and evidence
(services/remediation/plan.py through the use cases in remedy.py)."""
from datetime import timedelta

import pytest

from services.remediation import handlers, remedy
from services.remediation.domain import Case
from shared.contracts import rpc as contract
from shared.contracts.common import load
from shared.contracts.events import CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, make_event
from shared.errors import Forbidden, InvalidInput, InvalidTransition
from tests.fakes import FakeRelay, unit_of_work
from tests.unit.test_handlers_remediation_validation import ACTION, GRIEVANCE, NOW, POLICY, STAFF, SUPPLIER, cmd

OTHER = {"id": "SUP-2", "role": "supplier"}
HASH = "ab" * 32
PDF = {"file_name": "receipt-may.pdf", "sha256": HASH, "media_type": "application/pdf"}


@pytest.fixture
def relay():
    return FakeRelay()


@pytest.fixture
def cases(relay):
    u = unit_of_work(Case, relay=relay, consumer="remediation.test")
    handlers.open_case(u, make_event(GRIEVANCE_RECEIVED, "ILM-1", GRIEVANCE, "c"), NOW)
    handlers.triage(u, cmd(severity=None, note=None), STAFF, NOW)
    handlers.refer(u, cmd(business_ref="SUP-1", business_type="supplier"), STAFF, NOW, POLICY)
    handlers.acknowledge(u, cmd(note=None), SUPPLIER, NOW, POLICY)
    handlers.submit_plan(u, cmd(actions=[ACTION, dict(ACTION, type="return_of_documents")]), SUPPLIER, NOW)
    return u


def update(cases, actor, action_id="P1-1", **fields):
    p = load(contract.UpdateAction, {"case_ref": "ILM-1", "action_id": action_id, **fields})
    return remedy.update_action(cases, p, actor, NOW)


def accepted(cases):
    handlers.accept_plan(cases, cmd(note=None), STAFF, NOW, POLICY)
    return cases


def test_a_returned_plan_goes_back_with_its_reasons_and_a_revision_is_accepted(cases, relay):
    later = NOW + timedelta(days=3)
    view = remedy.return_plan(cases, cmd(reasons=["No amount per worker", "Due date too late"]), STAFF, later,
                              POLICY)
    assert view["status"] == "acknowledged" and view["plan"] == []
    returned = view["plan_history"][0]
    assert returned["reasons"] == ["No amount per worker", "Due date too late"]
    assert [a["action_id"] for a in returned["actions"]] == ["P1-1", "P1-2"]
    # The plan deadline starts again from the return; the first round is kept.
    case = cases.get("ILM-1")
    assert case.deadlines["plan"]["started"].startswith("2026-11-04") and case.deadlines["plan"]["done_at"] is None
    assert [h["name"] for h in case.deadline_history] == ["plan"] and case.deadline_history[0]["met"] is True
    event = relay.published[-1]
    assert event["event_type"] == CASE_STATUS_CHANGED.name
    assert (event["data"]["from_status"], event["data"]["to_status"]) == ("plan_submitted", "acknowledged")
    # The business learns why, but not which staff member returned it.
    business = handlers.get_case(cases, cmd(), SUPPLIER)
    assert business["plan_history"][0]["reasons"] == ["No amount per worker", "Due date too late"]
    assert business["audit"][-1] == {"at": view["audit"][-1]["at"], "action": "return_plan",
                                     "from": "plan_submitted", "to": "acknowledged"}
    assert "cw-1" not in str(business)
    assert case.audit[-1]["actor"]["id"] == "cw-1" and case.audit[-1]["detail"]["reasons"]
    # The revision gets new action ids and is accepted.
    revised = handlers.submit_plan(cases, cmd(actions=[dict(ACTION, amount="1200.50", currency="THB")]), SUPPLIER,
                                   later)
    assert [a["action_id"] for a in revised["plan"]] == ["P2-1"] and revised["status"] == "plan_submitted"
    assert accepted(cases).get("ILM-1").status == "remediating"


def test_a_plan_is_returned_only_by_staff_with_reasons_from_plan_submitted(cases):
    with pytest.raises(InvalidInput) as exc:
        load(contract.ReturnPlan, cmd(reasons=[]))
    assert "reasons" in exc.value.errors
    with pytest.raises(InvalidInput) as exc:
        load(contract.ReturnPlan, cmd(reasons=["   "]))
    assert "reasons.0" in exc.value.errors
    with pytest.raises(Forbidden):
        remedy.return_plan(cases, cmd(reasons=["x"]), SUPPLIER, NOW, POLICY)
    accepted(cases)
    with pytest.raises(InvalidTransition):
        remedy.return_plan(cases, cmd(reasons=["too late"]), STAFF, NOW, POLICY)


def test_actions_move_forward_and_go_back_only_with_a_reason(cases):
    accepted(cases)
    action = update(cases, SUPPLIER, status="in_progress", note="first instalment paid")["plan"][0]
    assert (action["action_id"], action["status"]) == ("P1-1", "in_progress")
    assert action["progress"][-1]["note"] == "first instalment paid"
    assert update(cases, SUPPLIER, status="done", evidence=[PDF])["plan"][0]["status"] == "done"
    with pytest.raises(InvalidTransition, match="status: .*P1-1.*reason"):
        update(cases, SUPPLIER, status="planned")
    back = update(cases, STAFF, status="in_progress", reason="the visit found 3 workers unpaid")["plan"][0]
    assert back["status"] == "in_progress" and back["progress"][-1]["reason"].startswith("the visit")
    case = cases.get("ILM-1")
    assert [a["action"] for a in case.audit[-3:]] == ["update_action"] * 3
    assert case.audit[-2]["detail"]["evidence"] == [HASH]


def test_evidence_is_metadata_with_who_and_when_and_staff_stay_anonymous_to_the_business(cases):
    accepted(cases)
    update(cases, STAFF, action_id="P1-2", evidence=[PDF], note="seen on the visit")
    action = handlers.get_case(cases, cmd(), SUPPLIER)["plan"][1]
    assert action["evidence"][0] == {**PDF, "by": {"role": "case_worker"}, "at": "2026-11-01T09:00:00.000Z"}
    assert handlers.get_case(cases, cmd(), STAFF)["plan"][1]["evidence"][0]["by"] == STAFF


@pytest.mark.parametrize("evidence,field", [
    ({**PDF, "sha256": "xyz"}, "evidence.0.sha256"),
    ({**PDF, "sha256": HASH.upper()}, "evidence.0.sha256"),
    ({**PDF, "file_name": "../etc/passwd"}, "evidence.0.file_name"),
    ({**PDF, "media_type": "pdf"}, "evidence.0.media_type"),
    ({"file_name": "a.pdf", "sha256": HASH}, "evidence.0.media_type"),
])
def test_bad_evidence_is_refused_naming_the_field(evidence, field):
    with pytest.raises(InvalidInput) as exc:
        load(contract.UpdateAction, {"case_ref": "ILM-1", "action_id": "P1-1", "evidence": [evidence]})
    assert field in exc.value.errors


def test_who_updates_actions_and_when(cases):
    with pytest.raises(InvalidTransition, match="remediating"):
        update(cases, SUPPLIER, status="in_progress")        # the plan is not accepted yet
    accepted(cases)
    with pytest.raises(Forbidden):
        update(cases, OTHER, status="in_progress")
    with pytest.raises(InvalidInput) as exc:
        update(cases, SUPPLIER, action_id="P9-9", status="in_progress")
    assert "action_id" in exc.value.errors
    with pytest.raises(InvalidInput):
        update(cases, SUPPLIER)                                # nothing to record
    handlers.report_remediation(cases, cmd(summary="paid", evidence=["receipt"]), SUPPLIER, NOW)
    with pytest.raises(InvalidTransition):
        update(cases, SUPPLIER, note="one more thing")        # frozen while the workers are asked
    assert update(cases, STAFF, note="visit: payslips seen")["plan"][0]["progress"][-1]["note"]
