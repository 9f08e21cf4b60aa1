"""Validation: knows each case's affected workers, opens a round when remediation is
reported, records answers, publishes the outcome, reminds and expires rounds on a
timer. Entrypoints only; use cases are in handlers.py, the rules in rules.py."""
import random

from services.validation import handlers
from services.validation.domain import CaseValidation
from services.validation.rules import Rules
from services.validation.store import ValidationStore
from shared.contracts import rpc as contract
from shared.contracts.common import STAFF_ROLES, WORKER_ROLES
from shared.contracts.events import (
    CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, VALIDATION_ANSWER_SUBMITTED, utc_now,
)
from shared.messaging import on_event
from shared.rpc import command, query
from shared.service import ServiceBase, every
from shared.unit_of_work import Aggregates

_rng = random.SystemRandom()    # who is sampled must not be predictable by a business


class ValidationService(ServiceBase):
    name = "validation"

    validations = Aggregates(ValidationStore, CaseValidation)

    @property
    def rules(self) -> Rules:
        return Rules.from_settings(self.config.validation_rules)

    @on_event(GRIEVANCE_RECEIVED)
    def on_grievance_received(self, event):
        handlers.note_reporter(self.validations, event, utc_now())

    @on_event(CASE_STATUS_CHANGED)
    def on_case_status_changed(self, event):
        handlers.open_round_if_reported(self.validations, event, utc_now(), self.rules, _rng)

    @on_event(VALIDATION_ANSWER_SUBMITTED)
    def on_answer_submitted(self, event):
        handlers.record_submitted_answer(self.validations, event, utc_now(), self.rules)

    @every("validation_sweep_seconds")
    def sweep_deadlines(self):
        handlers.sweep(self.validations, utc_now(), self.rules)

    @command(contract.SubmitAnswer, allow=WORKER_ROLES)
    def submit_answer(self, p, actor):
        return handlers.submit_answer(self.validations, p, actor, utc_now(), self.rules)

    @command(contract.AddAffectedWorker, allow=STAFF_ROLES)
    def add_affected_worker(self, p, actor):
        return handlers.add_affected_worker(self.validations, p, actor, utc_now())

    @command(contract.RecordVisitAnswer, allow=STAFF_ROLES)
    def record_visit_answer(self, p, actor):
        return handlers.record_visit_answer(self.validations, p, actor, utc_now(), self.rules)

    @command(contract.RerunRound, allow=STAFF_ROLES)
    def rerun_round(self, p, actor):
        return handlers.rerun_round(self.validations, p, actor, utc_now(), self.rules, _rng)

    @query(contract.GetRounds, allow=STAFF_ROLES)
    def get_rounds(self, p, actor):
        return handlers.get_rounds(self.validations, p)
