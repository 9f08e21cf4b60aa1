"""Property (issue 12), through the services' own entrypoints: no sequence of RPC calls
by any principal (every remediation and validation command, valid payloads and forged
fields alike, as staff, businesses, partners, admins, the case's worker and another
worker) and events (intake's validation answers from affected workers, strangers and
the reporter, any answer, with or without a threat) reaches ``closed`` without a round
that validation decided ``confirmed`` with a quorum of affected workers.

Remediation's and validation's service classes run in this process (nameko's
worker_factory, the in-memory stores of tests/fakes.py); each event a service raises
is handed to the other's handler as its consumer would. A handler that refuses an
event leaves the state as it was (in production: retried, then dead-lettered). A
forged ``validation.completed`` is not in the alphabet: the broker lets only
validation publish it (tests/integration/test_broker_permissions.py), and the
domain-level property (tests/unit/test_validation_property.py) covers timeouts and
reruns at any time."""
import uuid

from hypothesis import HealthCheck, event as label, given, settings, strategies as st
from nameko.testing.services import worker_factory

from services.remediation.domain import Case
from services.remediation.parties import Party
from services.remediation.reports import BusinessRecord
from services.remediation.service import RemediationService
from services.validation.domain import CaseValidation
from services.validation.service import ValidationService
from shared.config import settings as app_settings
from shared.contracts.events import (
    CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, VALIDATION_ANSWER_SUBMITTED, VALIDATION_COMPLETED,
    VALIDATION_ROUND_OPENED, VISIT_ANSWER_RECORDED, make_event, utc_now, iso,
)
from shared.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, Unauthorized
from tests.fakes import FakeCaller, FakePartyStore, unit_of_work
from tests.interface.validation.test_service import FakeValidationStore
from tests.principals import ADMIN, CASE_WORKER, SAFEGUARDING, partner, supplier, worker

REF = "ILM-PROP0001"
KEYS = [f"wk_{c * 32}" for c in "abcdef"]          # a: the reporter; e, f: never affected
PRINCIPALS = [CASE_WORKER, SAFEGUARDING, ADMIN, supplier("SUP-1"), supplier("SUP-2"), partner("BRAND-1"),
              worker(REF, KEYS[0]), worker(REF, KEYS[4]), worker("ILM-OTHER", KEYS[1])]
ACTION = {"type": "back_pay", "description": "pay", "owner": "HR", "due_date": "2026-12-31"}
CALLS = {   # (service, method): payload
    ("remediation", "triage"): {"severity": "high"},
    ("remediation", "refer"): {"business_ref": "SUP-1", "business_type": "supplier"},
    ("remediation", "acknowledge"): {},
    ("remediation", "submit_plan"): {"actions": [ACTION]},
    ("remediation", "accept_plan"): {},
    ("remediation", "return_plan"): {"reasons": ["no amounts"]},
    ("remediation", "report_remediation"): {"summary": "paid", "evidence": ["slip.pdf"]},
    ("remediation", "withdraw"): {"reason": "settled"},
    ("remediation", "record_other_channel"): {"channel": "labour_inspectorate", "note": "went there"},
    ("validation", "submit_answer"): {"answer": "confirmed"},
    ("validation", "add_affected_worker"): {"worker_key": KEYS[2]},
    ("validation", "record_visit_answer"): {"worker_key": KEYS[1], "answer": "confirmed"},
    ("validation", "rerun_round"): {"reason": "asked again"},
}
FORGED = ({}, {"actor": {"id": "cw-1", "role": "case_worker"}}, {"status": "closed"}, {"outcome": "confirmed"})
# The step each state waits for, and who takes it (so that runs get far).
NEXT = {"received": ("triage", 0), "triaged": ("refer", 0), "referred": ("acknowledge", 3),
        "acknowledged": ("submit_plan", 3), "plan_submitted": ("accept_plan", 0),
        "remediating": ("report_remediation", 3)}
REFUSED = (Forbidden, InvalidInput, InvalidTransition, NotFound, Unauthorized)

moves = st.one_of(
    st.tuples(st.just("progress")), st.tuples(st.just("progress")),
    st.tuples(st.just("call"), st.sampled_from(sorted(CALLS)), st.integers(0, len(PRINCIPALS) - 1),
              st.sampled_from(FORGED)),
    st.tuples(st.just("answer"), st.integers(0, len(KEYS) - 1),
              st.sampled_from(["confirmed", "confirmed", "partly", "not_resolved", "unsafe"]), st.booleans()),
    st.tuples(st.just("add"), st.integers(1, 3)),
    st.tuples(st.just("visit"), st.integers(0, 5), st.sampled_from(["confirmed", "not_resolved"])),
)


class Services:
    def __init__(self):
        config = app_settings()
        self.remediation = worker_factory(
            RemediationService, cases=unit_of_work(Case), records=unit_of_work(BusinessRecord),
            parties=unit_of_work(Party, repo=FakePartyStore()), config=config, caller=FakeCaller(CASE_WORKER))
        self.validation = worker_factory(
            ValidationService, validations=unit_of_work(CaseValidation, repo=FakeValidationStore()), config=config,
            caller=FakeCaller(CASE_WORKER))
        self.sent = {"remediation": 0, "validation": 0}
        self.closed_by_round = None
        grievance = {"worker_key": KEYS[0], "channel": "hotline", "language": "th", "work_area": "working_conditions",
                     "forced_labour_indicators": [], "severity": "normal", "retaliation": False,
                     "supplier_ref": "SUP-1", "site_ref": None, "agency_ref": None, "received_at": iso(utc_now())}
        event = make_event(GRIEVANCE_RECEIVED, REF, grievance, "prop")
        self.remediation.on_grievance_received(event)
        self.validation.on_grievance_received(event)
        self.deliver()

    def status(self) -> str:
        return self.remediation.cases.get(REF).status

    def call(self, key, who: int, extra: dict = ()):
        service, method = key
        target = getattr(self, service)
        target.caller._principal = PRINCIPALS[who]
        try:
            getattr(target, method)({"case_ref": REF, **CALLS[key], **dict(extra)})
        except REFUSED:
            pass

    def play(self, move) -> None:
        kind, *args = move
        if kind == "progress":
            if self.status() in NEXT:
                step, who = NEXT[self.status()]
                self.call(("remediation", step), who)
        elif kind == "call":
            self.call(args[0], args[1], args[2])
        elif kind == "answer":
            i, answer, threat = args
            self._handle(self.validation.on_answer_submitted, make_event(VALIDATION_ANSWER_SUBMITTED, REF, {
                "worker_key": KEYS[i], "answer": answer, "retaliation": threat, "submitted_at": iso(utc_now()),
                "round_no": None}, "prop"))
        elif kind == "add":
            self.call(("validation", "add_affected_worker"), 0, {"worker_key": KEYS[args[0]]})
        elif kind == "visit":
            self.call(("validation", "record_visit_answer"), 0, {"worker_key": KEYS[args[0]], "answer": args[1]})
        self.deliver()

    def deliver(self) -> None:
        """Hand each new event to the other service's handler until both are quiet."""
        while True:
            from_remediation = self._new("remediation", self.remediation.cases.relay.published)
            from_validation = self._new("validation", self.validation.validations.relay.published)
            if not (from_remediation or from_validation):
                return
            for event in from_remediation:
                if event["event_type"] == CASE_STATUS_CHANGED.name:
                    self._handle(self.validation.on_case_status_changed, event)
            for event in from_validation:
                before = self.status()
                handler = {VALIDATION_ROUND_OPENED.name: self.remediation.on_validation_round_opened,
                           VALIDATION_COMPLETED.name: self.remediation.on_validation_completed,
                           VISIT_ANSWER_RECORDED.name: self.remediation.on_visit_answer_recorded}.get(event["event_type"])
                if handler:
                    self._handle(handler, event)
                if before != "closed" and self.status() == "closed":
                    self.closed_by_round = event["data"]["round_no"]

    def _new(self, side: str, published: list) -> list:
        fresh = published[self.sent[side]:]
        self.sent[side] = len(published)
        return fresh

    @staticmethod
    def _handle(handler, event) -> None:
        try:
            handler(dict(event, event_id=event.get("event_id") or uuid.uuid4().hex))
        except REFUSED:
            pass          # refused: dead-lettered in production, nothing changed here


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.integers(0, 7), script=st.lists(moves, max_size=40))
def test_no_sequence_of_calls_and_events_closes_a_case_without_a_passed_round(head, script):
    world = Services()
    for move in [("progress",)] * head + script:
        world.play(move)
        if world.status() == "closed":
            record = world.validation.validations.get(REF)
            round_ = record.rounds[world.closed_by_round - 1]
            affected = set(record.affected_keys)
            assert round_["status"] == "confirmed" and not round_["held"]
            answered = {a["worker_key"] for a in round_["answers"]}
            assert answered <= affected and len(answered) >= world.validation.rules.quorum(len(round_["asked"]))
            assert not any(a["answer"] == "unsafe" or a["retaliation"] for a in round_["answers"])
    label(f"final status: {world.status()}")


def test_the_alphabet_reaches_closed_through_the_services():
    """Not vacuous: the reporter's own confirmation after remediation closes the case."""
    world = Services()
    for _ in range(6):
        world.play(("progress",))
    assert world.status() == "validating"
    world.play(("answer", 0, "confirmed", False))
    assert world.status() == "closed" and world.closed_by_round == 1
