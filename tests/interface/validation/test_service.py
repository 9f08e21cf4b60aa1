"""Validation's service class in-process over its entrypoints (entrypoint_hook): who
may call each RPC, the reporter becoming an affected worker, a worker's own answer,
staff adding workers, recording in-person answers and rerunning, the deadline timer."""
from datetime import timedelta

import pytest
from nameko.testing.services import entrypoint_hook, replace_dependencies

from services.validation import handlers
from services.validation.domain import CaseValidation
from services.validation.service import ValidationService
from shared.contracts.events import CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, make_event, utc_now
from shared.errors import Forbidden, InvalidInput, InvalidTransition
from tests.fakes import FakeRepository, unit_of_work
from tests.principals import CASE_WORKER, context, partner, supplier, worker

WORKER = "wk_" + "c" * 32
OTHER = "wk_" + "d" * 32


class FakeValidationStore(FakeRepository):
    def due(self, now, limit):
        return sorted(k for k, d in self.docs.items() if d.get("next_due") and d["next_due"] <= now)[:limit]


@pytest.fixture
def container(container_factory, make_config):
    c = container_factory(ValidationService, make_config())
    c.validations = unit_of_work(CaseValidation, repo=FakeValidationStore())
    replace_dependencies(c, validations=c.validations)
    c.start()
    return c


def received() -> dict:
    return make_event(GRIEVANCE_RECEIVED, "ILM-1", {
        "worker_key": WORKER, "channel": "hotline", "language": "th", "work_area": "working_conditions",
        "forced_labour_indicators": [], "severity": "normal", "retaliation": False, "supplier_ref": "SUP-1",
        "site_ref": None, "agency_ref": None, "received_at": "2026-11-01T09:00:00.000Z"}, "c")


def reported() -> dict:
    return make_event(CASE_STATUS_CHANGED, "ILM-1", {
        "from_status": "remediating", "to_status": "remediation_reported", "case_version": 7, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None, "business_ref": "SUP-1",
        "business_type": "supplier", "actor": {"id": "SUP-1", "role": "supplier"},
        "changed_at": "2026-11-01T09:00:00.000Z", "remedy_actions": ["back_pay"]}, "c")


def call(container, method, payload, principal=CASE_WORKER):
    with entrypoint_hook(container, method, context_data=context(principal)) as hook:
        return hook(payload)


def event(container, method, body):
    with entrypoint_hook(container, method) as hook:
        return hook(body)


def test_the_reporters_own_answer_decides_a_one_worker_round(container):
    event(container, "on_grievance_received", received())
    answer = {"case_ref": "ILM-1", "answer": "confirmed"}
    with pytest.raises(InvalidTransition):          # the RPC caller is told; intake's events keep early answers
        call(container, "submit_answer", answer, worker("ILM-1", WORKER))
    event(container, "on_case_status_changed", reported())
    assert call(container, "submit_answer", answer, worker("ILM-1", WORKER))["answer"] == "counted"
    rounds = call(container, "get_rounds", {"case_ref": "ILM-1"})
    assert rounds["rounds"][0]["status"] == "confirmed" and rounds["rounds"][0]["asked"] == [WORKER]
    assert rounds["affected"][0]["worker_key"] == WORKER


@pytest.mark.parametrize("principal", [CASE_WORKER, supplier("SUP-1"), partner("BRAND-1"), worker("ILM-OTHER")])
def test_only_the_worker_of_the_case_answers(container, principal):
    # The exploit: a caller claiming "supplier" closed a case with an invented worker key.
    event(container, "on_grievance_received", received())
    event(container, "on_case_status_changed", reported())
    with pytest.raises(Forbidden):
        call(container, "submit_answer", {"case_ref": "ILM-1", "answer": "confirmed"}, principal)
    assert call(container, "get_rounds", {"case_ref": "ILM-1"})["rounds"][0]["answers"] == []


@pytest.mark.parametrize("method,payload", [
    ("add_affected_worker", {"case_ref": "ILM-1", "worker_key": OTHER}),
    ("record_visit_answer", {"case_ref": "ILM-1", "worker_key": WORKER, "answer": "confirmed"}),
    ("rerun_round", {"case_ref": "ILM-1", "reason": "no answers"}),
    ("get_rounds", {"case_ref": "ILM-1"}),
])
@pytest.mark.parametrize("principal", [supplier("SUP-1"), partner("BRAND-1"), worker("ILM-1", WORKER)])
def test_staff_only_rpcs_refuse_everybody_else(container, method, payload, principal):
    event(container, "on_grievance_received", received())
    with pytest.raises(Forbidden):
        call(container, method, payload, principal)


def test_staff_add_a_worker_record_visits_and_rerun_an_expired_round(container):
    event(container, "on_grievance_received", received())
    event(container, "on_case_status_changed", reported())
    view = call(container, "add_affected_worker", {"case_ref": "ILM-1", "worker_key": OTHER})
    assert view["added"] is True and view["rounds"][0]["asked"] == [WORKER, OTHER]
    with pytest.raises(InvalidInput):
        call(container, "record_visit_answer", {"case_ref": "ILM-1", "worker_key": "wk_x", "answer": "confirmed"})
    with pytest.raises(InvalidTransition):
        call(container, "rerun_round", {"case_ref": "ILM-1", "reason": "too soon"})
    view = call(container, "record_visit_answer", {"case_ref": "ILM-1", "worker_key": OTHER, "answer": "partly"})
    assert view["rounds"][0]["answers"][0]["channel"] == "in_person" and view["rounds"][0]["status"] == "open"


def test_the_timer_reminds_then_expires(container):
    event(container, "on_grievance_received", received())
    event(container, "on_case_status_changed", reported())
    uow = container.validations    # the timer's use case, at a clock two weeks on
    assert handlers.sweep(uow, utc_now() + timedelta(days=15)) == {"ILM-1": "reminded"}
    assert handlers.sweep(uow, utc_now() + timedelta(days=23)) == {"ILM-1": "expired"}
    view = call(container, "rerun_round", {"case_ref": "ILM-1", "reason": "workers were away"})
    assert [r["status"] for r in view["rounds"]] == ["expired", "open"]
