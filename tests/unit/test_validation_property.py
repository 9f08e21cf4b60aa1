"""Property (issue 12): no sequence of remediation steps by any role, answers of any
kind by any worker, in-person answers, added workers, deadline sweeps at any time and
reruns reaches ``closed`` without a round whose outcome is ``confirmed`` and which had
at least a quorum of answers from affected workers.

The pure remediation ``Case`` and ``CaseValidation`` run together; each raised event
is delivered to the other side as the services' consumers would (the broker lets only
validation publish its events, so no forged completion is in the alphabet)."""
import random
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, event, given, settings, strategies as st

from services.remediation.domain import Case
from services.validation.domain import CaseValidation
from services.validation.rules import Rules
from shared.contracts.common import VALIDATION_ANSWERS
from shared.contracts.events import CASE_STATUS_CHANGED, VALIDATION_COMPLETED, VALIDATION_ROUND_OPENED
from shared.errors import Forbidden, InvalidInput, InvalidTransition

REFUSED = (Forbidden, InvalidInput, InvalidTransition)
START = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
DEADLINES = {"critical": (2, 7, 30), "high": (5, 14, 45), "normal": (7, 21, 60)}
KEYS = [f"wk_{c * 32}" for c in "abcdefg"]           # a: the reporter; f, g: never affected
ACTORS = [{"id": "cw-1", "role": "case_worker"}, {"id": "sg-1", "role": "safeguarding_lead"},
          {"id": "SUP-1", "role": "supplier"}, {"id": "SUP-2", "role": "supplier"},
          {"id": "AG-1", "role": "agency"}, {"id": "BRAND-1", "role": "partner"},
          {"id": KEYS[0], "role": "worker", "case_ref": "ILM-P"}, {"id": "remediation", "role": "system"},
          {"id": "admin-1", "role": "admin"}]
ACTION = {"type": "back_pay", "description": "pay", "owner": "HR", "due_date": "2026-12-01"}
STEPS = {
    "triage": lambda c, a, now: c.triage(a, now),
    "refer": lambda c, a, now: c.refer(a, now, "SUP-1", "supplier", DEADLINES),
    "acknowledge": lambda c, a, now: c.acknowledge(a, now, DEADLINES),
    "submit_plan": lambda c, a, now: c.submit_plan(a, now, [ACTION]),
    "accept_plan": lambda c, a, now: c.accept_plan(a, now, DEADLINES),
    "report_remediation": lambda c, a, now: c.report_remediation(a, now, "done", []),
    "withdraw": lambda c, a, now: c.withdraw(a, now, "settled"),
}
# The step a case in each state waits for, and who may take it (so runs get far).
NEXT = {"received": ("triage", 0), "triaged": ("refer", 0), "referred": ("acknowledge", 2),
        "acknowledged": ("submit_plan", 2), "plan_submitted": ("accept_plan", 0),
        "remediating": ("report_remediation", 2)}

worker = st.integers(0, len(KEYS) - 1)
moves = st.one_of(
    st.tuples(st.just("progress")), st.tuples(st.just("progress")),
    st.tuples(st.just("step"), st.sampled_from(sorted(STEPS)), st.integers(0, len(ACTORS) - 1)),
    st.tuples(st.just("answer"), worker, st.sampled_from(VALIDATION_ANSWERS), st.booleans()),
    st.tuples(st.just("visit"), worker, st.sampled_from(VALIDATION_ANSWERS)),
    st.tuples(st.just("add"), worker),
    st.tuples(st.just("sweep"), st.integers(0, 30)),
    st.tuples(st.just("rerun"),),
)
rule_sets = st.builds(Rules, sample_above=st.integers(1, 4), sample_min=st.integers(1, 3),
                      sample_share=st.sampled_from([0.3, 0.5, 1.0]), quorum_share=st.sampled_from([0.0, 0.6, 1.0]),
                      reopen_share=st.sampled_from([0.0, 0.2, 0.5]), confirm_share=st.sampled_from([0.5, 0.8, 1.0]))


class World:
    def __init__(self, rules: Rules, seed: int):
        self.rules, self.rng, self.now = rules, random.Random(seed), START
        self.case = Case.open("ILM-P", {
            "worker_key": KEYS[0], "channel": "hotline", "language": "th", "work_area": "working_conditions",
            "forced_labour_indicators": [], "severity": "normal", "retaliation": False, "supplier_ref": "SUP-1",
            "site_ref": None, "agency_ref": None}, START)
        self.v = CaseValidation("ILM-P")
        self.v.add_affected(KEYS[0], START)
        self.closed_by = None

    def play(self, move) -> None:
        self.now += timedelta(hours=1)
        kind, *args = move
        try:
            getattr(self, "_" + kind)(*args)
        except REFUSED:
            pass                                       # refused: nothing changed
        self.deliver()

    def _progress(self):
        if self.case.status in NEXT:
            step, actor = NEXT[self.case.status]
            STEPS[step](self.case, ACTORS[actor], self.now)

    def _step(self, step, actor):
        STEPS[step](self.case, ACTORS[actor], self.now)

    def _answer(self, i, answer, retaliation):
        self.v.answer(KEYS[i], answer, self.now, self.rules, retaliation=retaliation)

    def _visit(self, i, answer):
        self.v.record_visit_answer(KEYS[i], answer, ACTORS[0], self.now, self.rules)

    def _add(self, i):
        if i < 5:
            self.v.add_affected(KEYS[i], self.now, ACTORS[0])

    def _sweep(self, days):
        self.now += timedelta(days=days)
        self.v.sweep(self.now, self.rules)

    def _rerun(self):
        self.v.rerun(ACTORS[0], "asked again", self.now, self.rules.choose(self.v.affected_keys, self.rng), self.rules)

    def deliver(self) -> None:
        """Route each raised event to the other side until both are quiet. Only a
        withdrawn case may refuse validation's events (they then go nowhere)."""
        while self.case.raised or self.v.raised:
            try:
                self._deliver_once()
            except REFUSED:
                if self.case.status != "withdrawn":
                    raise
                self.case.raised.clear()
                self.v.raised.clear()

    def _deliver_once(self) -> None:
        for contract, data in self.case.raised[:]:
            self.case.raised.remove((contract, data))
            if contract is CASE_STATUS_CHANGED and data["to_status"] == "remediation_reported":
                self.v.open_new_round(self.now, self.rules.choose(self.v.affected_keys, self.rng), self.rules,
                                      data.get("remedy_actions") or [])
        for contract, data in self.v.raised[:]:
            self.v.raised.remove((contract, data))
            if contract is VALIDATION_ROUND_OPENED:
                self.case.start_validation(data["round_no"], self.now)
            elif contract is VALIDATION_COMPLETED:
                before = self.case.status
                self.case.apply_validation_outcome(data["round_no"], data["outcome"], self.now, DEADLINES,
                                                   data["tally"])
                if before != "closed" and self.case.status == "closed":
                    self.closed_by = data["round_no"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_sets, seed=st.integers(0, 2 ** 16), head=st.integers(0, 7), script=st.lists(moves, max_size=60))
def test_a_case_closes_only_after_a_confirmed_round_with_a_quorum_of_affected_workers(rules, seed, head, script):
    world = World(rules, seed)
    for move in [("progress",)] * head + script:       # a head start: most runs reach validation
        world.play(move)
        if world.case.status == "closed":
            assert world.closed_by is not None
            round_ = world.v.rounds[world.closed_by - 1]
            affected = set(world.v.affected_keys)
            assert round_["status"] == "confirmed" and not round_["held"]
            assert all(a["worker_key"] in affected for a in round_["answers"])
            assert len({a["worker_key"] for a in round_["answers"]}) >= rules.quorum(len(round_["asked"]))
            assert not any(a["answer"] == "unsafe" or a["retaliation"] for a in round_["answers"])
    event(f"final status: {world.case.status}")
    closing = [a for a in world.case.audit if a["action"] == "close"]
    assert len(closing) <= 1 and (closing == [] or world.case.status == "closed")


def test_the_property_reaches_closed_and_reopens():
    """The alphabet is not vacuous: a plain run closes, a "not resolved" reopens."""
    world = World(Rules(), 0)
    for _ in range(6):
        world.play(("progress",))
    assert world.case.status == "validating"
    world.play(("answer", 0, "not_resolved", False))
    assert world.case.status == "remediating"
    world.play(("progress",))
    world.play(("visit", 0, "confirmed"))
    assert world.case.status == "closed" and world.closed_by == 2
