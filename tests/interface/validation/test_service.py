"""Validation's service class in-process over RPC entrypoints (entrypoint_hook)."""
import pytest
from nameko.testing.services import entrypoint_hook, replace_dependencies

from services.validation.domain import CaseValidation
from services.validation.service import ValidationService
from shared.contracts.events import CASE_STATUS_CHANGED, make_event
from shared.errors import Forbidden, InvalidTransition
from tests.fakes import unit_of_work
from tests.principals import CASE_WORKER, context, partner, supplier, worker

WORKER = "wk_" + "c" * 32


@pytest.fixture
def container(container_factory, make_config):
    c = container_factory(ValidationService, make_config())
    replace_dependencies(c, validations=unit_of_work(CaseValidation))
    c.start()
    return c


def reported() -> dict:
    return make_event(CASE_STATUS_CHANGED, "ILM-1", {
        "from_status": "remediating", "to_status": "remediation_reported", "case_version": 7, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None, "business_ref": "SUP-1",
        "business_type": "supplier", "actor": {"id": "SUP-1", "role": "supplier"},
        "changed_at": "2026-11-01T09:00:00.000Z"}, "c")


def test_an_answer_completes_the_open_round(container):
    answer = {"case_ref": "ILM-1", "answer": "confirmed"}
    as_worker = context(worker("ILM-1", WORKER))
    with entrypoint_hook(container, "submit_answer", context_data=as_worker) as submit_answer:
        with pytest.raises(InvalidTransition):
            submit_answer(answer)
    with entrypoint_hook(container, "on_case_status_changed") as on_changed:
        on_changed(reported())
    with entrypoint_hook(container, "submit_answer", context_data=as_worker) as submit_answer:
        view = submit_answer(answer)
    assert view["rounds"][0]["status"] == "confirmed" and view["rounds"][0]["answers"] == 1
    with entrypoint_hook(container, "get_rounds", context_data=context(CASE_WORKER)) as get_rounds:
        assert get_rounds({"case_ref": "ILM-1"}) == view


@pytest.mark.parametrize("principal", [CASE_WORKER, supplier("SUP-1"), partner("BRAND-1"), worker("ILM-OTHER")])
def test_only_the_worker_of_the_case_answers(container, principal):
    # The exploit: a caller claiming "supplier" closed a case with an invented worker key.
    with entrypoint_hook(container, "on_case_status_changed") as on_changed:
        on_changed(reported())
    with pytest.raises(Forbidden):
        with entrypoint_hook(container, "submit_answer", context_data=context(principal)) as submit_answer:
            submit_answer({"case_ref": "ILM-1", "answer": "confirmed"})
    with entrypoint_hook(container, "get_rounds", context_data=context(CASE_WORKER)) as get_rounds:
        assert get_rounds({"case_ref": "ILM-1"})["rounds"][0]["answers"] == 0
