"""Read-side rules: the engaged-business scorecard, and the public stages the report
tables count by (report_tables.py; the public report is their work area table,
report_views.public_report). Pure: nothing here touches a database.

Scorecard (DOMAIN.md "Recognising engaged businesses"): per supplier or agency, time
to acknowledge, to plan and to remediate, share of deadlines met, share of
remediations workers validated on the first round, reopen rate. Kept as running
counters (``BusinessRecord``) so that reading one costs the same at a million cases
as at ten.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from services.remediation.domain import BUSINESS, PARTNER, STAFF, days_between
from shared.contracts.common import DEADLINE_NAMES, FINAL_CASE_STATES, OPEN_CASE_STATES
from shared.domain import Aggregate
from shared.errors import Forbidden

PUBLIC_STAGES = ("open", "closed", "withdrawn")
# Public stages: every open state is "open"; a final state is its own stage.
STAGES = {**{s: "open" for s in OPEN_CASE_STATES}, **{s: s for s in FINAL_CASE_STATES}}


# Upper edges (days) of the histogram kept per deadline: medians are read off it, so a
# scorecard costs one document read however many cases a business has.
DAY_BUCKETS = (0.5, 1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60, 90, 180, 365)
DEADLINES = DEADLINE_NAMES


def check_scorecard_access(actor: dict, business_ref: str, chain=frozenset()) -> None:
    """Staff see any business's scorecard; a business only its own; a partner those
    of the businesses in its supply chain (``chain``, from the party registry)."""
    if actor["role"] in STAFF:
        return
    if actor["role"] in BUSINESS and actor["id"] == business_ref:
        return
    if actor["role"] in PARTNER and business_ref in chain:
        return
    raise Forbidden(f"{actor['id']} may not see the scorecard of {business_ref}")


def _bucket(days: float) -> str:
    return str(next((edge for edge in DAY_BUCKETS if days <= edge), "more"))


@dataclass
class BusinessRecord(Aggregate):
    """Running counters for one supplier or agency, fed by its cases' status-change
    events (at-least-once, deduplicated by event id like every aggregate), or
    rebuilt from case snapshots (``from_cases``, for backfills and bulk loads). The
    two paths count the same facts: a unit test holds them equal."""
    business_ref: str
    cases: int = 0
    open: int = 0
    closed: int = 0
    withdrawn: int = 0
    # Per deadline: ``count`` decided (met on time, or missed: counted when it passed,
    # on escalation level 1, or when done late without having escalated), ``met`` on
    # time; ``timed`` steps done, whose days make the means and medians.
    deadlines: dict = field(default_factory=lambda: {n: {"count": 0, "met": 0, "timed": 0, "days_sum": 0.0,
                                                         "histogram": {}} for n in DEADLINES})
    validated: int = 0          # cases whose first validation round completed
    first_round_confirmed: int = 0
    reopened: int = 0           # first round "not resolved" (a confirmed round closes)
    flagged: int = 0            # deadlines that reached escalation level 3 (partner consequences)
    # Suppression of voice on the record (silence.py): reports from intake, silences suspected.
    voice_suppression_reported: int = 0
    voice_suppression_suspected: int = 0
    raised: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self):
        for d in self.deadlines.values():   # records stored before escalation: every count was timed
            d.setdefault("timed", d["count"])

    def apply(self, change: dict) -> None:
        """One ``case.status_changed`` body of a case referred to this business."""
        to = change["to_status"]
        if to == "referred":
            self.cases += 1
            self.open += 1
        elif to in ("closed", "withdrawn"):
            self.open -= 1
            setattr(self, to, getattr(self, to) + 1)
        if change.get("deadline_met"):
            fact = change["deadline_met"]
            self._count_deadline(fact["name"], fact["days"], fact["met"], fact.get("escalated", False))
        if change.get("validation") and change["validation"]["round_no"] == 1:
            self._count_first_round(change["validation"]["outcome"])

    @classmethod
    def from_cases(cls, business_ref: str, cases: list[dict]) -> "BusinessRecord":
        """``cases``: the stored case documents referred to this business."""
        record = cls(business_ref)
        for case in cases:
            record.cases += 1
            if case["status"] in ("closed", "withdrawn"):
                setattr(record, case["status"], getattr(record, case["status"]) + 1)
            else:
                record.open += 1
            entries = list(case.get("deadline_history") or []) + [
                {"name": n, **e} for n, e in (case.get("deadlines") or {}).items()]
            for e in entries:
                level = e.get("level", 0)
                if level:
                    record.apply_escalation({"deadline": e["name"], "level": 1})
                if level >= 3:
                    record.apply_escalation({"deadline": e["name"], "level": 3})
                if e.get("done_at"):
                    record._count_deadline(e["name"], round(days_between(e["started"], e["done_at"]), 4), e["met"],
                                           bool(level))
            rounds = case.get("validation_rounds") or []
            if rounds and rounds[0].get("outcome"):
                record._count_first_round(rounds[0]["outcome"])
        return record

    def apply_escalation(self, data: dict) -> None:
        """One ``case.deadline_escalated`` body: the deadline is counted missed when it
        passes (level 1), not when the step is finally done; level 3 flags it."""
        if data["level"] == 1:
            self.deadlines[data["deadline"]]["count"] += 1
        elif data["level"] == 3:
            self.flagged += 1

    def apply_voice_report(self, data: dict) -> None:
        """A ``voice_suppression.reported`` naming this business as the supplier."""
        self.voice_suppression_reported += 1

    def apply_silence(self, data: dict) -> None:
        """A ``voice_suppression.suspected``: one of its sites fell silent."""
        self.voice_suppression_suspected += 1

    def _count_deadline(self, name: str, days: float, met: bool, escalated: bool = False) -> None:
        d = self.deadlines[name]
        if not escalated:               # an escalated deadline was counted (missed) when it passed
            d["count"] += 1
            d["met"] += bool(met)
        d["timed"] += 1
        d["days_sum"] = round(d["days_sum"] + days, 4)
        bucket = _bucket(days)
        d["histogram"][bucket] = d["histogram"].get(bucket, 0) + 1

    def _count_first_round(self, outcome: str) -> None:
        self.validated += 1
        if outcome == "confirmed":
            self.first_round_confirmed += 1
        else:
            self.reopened += 1

    def scorecard(self) -> dict:
        def share(part, whole):
            return round(part / whole, 3) if whole else None

        met = sum(d["met"] for d in self.deadlines.values())
        decided = sum(d["count"] for d in self.deadlines.values())
        card = {"business_ref": self.business_ref, "cases": self.cases, "open_cases": self.open,
                "closed_cases": self.closed, "withdrawn_cases": self.withdrawn}
        for name, label in (("acknowledge", "acknowledge"), ("plan", "plan"), ("remediation", "remediate")):
            d = self.deadlines[name]
            card[f"mean_days_to_{label}"] = round(d["days_sum"] / d["timed"], 2) if d["timed"] else None
            card[f"median_days_to_{label}_at_most"] = _median_bucket(d["histogram"], d["timed"])
        card.update({"deadlines_met_share": share(met, decided), "deadlines_missed": decided - met,
                     "flagged_for_consequences": self.flagged,
                     "validated_first_round_share": share(self.first_round_confirmed, self.validated),
                     "reopen_rate": share(self.reopened, self.validated),
                     "voice_suppression_reported": self.voice_suppression_reported,
                     "voice_suppression_suspected": self.voice_suppression_suspected})
        return card


def _median_bucket(histogram: dict, count: int):
    """Upper edge of the bucket holding the median (None: nothing measured)."""
    if not count:
        return None
    seen = 0
    for edge in [*map(str, DAY_BUCKETS), "more"]:
        seen += histogram.get(edge, 0)
        if seen * 2 >= count:
            return float(edge) if edge != "more" else None
    return None
