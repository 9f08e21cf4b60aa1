"""Validation's use cases: a round opens when remediation is reported; workers'
answers (from intake's events, or a worker's own RPC through a door that checked the
receipt) complete it."""
from __future__ import annotations

from datetime import datetime

from services.validation.domain import CaseValidation
from shared.errors import InvalidTransition, NotFound
from shared.logging import get_logger

log = get_logger(__name__)


def open_round_if_reported(validations, event: dict, now: datetime):
    if event["data"]["to_status"] != "remediation_reported":
        return None
    v = _apply(validations, event, lambda v: v.open_new_round(now))
    log.info("validation_round_opened" if v else "validation_event_duplicate")
    return v


def record_submitted_answer(validations, event: dict, now: datetime):
    data = event["data"]

    def decide(v: CaseValidation):
        if v.open_round is None:    # kept for the case worker, never an error for the worker
            v.record_unsolicited(data["worker_key"], data["answer"], now)
        else:
            v.record_answer(data["worker_key"], data["answer"], now, data["retaliation"])
    v = _apply(validations, event, decide)
    log.info("validation_answer_recorded", answer=data["answer"], held=data["retaliation"])
    return v


def submit_answer(validations, p: dict, actor: dict, now: datetime) -> dict:
    """``actor`` is the worker of this case (shared/rpc.py checks the token's case):
    the worker key is the token's, never the payload's."""
    no_round = lambda _: InvalidTransition(f"case {p['case_ref']}: no validation round is open")  # noqa: E731
    v = validations.change(p["case_ref"], lambda v: v.record_answer(actor["id"], p["answer"], now),
                           missing=no_round).aggregate
    return v.public_view()


def get_rounds(validations, p: dict) -> dict:
    return validations.load(p["case_ref"], missing=lambda _: NotFound(
        f"no validation for case {p['case_ref']}")).public_view()


def _apply(validations, event, decide):
    """An event about a case: its validation record is created on first use."""
    ref = event["case_ref"]
    return validations.change_or_create(ref, decide, lambda: CaseValidation(ref), event=event).aggregate
