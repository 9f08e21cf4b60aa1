"""Remediation's and validation's use cases on in-memory fakes: each handler loads,
lets the domain decide, saves with its events; redelivered events change nothing."""
from datetime import datetime, timezone

import pytest

from services.remediation import handlers as remediation
from services.remediation.domain import Case
from services.remediation.reports import BusinessRecord
from services.validation import handlers as validation
from services.validation.domain import CaseValidation
from shared.contracts.events import (
    CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, VALIDATION_ANSWER_SUBMITTED, VALIDATION_COMPLETED, make_event,
)
from shared.errors import Forbidden, InvalidTransition, NotFound
from tests.fakes import unit_of_work

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
POLICY = {"critical": (2, 7, 30), "high": (5, 14, 45), "normal": (7, 21, 60)}
STAFF = {"id": "cw-1", "role": "case_worker"}
SUPPLIER = {"id": "SUP-1", "role": "supplier"}
WORKER_OF_CASE = {"id": "wk_" + "a" * 32, "role": "worker", "case_ref": "ILM-1"}
WORKER = "wk_" + "b" * 32
GRIEVANCE = {
    "worker_key": "wk_" + "a" * 32, "channel": "hotline", "language": "th", "work_area": "working_conditions",
    "forced_labour_indicators": [], "severity": "normal", "retaliation": False, "supplier_ref": "SUP-1",
    "site_ref": "SITE-1", "agency_ref": None, "received_at": "2026-11-01T09:00:00.000Z",
}
ACTION = {"type": "back_pay", "description": "Pay the overtime owed", "owner": "SUP-1 HR",
          "due_date": "2026-12-01", "amount": None, "currency": None, "workers_count": None}


@pytest.fixture
def cases():
    u = unit_of_work(Case, consumer="remediation.test")
    remediation.open_case(u, make_event(GRIEVANCE_RECEIVED, "ILM-1", GRIEVANCE, "c"), NOW)
    return u


def cmd(**fields):
    return {"case_ref": "ILM-1", **fields}


def walk_to_remediation_reported(cases):
    remediation.triage(cases, cmd(severity=None, note=None), STAFF, NOW)
    remediation.refer(cases, cmd(business_ref="SUP-1", business_type="supplier"), STAFF, NOW, POLICY)
    remediation.acknowledge(cases, cmd(note=None), SUPPLIER, NOW, POLICY)
    remediation.submit_plan(cases, cmd(actions=[ACTION]), SUPPLIER, NOW)
    remediation.accept_plan(cases, cmd(note=None), STAFF, NOW, POLICY)
    return remediation.report_remediation(cases, cmd(summary="paid", evidence=["receipt"]), SUPPLIER, NOW)


def test_a_grievance_event_opens_one_case_however_often_it_arrives(cases):
    event = make_event(GRIEVANCE_RECEIVED, "ILM-1", GRIEVANCE, "c")
    assert remediation.open_case(cases, event, NOW) is False
    assert [e["data"]["to_status"] for e in cases.relay.published] == ["received"]


def test_the_case_walks_the_machine_through_the_handlers(cases):
    view = walk_to_remediation_reported(cases)
    assert view["status"] == "remediation_reported" and "worker_key" not in view   # the supplier's view
    statuses = [e["data"]["to_status"] for e in cases.relay.published]
    assert statuses == ["received", "triaged", "referred", "acknowledged", "plan_submitted", "remediating",
                        "remediation_reported"]
    assert cases.repo.load("ILM-1")["deadlines"]["acknowledge"]["due"] == "2026-11-08T09:00:00.000Z"


def test_commands_on_an_unknown_case_are_not_found(cases):
    with pytest.raises(NotFound, match="ILM-404"):
        remediation.triage(cases, {"case_ref": "ILM-404", "severity": None, "note": None}, STAFF, NOW)
    with pytest.raises(NotFound):
        remediation.get_case(cases, {"case_ref": "ILM-404"}, STAFF)


def test_only_the_worker_of_the_case_withdraws_it(cases):
    with pytest.raises(Forbidden):
        remediation.withdraw(cases, cmd(reason="staff decided"), STAFF, NOW)
    with pytest.raises(Forbidden):
        remediation.withdraw(cases, cmd(reason="not mine"), {**WORKER_OF_CASE, "case_ref": "ILM-2"}, NOW)
    view = remediation.withdraw(cases, cmd(reason="settled it myself"), WORKER_OF_CASE, NOW)
    assert view == {"case_ref": "ILM-1", "status": "withdrawn", "opened_at": view["opened_at"],
                    "updated_at": view["updated_at"], "validation_open": False}   # the worker's view only


def test_validation_outcome_closes_once(cases):
    walk_to_remediation_reported(cases)
    done = make_event(VALIDATION_COMPLETED, "ILM-1", {"round_no": 1, "outcome": "confirmed",
                                                      "completed_at": "2026-11-02T00:00:00.000Z"}, "c")
    assert remediation.apply_validation_outcome(cases, done, NOW, POLICY).status == "closed"
    assert remediation.apply_validation_outcome(cases, done, NOW, POLICY) is None   # redelivered


def test_business_record_counts_each_event_once():
    records = unit_of_work(BusinessRecord, consumer="remediation.project_business_record")
    referred = make_event(CASE_STATUS_CHANGED, "ILM-1", {
        "from_status": "triaged", "to_status": "referred", "case_version": 3, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None, "business_ref": "SUP-1",
        "business_type": "supplier", "actor": STAFF, "changed_at": "2026-11-01T09:00:00.000Z"}, "c")
    remediation.project_business_record(records, referred)
    remediation.project_business_record(records, referred)
    card = remediation.supplier_scorecard(records, {"business_ref": "SUP-1"}, STAFF)
    assert card["cases"] == 1 and card["open_cases"] == 1
    with pytest.raises(Forbidden):
        remediation.supplier_scorecard(records, {"business_ref": "SUP-1"}, {"id": "SUP-2", "role": "supplier"})


# --- validation (more in test_handlers_validation.py) ----------------------------------

def status_changed(to_status: str, **facts) -> dict:
    return make_event(CASE_STATUS_CHANGED, "ILM-1", {
        "from_status": "remediating", "to_status": to_status, "case_version": 7, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None, "business_ref": "SUP-1",
        "business_type": "supplier", "actor": SUPPLIER, "changed_at": "2026-11-01T09:00:00.000Z", **facts}, "c")


def answer(value: str) -> dict:
    return make_event(VALIDATION_ANSWER_SUBMITTED, "ILM-1", {
        "worker_key": WORKER, "answer": value, "retaliation": False, "submitted_at": "2026-11-01T09:00:00.000Z"}, "c")


def reporter(worker_key: str = WORKER) -> dict:
    return make_event(GRIEVANCE_RECEIVED, "ILM-1", dict(GRIEVANCE, worker_key=worker_key), "c")


def test_a_round_opens_only_when_remediation_is_reported_and_only_once():
    validations = unit_of_work(CaseValidation)
    validation.note_reporter(validations, reporter(), NOW)
    assert validation.open_round_if_reported(validations, status_changed("acknowledged"), NOW) is None
    event = status_changed("remediation_reported", remedy_actions=["back_pay"])
    assert validation.open_round_if_reported(validations, event, NOW).open_round["round_no"] == 1
    assert validation.open_round_if_reported(validations, event, NOW) is None
    assert validations.relay.types() == ["validation.round_opened", "validation.outreach_requested"]
    assert validations.relay.published[-1]["data"]["worker_keys"] == [WORKER]


def test_answers_complete_the_round_and_early_ones_are_kept():
    validations = unit_of_work(CaseValidation)
    validation.record_submitted_answer(validations, answer("confirmed"), NOW)       # no round yet
    assert len(validations.repo.load("ILM-1")["unsolicited"]) == 1
    validation.note_reporter(validations, reporter("wk_" + "9" * 32), NOW)
    validation.note_reporter(validations, reporter(), NOW)
    validation.open_round_if_reported(validations, status_changed("remediation_reported"), NOW)
    validation.record_submitted_answer(validations, answer("not_resolved"), NOW)   # a second: ignored
    assert validations.relay.types() == ["validation.round_opened", "validation.outreach_requested"]
    assert validations.repo.load("ILM-1")["rounds"][0]["answers"][0]["answer"] == "confirmed"


def test_submit_answer_without_a_round_is_refused():
    validations = unit_of_work(CaseValidation)
    with pytest.raises(InvalidTransition, match="no validation round"):
        validation.submit_answer(validations, {"case_ref": "ILM-1", "answer": "confirmed"},
                                 {"id": WORKER, "role": "worker", "case_ref": "ILM-1"}, NOW)
    with pytest.raises(NotFound):
        validation.get_rounds(validations, {"case_ref": "ILM-2"})
