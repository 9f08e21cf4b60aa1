"""Validation's decision rules and sampling (VALIDATION_* settings). Pure: the random
choice takes the caller's ``rng``, so tests and the property test replay it.

Who is asked: every affected worker when there are at most ``sample_above``; above
that a random sample of ``max(sample_min, ceil(sample_share * n))``.

The decision, evaluated after each answer that counts (an affected worker's):
- quorum = ``max(1, ceil(quorum_share * len(asked)))`` answers are needed first;
- then ``(not_resolved + partly) / answered > reopen_share`` -> ``not_resolved``
  (remediation reopens, with the tally as its reasons);
- else ``confirmed / answered >= confirm_share`` and the round is not held ->
  ``confirmed`` (the only outcome that lets a case close);
- else wait; once everybody asked has answered, a round that neither passed nor
  reopened is ``not_resolved``.
An ``unsafe`` answer or one reporting retaliation holds the round: it never passes.
It can still reopen on the answers above; otherwise it stays open while safeguarding
acts, until its deadline expires it and a case worker reruns it.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass

from shared.contracts.common import VALIDATION_ANSWERS


@dataclass(frozen=True)
class Rules:
    sample_above: int = 10
    sample_min: int = 5
    sample_share: float = 0.5
    quorum_share: float = 0.6
    reopen_share: float = 0.2
    confirm_share: float = 0.8
    round_days: float = 14
    reminder_days: float = 7

    @classmethod
    def from_settings(cls, values: dict | None) -> "Rules":
        return cls(**(values or {}))

    def sample_size(self, n: int) -> int:
        if n <= self.sample_above:
            return n
        return min(n, max(self.sample_min, math.ceil(self.sample_share * n)))

    def choose(self, affected: list, rng: random.Random) -> list:
        """Who a new round asks (order kept as the affected list's, for stable records)."""
        size = self.sample_size(len(affected))
        if size >= len(affected):
            return list(affected)
        chosen = set(rng.sample(list(affected), size))
        return [k for k in affected if k in chosen]

    def quorum(self, asked: int) -> int:
        return max(1, math.ceil(self.quorum_share * asked))

    def decide(self, answers: list, asked: list, held: bool) -> str | None:
        """``answers``: the counted answers ({worker_key, answer}). None: keep waiting."""
        if not answers:
            return None
        tally = tally_of(answers)
        answered = len(answers)
        if answered >= self.quorum(len(asked)):
            if (tally["not_resolved"] + tally["partly"]) / answered > self.reopen_share:
                return "not_resolved"
            if not held and tally["confirmed"] / answered >= self.confirm_share:
                return "confirmed"
        if not held and set(asked) <= {a["worker_key"] for a in answers}:
            return "not_resolved"       # everybody asked answered: waiting decides nothing more
        return None                     # a held round waits for safeguarding, the deadline, a rerun


def tally_of(answers: list) -> dict:
    counts = Counter(a["answer"] for a in answers)
    return {answer: counts.get(answer, 0) for answer in VALIDATION_ANSWERS}
