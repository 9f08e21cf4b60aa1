"""Validation: opens a round when remediation is reported, records workers' answers
and publishes the outcome. Entrypoints only; use cases are in handlers.py."""
from services.validation import handlers
from services.validation.domain import CaseValidation
from services.validation.store import ValidationStore
from shared.contracts import rpc as contract
from shared.contracts.common import STAFF_ROLES, WORKER_ROLES
from shared.contracts.events import CASE_STATUS_CHANGED, VALIDATION_ANSWER_SUBMITTED, utc_now
from shared.messaging import on_event
from shared.rpc import command, query
from shared.service import ServiceBase
from shared.unit_of_work import Aggregates


class ValidationService(ServiceBase):
    name = "validation"

    validations = Aggregates(ValidationStore, CaseValidation)

    @on_event(CASE_STATUS_CHANGED)
    def on_case_status_changed(self, event):
        handlers.open_round_if_reported(self.validations, event, utc_now())

    @on_event(VALIDATION_ANSWER_SUBMITTED)
    def on_answer_submitted(self, event):
        handlers.record_submitted_answer(self.validations, event, utc_now())

    @command(contract.SubmitAnswer, allow=WORKER_ROLES)
    def submit_answer(self, p, actor):
        return handlers.submit_answer(self.validations, p, actor, utc_now())

    @query(contract.GetRounds, allow=STAFF_ROLES)
    def get_rounds(self, p, actor):
        return handlers.get_rounds(self.validations, p)
