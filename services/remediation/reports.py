"""Read-side rules: the engaged-business scorecard and the anonymised public report.
Pure: callers pass the case summaries or counts; nothing here touches a database.

Scorecard (DOMAIN.md "Recognising engaged businesses"): per supplier or agency, time
to acknowledge, to plan and to remediate, share of deadlines met, share of
remediations workers validated on the first round, reopen rate.

Public report (DOMAIN.md "Do no harm"): counts by work area and stage only, no
business named, and any count below ``SUPPRESS_BELOW`` shown as ``"<5"`` so that no
worker or site can be singled out.
"""
from __future__ import annotations

from datetime import datetime
from statistics import median

from shared.errors import Forbidden

SUPPRESS_BELOW = 5
STAGES = {
    "received": "open", "triaged": "open", "referred": "open", "acknowledged": "open",
    "plan_submitted": "open", "remediating": "open", "remediation_reported": "open",
    "validating": "open", "closed": "closed", "withdrawn": "withdrawn",
}


def _days(start: str, end: str) -> float:
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds() / 86400


def check_scorecard_access(actor: dict, business_ref: str) -> None:
    """Staff and partners see any business's scorecard; a business only its own."""
    if actor["role"] in ("supplier", "agency") and actor["id"] != business_ref:
        raise Forbidden(f"{actor['id']} may not see the scorecard of {business_ref}")


def scorecard(business_ref: str, cases: list[dict]) -> dict:
    """``cases``: dicts with ``status``, ``deadlines`` and ``validation_rounds``."""
    durations = {name: [] for name in ("acknowledge", "plan", "remediation")}
    met = decided = validated_cases = first_round_ok = reopened = 0
    for case in cases:
        for name, entry in (case.get("deadlines") or {}).items():
            if entry.get("done_at") and entry.get("started"):
                durations[name].append(_days(entry["started"], entry["done_at"]))
            if entry.get("met") is not None:
                decided += 1
                met += bool(entry["met"])
        outcomes = [r["outcome"] for r in case.get("validation_rounds") or [] if r.get("outcome")]
        if outcomes:
            validated_cases += 1
            first_round_ok += outcomes[0] == "confirmed"
            reopened += "not_resolved" in outcomes

    def share(part, whole):
        return round(part / whole, 3) if whole else None

    return {
        "business_ref": business_ref,
        "cases": len(cases),
        "open_cases": sum(1 for c in cases if STAGES.get(c["status"]) == "open"),
        "closed_cases": sum(1 for c in cases if c["status"] == "closed"),
        "median_days_to_acknowledge": _median(durations["acknowledge"]),
        "median_days_to_plan": _median(durations["plan"]),
        "median_days_to_remediate": _median(durations["remediation"]),
        "deadlines_met_share": share(met, decided),
        "validated_first_round_share": share(first_round_ok, validated_cases),
        "reopen_rate": share(reopened, validated_cases),
    }


def _median(values: list[float]):
    return round(median(values), 2) if values else None


def suppress(count: int):
    return count if count >= SUPPRESS_BELOW else f"<{SUPPRESS_BELOW}"


def public_report(counts_by_area: dict[str, dict[str, int]], computed_at: str) -> dict:
    """``counts_by_area``: work area -> status -> number of cases."""
    by_area = {}
    for area, by_status in sorted(counts_by_area.items()):
        stages = {"open": 0, "closed": 0, "withdrawn": 0}
        for status, n in by_status.items():
            stages[STAGES[status]] += n
        by_area[area] = {stage: suppress(n) for stage, n in stages.items()}
    total = sum(sum(v.values()) for v in counts_by_area.values())
    return {"computed_at": computed_at, "total_cases": suppress(total), "by_work_area": by_area,
            "suppressed_below": SUPPRESS_BELOW}
