"""Worker validation of remediation. Pure: no I/O, no randomness, callers pass ``now``,
the rules (rules.py, VALIDATION_* settings) and whom a round asks.

A case knows its affected workers (pseudonymous keys): the reporter and workers a
case worker adds. Each time a business reports remediation done a round opens and
asks them (all, or a sample: rules.py); the round keeps who was asked, every answer
(worker key, answer, time, channel, who recorded it) and its decision, so the
businesses' first-round validation and reopen rates come from the records.

- Answers: ``confirmed``, ``partly``, ``not_resolved``, ``unsafe``. One per worker and
  round: a second one is ignored (idempotent, never an error). An affected worker's
  answer counts even when not sampled; a non-affected worker's is set aside.
- The decision (rules.py ``Rules.decide``) runs after each counted answer: quorum,
  reopen share, confirm share. ``unsafe`` or a retaliation report holds the round:
  it never passes.
- Deadline: ``answer_by``. The first lapse sends a reminder and extends it; the
  second expires the round (no outcome: the case stays validating) until a case
  worker reruns it. Only a ``confirmed`` outcome lets remediation close the case.
- An answer while no round is open is kept and applied when the next round opens.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.validation.rules import Rules, tally_of
from shared.contracts.common import VALIDATION_ANSWERS
from shared.contracts.events import (
    VALIDATION_COMPLETED, VALIDATION_OUTREACH_REQUESTED, VALIDATION_ROUND_OPENED, VISIT_ANSWER_RECORDED, iso,
)
from shared.domain import Aggregate
from shared.errors import InvalidInput, InvalidTransition

DEFAULT_RULES = Rules()
# Fields a round stored by an earlier version may lack.
ROUND_DEFAULTS = {"asked": [], "set_aside": [], "reminded": False, "answer_by": None, "remedy_actions": [],
                  "opened_by": None, "tally": None, "decision": None, "expired_at": None, "held": False}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class CaseValidation(Aggregate):
    case_ref: str
    affected: list = field(default_factory=list)       # {worker_key, at, added_by}
    rounds: list = field(default_factory=list)
    unsolicited: list = field(default_factory=list)    # answers with no round open
    next_due: str | None = None                        # the open round's answer_by (the sweep's index)
    raised: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self):
        for round_ in self.rounds:
            for key, default in ROUND_DEFAULTS.items():
                round_.setdefault(key, list(default) if isinstance(default, list) else default)

    @property
    def open_round(self) -> dict | None:
        return self.rounds[-1] if self.rounds and self.rounds[-1]["status"] == "open" else None

    @property
    def affected_keys(self) -> list:
        return [a["worker_key"] for a in self.affected]

    # --- affected workers ------------------------------------------------------------
    def add_affected(self, worker_key: str, now: datetime, added_by: dict | None = None) -> bool:
        """False when already known. A worker added while a round is open is asked too."""
        if worker_key in self.affected_keys:
            return False
        self.affected.append({"worker_key": worker_key, "at": iso(now), "added_by": added_by})
        round_ = self.open_round
        if round_ is not None and worker_key not in round_["asked"]:
            round_["asked"].append(worker_key)
            self._outreach(round_, [worker_key], reminder=False)
        return True

    # --- rounds ----------------------------------------------------------------------
    def open_new_round(self, now: datetime, asked: list = (), rules: Rules = DEFAULT_RULES,
                       remedy_actions: list = (), opened_by: dict | None = None) -> dict:
        """``asked``: whom to ask (the caller samples with rules.choose). Early answers
        of affected workers are applied at once, then the round is evaluated."""
        if self.open_round is not None:
            raise InvalidTransition(f"case {self.case_ref}: round {self.open_round['round_no']} is still open")
        answer_by = iso(now + timedelta(days=rules.round_days))
        round_ = {"round_no": len(self.rounds) + 1, "status": "open", "opened_at": iso(now),
                  "completed_at": None, "answers": [], **ROUND_DEFAULTS, "asked": list(asked), "set_aside": [],
                  "answer_by": answer_by, "remedy_actions": list(remedy_actions), "opened_by": opened_by}
        self.rounds.append(round_)
        self.next_due = answer_by
        self.raised.append((VALIDATION_ROUND_OPENED, {"round_no": round_["round_no"], "opened_at": iso(now)}))
        if asked:
            self._outreach(round_, list(asked), reminder=False)
        self._apply_early_answers(round_, now, rules)
        return round_

    def rerun(self, actor: dict, reason: str, now: datetime, asked: list, rules: Rules = DEFAULT_RULES) -> dict:
        """A case worker asks again after a round expired unanswered (who and why kept)."""
        last = self.rounds[-1] if self.rounds else None
        if last is None or last["status"] != "expired":
            raise InvalidTransition(f"case {self.case_ref}: only an expired round is rerun")
        by = {"actor": {"id": actor["id"], "role": actor["role"]}, "reason": reason, "rerun_of": last["round_no"]}
        return self.open_new_round(now, asked, rules, last["remedy_actions"], by)

    def sweep(self, now: datetime, rules: Rules = DEFAULT_RULES) -> str | None:
        """The deadline timer: first lapse -> reminder, second -> expired. None: not due."""
        round_ = self.open_round
        self.next_due = round_["answer_by"] if round_ else None
        if round_ is None or round_["answer_by"] is None or round_["answer_by"] > iso(now):
            return None
        if not round_["reminded"]:
            round_["reminded"] = True
            round_["answer_by"] = self.next_due = iso(now + timedelta(days=rules.reminder_days))
            answered = {a["worker_key"] for a in round_["answers"]}
            waiting = [k for k in round_["asked"] if k not in answered]
            if waiting:
                self._outreach(round_, waiting, reminder=True)
            return "reminded"
        round_.update(status="expired", expired_at=iso(now))
        self.next_due = None
        return "expired"

    # --- answers ---------------------------------------------------------------------
    def answer(self, worker_key: str, answer: str, now: datetime, rules: Rules = DEFAULT_RULES, *,
               channel: str = "worker", recorded_by: dict | None = None, retaliation: bool = False,
               note: str | None = None, round_no: int | None = None) -> str:
        """What became of it: ``counted``, ``set_aside`` (not an affected worker),
        ``duplicate`` (answered this round already: ignored), ``kept`` (its round is not
        open yet: applied when it opens) or ``late`` (its round was decided already: kept
        on that round, counted nowhere). ``round_no``: the round the worker was asked
        about, when the door knows it (a chat answer)."""
        if answer not in VALIDATION_ANSWERS:
            raise InvalidInput({"answer": [f"must be one of {', '.join(VALIDATION_ANSWERS)}"]})
        entry = {"worker_key": worker_key, "answer": answer, "at": iso(now), "channel": channel,
                 "recorded_by": recorded_by, "retaliation": retaliation}
        if note is not None:
            entry["note"] = note
        if not self.affected and channel == "worker":
            self._adopt_reporter(worker_key, now)
        if round_no is not None and round_no <= len(self.rounds) and self.rounds[round_no - 1]["status"] != "open":
            self.rounds[round_no - 1].setdefault("late", []).append(entry)
            return "late"
        round_ = self.open_round
        if round_ is None or (round_no is not None and round_no > round_["round_no"]):
            self.unsolicited.append(dict(entry, applied_to=None, for_round=round_no))
            return "kept"
        return self._answer_round(round_, entry, now, rules)

    def record_visit_answer(self, worker_key: str, answer: str, actor: dict, now: datetime,
                            rules: Rules = DEFAULT_RULES, note: str | None = None) -> str:
        """A case worker records what an affected worker said in person: that worker's
        answer, with who recorded it; never an override of anybody's."""
        if worker_key not in self.affected_keys:
            raise InvalidInput({"worker_key": ["not an affected worker of this case"]})
        if self.open_round is None:
            raise InvalidTransition(f"case {self.case_ref}: no validation round is open")
        round_no, mark = self.open_round["round_no"], len(self.raised)
        recorded_by = {"id": actor["id"], "role": actor["role"]}
        fate = self.answer(worker_key, answer, now, rules, channel="in_person", recorded_by=recorded_by, note=note)
        if fate == "counted":       # on the case's trail, before a decision it completed
            self.raised.insert(mark, (VISIT_ANSWER_RECORDED, {"round_no": round_no, "answer": answer,
                                                              "recorded_by": recorded_by, "recorded_at": iso(now)}))
        return fate

    def _adopt_reporter(self, worker_key: str, now: datetime) -> None:
        """A case from before validation knew its affected workers: only the reporter
        can answer through the worker's own doors (receipt, the chat that reported)."""
        self.affected.append({"worker_key": worker_key, "at": iso(now), "added_by": None, "adopted": True})
        round_ = self.open_round
        if round_ is not None and not round_["asked"]:
            round_["asked"].append(worker_key)

    def _answer_round(self, round_: dict, entry: dict, now: datetime, rules: Rules) -> str:
        if any(a["worker_key"] == entry["worker_key"] for a in round_["answers"] + round_["set_aside"]):
            return "duplicate"
        if entry["worker_key"] not in self.affected_keys:
            round_["set_aside"].append(entry)
            return "set_aside"
        round_["answers"].append(entry)
        round_["held"] = round_["held"] or entry["retaliation"] or entry["answer"] == "unsafe"
        self._evaluate(round_, now, rules)
        return "counted"

    def _apply_early_answers(self, round_: dict, now: datetime, rules: Rules) -> None:
        for early in self.unsolicited:
            if round_["status"] != "open":
                return                  # decided: later early answers wait for the next round
            if early.get("for_round") not in (None, round_["round_no"]):
                continue                # asked about another round
            if early.get("applied_to") is None and early["worker_key"] in self.affected_keys:
                early["applied_to"] = round_["round_no"]
                entry = {"channel": "worker", "recorded_by": None, "retaliation": False,
                         **{k: v for k, v in early.items() if k not in ("applied_to", "for_round")}}
                self._answer_round(round_, entry, now, rules)

    def _evaluate(self, round_: dict, now: datetime, rules: Rules) -> None:
        outcome = rules.decide(round_["answers"], round_["asked"], round_["held"])
        if outcome is None:
            return
        tally = tally_of(round_["answers"])
        round_.update(status=outcome, completed_at=iso(now), tally=tally, decision={
            "outcome": outcome, "at": iso(now), "answered": len(round_["answers"]),
            "quorum": rules.quorum(len(round_["asked"])), "held": round_["held"]})
        self.next_due = None
        self.raised.append((VALIDATION_COMPLETED, {
            "round_no": round_["round_no"], "outcome": outcome, "completed_at": iso(now),
            "tally": tally, "asked": len(round_["asked"])}))

    def _outreach(self, round_: dict, keys: list, reminder: bool) -> None:
        self.raised.append((VALIDATION_OUTREACH_REQUESTED, {
            "round_no": round_["round_no"], "worker_keys": keys, "remedy_actions": round_["remedy_actions"],
            "reminder": reminder, "answer_by": round_["answer_by"]}))

    # --- views -----------------------------------------------------------------------
    def public_view(self) -> dict:
        """Rounds without worker keys: how many were asked and answered what."""
        return {"case_ref": self.case_ref, "rounds": [{
            "round_no": r["round_no"], "status": r["status"], "opened_at": r["opened_at"],
            "answer_by": r["answer_by"], "completed_at": r["completed_at"], "asked": len(r["asked"]),
            "answers": len(r["answers"]), "tally": r["tally"]} for r in self.rounds]}

    def staff_view(self) -> dict:
        """Everything: affected workers, and per round who was asked, the answers and
        the decision (keys are pseudonyms; identity stays in intake)."""
        return {k: v for k, v in self.to_dict().items() if k != "next_due"}
