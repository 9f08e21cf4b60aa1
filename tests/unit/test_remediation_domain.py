"""The case state machine: every allowed and every forbidden transition, roles,
deadlines, and that nothing reaches ``closed`` without a confirmed validation."""
from datetime import datetime, timedelta, timezone

import pytest

from services.remediation.domain import STEPS, Case
from shared.contracts.common import ACTOR_ROLES, CASE_STATES
from shared.contracts.events import CASE_STATUS_CHANGED
from shared.errors import Forbidden, InvalidTransition

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
DEADLINES = {"critical": (2, 7, 30), "high": (5, 14, 45), "normal": (7, 21, 60)}
STAFF = {"id": "cw-1", "role": "case_worker"}
SUPPLIER = {"id": "SUP-1", "role": "supplier"}
PARTNER = {"id": "BRAND-1", "role": "partner"}
WORKER = {"id": "wk_" + "a" * 32, "role": "worker", "case_ref": "ILM-TEST0001"}
GRIEVANCE = {
    "worker_key": "wk_" + "a" * 32, "channel": "hotline", "language": "th",
    "work_area": "working_conditions", "forced_labour_indicators": [], "severity": "normal",
    "retaliation": False, "supplier_ref": "SUP-1", "site_ref": "SITE-1", "agency_ref": None,
}


def new_case() -> Case:
    case = Case.open("ILM-TEST0001", GRIEVANCE, NOW)
    case.raised.clear()
    return case


def case_in(state: str) -> Case:
    case = new_case()
    case.status = state
    case.business_ref, case.business_type = "SUP-1", "supplier"
    if state == "validating":
        case.validation_rounds = [{"round_no": 1, "outcome": None}]
    return case


# One way to attempt each step, with an actor allowed to take it.
PERFORM = {
    "triage": lambda c: c.triage(STAFF, NOW, "high", "checked"),
    "refer": lambda c: c.refer(STAFF, NOW, "SUP-1", "supplier", DEADLINES),
    "acknowledge": lambda c: c.acknowledge(SUPPLIER, NOW, DEADLINES),
    "submit_plan": lambda c: c.submit_plan(SUPPLIER, NOW, [{"type": "back_pay", "description": "pay",
                                                             "owner": "HR", "due_date": "2026-12-01"}]),
    "accept_plan": lambda c: c.accept_plan(STAFF, NOW, DEADLINES),
    "report_remediation": lambda c: c.report_remediation(SUPPLIER, NOW, "paid", ["receipt.pdf"]),
    "start_validation": lambda c: c.start_validation(len(c.validation_rounds) + 1, NOW),
    "close": lambda c: c.apply_validation_outcome(1, "confirmed", NOW, DEADLINES),
    "reopen": lambda c: c.apply_validation_outcome(1, "not_resolved", NOW, DEADLINES),
    "withdraw": lambda c: c.withdraw(WORKER, NOW, "I settled it"),
    "return_plan": lambda c: c.return_plan(STAFF, NOW, DEADLINES, ["no amounts per worker"]),
}
ALL_PAIRS = [(step, state) for step in STEPS for state in CASE_STATES]


def test_every_step_has_a_way_to_perform_it():
    assert set(PERFORM) == set(STEPS)


@pytest.mark.parametrize("step,state", ALL_PAIRS)
def test_transition_table(step, state):
    case = case_in(state)
    allowed = state in STEPS[step].sources
    # A completion arriving before the round-opened event still passes through
    # validating (see apply_validation_outcome): remediation_reported is allowed too.
    if step in ("close", "reopen") and state == "remediation_reported":
        allowed = True
    before = case.to_dict()
    if step == "start_validation" and state == "validating":
        return      # a round rerun after one expired: no step (test_a_rerun_round_is_recorded_without_a_step)
    if allowed:
        PERFORM[step](case)
        assert case.status == STEPS[step].target
        assert case.audit[-1]["to"] == STEPS[step].target
        assert case.raised and case.raised[-1][0] is CASE_STATUS_CHANGED
        assert case.raised[-1][1]["to_status"] == STEPS[step].target
        assert case.version > before["version"]
    else:
        with pytest.raises(InvalidTransition):
            PERFORM[step](case)
        assert case.to_dict() == before, "a refused step must change nothing"
        assert case.raised == []


def test_happy_path_with_reopen_then_close():
    case = new_case()
    for step in ("triage", "refer", "acknowledge", "submit_plan", "accept_plan", "report_remediation"):
        PERFORM[step](case)
    case.start_validation(1, NOW)
    case.apply_validation_outcome(1, "not_resolved", NOW, DEADLINES)
    assert case.status == "remediating"
    case.report_remediation(SUPPLIER, NOW, "paid the rest", ["receipt2.pdf"])
    case.apply_validation_outcome(2, "confirmed", NOW, DEADLINES)   # round-opened came late
    assert case.status == "closed"
    assert [a["action"] for a in case.audit] == [
        "open", "triage", "refer", "acknowledge", "submit_plan", "accept_plan", "report_remediation",
        "start_validation", "reopen", "report_remediation", "start_validation", "close"]
    assert all(a["service"] == "remediation" and a["actor"]["role"] for a in case.audit)
    assert case.validation_rounds == [{"round_no": 1, "outcome": "not_resolved"},
                                      {"round_no": 2, "outcome": "confirmed"}]


def test_no_command_by_any_role_reaches_closed():
    """No staff override: only a confirmed validation closes a case."""
    commands = [s for s in PERFORM if s not in ("start_validation", "close", "reopen")]
    roles = ACTOR_ROLES
    for state in set(CASE_STATES) - {"closed"}:
        for step in commands:
            for role in roles:
                case = case_in(state)
                actor = {"id": "SUP-1", "role": role, "case_ref": case.case_ref}
                try:
                    {**PERFORM, "triage": lambda c: c.triage(actor, NOW),
                     "refer": lambda c: c.refer(actor, NOW, "SUP-1", "supplier", DEADLINES),
                     "acknowledge": lambda c: c.acknowledge(actor, NOW, DEADLINES),
                     "accept_plan": lambda c: c.accept_plan(actor, NOW, DEADLINES),
                     "report_remediation": lambda c: c.report_remediation(actor, NOW, "x", ["y"]),
                     "withdraw": lambda c: c.withdraw(actor, NOW, "r")}[step](case)
                except (InvalidTransition, Forbidden):
                    pass
                assert case.status != "closed"


def test_close_needs_the_open_round_and_a_confirmed_outcome():
    case = case_in("validating")
    with pytest.raises(InvalidTransition):
        case.apply_validation_outcome(2, "confirmed", NOW, DEADLINES)   # not the open round
    with pytest.raises(InvalidTransition):
        case.apply_validation_outcome(1, "maybe", NOW, DEADLINES)
    case.apply_validation_outcome(1, "confirmed", NOW, DEADLINES)
    with pytest.raises(InvalidTransition):
        case.apply_validation_outcome(1, "confirmed", NOW, DEADLINES)   # already decided


@pytest.mark.parametrize("step,actor", [
    ("triage", SUPPLIER), ("refer", SUPPLIER), ("accept_plan", SUPPLIER),
    ("acknowledge", STAFF), ("submit_plan", STAFF), ("report_remediation", STAFF),
    ("acknowledge", {"id": "SUP-OTHER", "role": "supplier"}),   # not the business it was referred to
    ("acknowledge", {"id": "SUP-1", "role": "partner"}),
])
def test_roles(step, actor):
    sources = {"triage": "received", "refer": "triaged", "accept_plan": "plan_submitted",
               "acknowledge": "referred", "submit_plan": "acknowledged", "report_remediation": "remediating"}
    case = case_in(sources[step])
    call = {
        "triage": lambda: case.triage(actor, NOW),
        "refer": lambda: case.refer(actor, NOW, "SUP-1", "supplier", DEADLINES),
        "accept_plan": lambda: case.accept_plan(actor, NOW, DEADLINES),
        "acknowledge": lambda: case.acknowledge(actor, NOW, DEADLINES),
        "submit_plan": lambda: case.submit_plan(actor, NOW, []),
        "report_remediation": lambda: case.report_remediation(actor, NOW, "x", ["y"]),
    }[step]
    with pytest.raises(Forbidden):
        call()
    assert case.status == sources[step]


def test_deadlines_follow_severity_and_record_whether_met():
    case = case_in("triaged")
    case.severity = "critical"
    case.refer(STAFF, NOW, "SUP-1", "supplier", DEADLINES)
    assert case.deadlines["acknowledge"]["due"] == "2026-11-03T09:00:00.000Z"
    case.acknowledge(SUPPLIER, NOW + timedelta(days=3), DEADLINES)
    assert case.deadlines["acknowledge"]["met"] is False
    assert case.deadlines["plan"]["due"] == "2026-11-11T09:00:00.000Z"   # 7 days from acknowledgement


def test_other_channels_never_block_or_close():
    case = case_in("referred")
    case.record_other_channel(STAFF, NOW, "labour_inspectorate", None)
    assert case.status == "referred"
    case.acknowledge(SUPPLIER, NOW, DEADLINES)
    assert case.status == "acknowledged"


def test_business_view_hides_worker_identity_and_is_limited_to_the_referred_business():
    case = case_in("referred")
    view = case.view_for(SUPPLIER)
    for hidden in ("worker_key", "channel", "language", "retaliation", "other_channels"):
        assert hidden not in view
    assert all("actor" not in a for a in view["audit"])
    with pytest.raises(Forbidden):
        case.view_for({"id": "SUP-OTHER", "role": "supplier"})
    assert case.view_for(STAFF)["worker_key"] == GRIEVANCE["worker_key"]


def test_a_partner_sees_only_cases_of_its_supply_chain_redacted():
    case = case_in("referred")
    with pytest.raises(Forbidden):
        case.view_for(PARTNER)                                   # no chain: nothing
    with pytest.raises(Forbidden):
        case.view_for(PARTNER, chain=frozenset({"SUP-OTHER"}))
    view = case.view_for(PARTNER, chain=frozenset({"SUP-1"}))
    assert "worker_key" not in view and "other_channels" not in view


def test_no_business_or_partner_view_shows_that_the_worker_went_to_another_channel():
    case = case_in("referred")
    before = [(who, case.view_for(who, chain=frozenset({"SUP-1"}))) for who in (SUPPLIER, PARTNER)]
    case.record_other_channel(STAFF, NOW, "labour_inspectorate", "filed at the provincial office")
    for who, view in before:
        after = case.view_for(who, chain=frozenset({"SUP-1"}))
        assert after == view, who        # not a field, an audit entry, a version or a count more
        assert "record_other_channel" not in str(after) and "inspectorate" not in str(after)
    assert case.view_for(STAFF)["audit"][-1]["action"] == "record_other_channel"
    assert case.raised == []             # no event: no webhook can carry it either


def test_a_worker_sees_only_where_their_own_case_stands():
    case = case_in("validating")
    assert case.view_for(WORKER) == {"case_ref": "ILM-TEST0001", "status": "validating",
                                     "opened_at": case.opened_at, "updated_at": case.audit[-1]["at"],
                                     "validation_open": True}
    with pytest.raises(Forbidden):
        case.view_for({**WORKER, "case_ref": "ILM-OTHER"})


def test_round_trip_through_dict():
    case = new_case()
    PERFORM["triage"](case)
    assert Case.from_dict(case.to_dict()).to_dict() == case.to_dict()


@pytest.mark.parametrize("actor", [STAFF, {"id": "lead", "role": "safeguarding_lead"}, SUPPLIER, PARTNER,
                                   {"id": "remediation", "role": "system"}, {**WORKER, "case_ref": "ILM-OTHER"}])
def test_only_the_worker_of_the_case_withdraws_it(actor):
    case = Case.open("ILM-W1", GRIEVANCE, NOW)
    with pytest.raises(Forbidden):
        case.withdraw(actor, NOW, "someone else decided")
    assert case.status == "received" and case.raised[-1][1]["to_status"] == "received"
    case.withdraw({**WORKER, "case_ref": "ILM-W1"}, NOW, "I settled it")
    assert case.status == "withdrawn" and case.audit[-1]["actor"]["role"] == "worker"


def test_every_state_of_the_machine_is_in_the_vocabulary():
    from shared.contracts.common import DEADLINE_NAMES, OPEN_CASE_STATES
    from services.remediation.domain import DEADLINE_INDEX, MEETS_DEADLINE, OPEN_STATES, STARTS_DEADLINE
    states = {s for step in STEPS.values() for s in step.sources} | {step.target for step in STEPS.values()}
    assert states <= set(CASE_STATES)
    assert states == set(CASE_STATES)                    # and the vocabulary has no state the machine lacks
    assert OPEN_STATES == set(OPEN_CASE_STATES)
    assert set(STARTS_DEADLINE.values()) | set(MEETS_DEADLINE.values()) <= set(DEADLINE_NAMES)
    assert list(DEADLINE_INDEX) == list(DEADLINE_NAMES)


def test_triage_corrects_the_work_area_a_chat_report_guessed():
    case = new_case()
    case.triage(STAFF, NOW, work_area="labour_recruitment")
    assert case.work_area == "labour_recruitment"
    contract, data = case.raised[-1]
    assert contract is CASE_STATUS_CHANGED and data["work_area"] == "labour_recruitment"
    assert case.audit[-1]["detail"]["work_area"] == "labour_recruitment"


def test_the_workers_messages_and_in_person_answers_are_on_the_staff_trail_only():
    case = case_in("validating")
    case.record_worker_message("follow_up", NOW)
    case.record_visit_answer(1, "not_resolved", STAFF, NOW)
    staff = case.view_for(STAFF)["audit"]
    assert [(a["action"], a["actor"]["role"], a["detail"]) for a in staff[-2:]] == [
        ("worker_message", "worker", {"kind": "follow_up"}),
        ("visit_answer_recorded", "case_worker", {"round_no": 1, "answer": "not_resolved"})]
    assert case.status == "validating"                          # never an override: the round decides
    business = {a["action"] for a in case.view_for(SUPPLIER)["audit"]}
    assert not {"worker_message", "visit_answer_recorded"} & business
