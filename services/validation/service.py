"""Validation: opens a round when remediation is reported, records workers' answers
(from intake's events or a case worker's RPC) and publishes the outcome."""

from services.validation.domain import CaseValidation
from services.validation.store import ValidationStore
from shared.aggregates import change, change_or_create
from shared.contracts import rpc as contract
from shared.contracts.events import CASE_STATUS_CHANGED, VALIDATION_ANSWER_SUBMITTED, utc_now
from shared.errors import InvalidTransition, NotFound
from shared.logging import get_logger
from shared.rpc import command
from shared.messaging import EventSourcingService, on_event
from shared.store import Store

log = get_logger(__name__)


class ValidationService(EventSourcingService):
    name = "validation"

    store = Store(ValidationStore)

    @on_event(CASE_STATUS_CHANGED)
    def on_case_status_changed(self, event):
        if event["data"]["to_status"] != "remediation_reported":
            return
        v = self._apply(event, lambda v: v.open_new_round(utc_now()))
        log.info("validation_round_opened" if v else "validation_event_duplicate")

    @on_event(VALIDATION_ANSWER_SUBMITTED)
    def on_answer_submitted(self, event):
        data = event["data"]

        def decide(v):
            if v.open_round is None:    # kept for the case worker, never an error for the worker
                v.record_unsolicited(data["worker_key"], data["answer"], utc_now())
            else:
                v.record_answer(data["worker_key"], data["answer"], utc_now())
        self._apply(event, decide)
        log.info("validation_answer_recorded", answer=data["answer"])

    @command(contract.SubmitAnswer)
    def submit_answer(self, p):
        v = change(self.store, self.relay, self.ctx.correlation_id, p["case_ref"], CaseValidation,
                   lambda v: v.record_answer(p["worker_key"], p["answer"], utc_now()),
                   missing=lambda msg: InvalidTransition(f"case {p['case_ref']}: no validation round is open"))
        return v.public_view()

    @command(contract.GetRounds)
    def get_rounds(self, p):
        doc = self.store.load(p["case_ref"])
        if doc is None:
            raise NotFound(f"no validation for case {p['case_ref']}")
        return CaseValidation.from_dict(doc).public_view()

    def _apply(self, event, decide):
        """An event about a case: its validation record is created on first use."""
        ref = event["case_ref"]
        return change_or_create(self.store, self.relay, self.ctx.correlation_id, ref, CaseValidation,
                                decide, lambda: CaseValidation(ref), applied_event=event["event_id"])


SERVICES = [ValidationService]
