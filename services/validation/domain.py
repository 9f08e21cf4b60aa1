"""Worker validation of remediation. Pure: no I/O, callers pass ``now``.

A round opens each time a business reports remediation done. Affected workers
answer ``confirmed`` or ``not_resolved``; the round completes when ``quorum``
distinct workers have answered, and any ``not_resolved`` makes the outcome
``not_resolved`` (one worker saying the fix is not real is enough to reopen).
Only a ``confirmed`` outcome lets remediation close the case.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.contracts.common import VALIDATION_ANSWERS
from shared.domain import Aggregate
from shared.contracts.events import VALIDATION_COMPLETED, VALIDATION_ROUND_OPENED, iso
from shared.errors import InvalidInput, InvalidTransition

DEFAULT_QUORUM = 1


@dataclass
class CaseValidation(Aggregate):
    case_ref: str
    rounds: list = field(default_factory=list)
    unsolicited: list = field(default_factory=list)   # answers with no round open
    raised: list = field(default_factory=list, repr=False, compare=False)

    @property
    def open_round(self) -> dict | None:
        return self.rounds[-1] if self.rounds and self.rounds[-1]["status"] == "open" else None

    def open_new_round(self, now: datetime, quorum: int = DEFAULT_QUORUM) -> dict:
        if self.open_round is not None:
            raise InvalidTransition(f"case {self.case_ref}: round {self.open_round['round_no']} is still open")
        round_ = {"round_no": len(self.rounds) + 1, "status": "open", "quorum": quorum,
                  "opened_at": iso(now), "completed_at": None, "answers": [], "held": False}
        self.rounds.append(round_)
        self.raised.append((VALIDATION_ROUND_OPENED, {"round_no": round_["round_no"], "opened_at": iso(now)}))
        return round_

    def record_answer(self, worker_key: str, answer: str, now: datetime, retaliation: bool = False) -> dict:
        """``retaliation``: the answer reports reprisal (intake's flag). The round is then
        held: it never completes as ``confirmed`` (threats are not a remedy confirmed),
        so the case stays open; a ``not_resolved`` outcome still reopens it."""
        if answer not in VALIDATION_ANSWERS:
            raise InvalidInput({"answer": [f"must be one of {', '.join(VALIDATION_ANSWERS)}"]})
        round_ = self.open_round
        if round_ is None:
            raise InvalidTransition(f"case {self.case_ref}: no validation round is open")
        if any(a["worker_key"] == worker_key for a in round_["answers"]):
            raise InvalidTransition(f"case {self.case_ref}: this worker already answered round {round_['round_no']}")
        round_["answers"].append({"worker_key": worker_key, "answer": answer, "at": iso(now),
                                  "retaliation": retaliation})
        round_["held"] = round_.get("held", False) or retaliation
        if len(round_["answers"]) >= round_["quorum"]:
            self._complete(round_, now)
        return round_

    def record_unsolicited(self, worker_key: str, answer: str, now: datetime) -> None:
        self.unsolicited.append({"worker_key": worker_key, "answer": answer, "at": iso(now)})

    def _complete(self, round_: dict, now: datetime) -> None:
        answers = {a["answer"] for a in round_["answers"]}
        outcome = "not_resolved" if "not_resolved" in answers else "confirmed"
        if outcome == "confirmed" and round_.get("held"):
            return                      # held by a retaliation alert: stays open
        round_["status"] = outcome
        round_["completed_at"] = iso(now)
        self.raised.append((VALIDATION_COMPLETED, {"round_no": round_["round_no"],
                                                   "outcome": round_["status"], "completed_at": iso(now)}))

    def public_view(self) -> dict:
        """Rounds without worker keys: how many answered what."""
        return {"case_ref": self.case_ref, "rounds": [
            {k: v for k, v in r.items() if k != "answers"} | {"answers": len(r["answers"])}
            for r in self.rounds]}

