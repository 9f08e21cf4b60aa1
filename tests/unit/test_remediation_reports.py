"""Scorecards and the public report: the numbers, the access rule, suppression."""
import json

import pytest

from services.remediation import reports
from shared.errors import Forbidden


def case(status, deadlines=None, rounds=None):
    return {"status": status, "deadlines": deadlines or {}, "validation_rounds": rounds or []}


def dl(started, done, met):
    return {"started": started, "due": "2026-12-31T00:00:00.000Z", "done_at": done, "met": met}


def test_scorecard_figures():
    cases = [
        case("closed", {"acknowledge": dl("2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", True),
                        "plan": dl("2026-01-02T00:00:00.000Z", "2026-01-06T00:00:00.000Z", True)},
             [{"round_no": 1, "outcome": "confirmed"}]),
        case("remediating", {"acknowledge": dl("2026-01-01T00:00:00.000Z", "2026-01-04T00:00:00.000Z", False)},
             [{"round_no": 1, "outcome": "not_resolved"}]),
        case("referred", {"acknowledge": dl("2026-01-01T00:00:00.000Z", None, None)}),
    ]
    card = reports.scorecard("SUP-1", cases)
    assert card == {
        "business_ref": "SUP-1", "cases": 3, "open_cases": 2, "closed_cases": 1,
        "median_days_to_acknowledge": 2.0, "median_days_to_plan": 4.0, "median_days_to_remediate": None,
        "deadlines_met_share": round(2 / 3, 3), "validated_first_round_share": 0.5, "reopen_rate": 0.5,
    }


def test_scorecard_of_a_business_with_no_cases_has_no_shares():
    card = reports.scorecard("SUP-0", [])
    assert card["cases"] == 0 and card["deadlines_met_share"] is None and card["reopen_rate"] is None


@pytest.mark.parametrize("actor,allowed", [
    ({"id": "cw", "role": "case_worker"}, True), ({"id": "BRAND", "role": "partner"}, True),
    ({"id": "SUP-1", "role": "supplier"}, True), ({"id": "SUP-2", "role": "supplier"}, False),
    ({"id": "AG-1", "role": "agency"}, False),
])
def test_scorecard_access(actor, allowed):
    if allowed:
        reports.check_scorecard_access(actor, "SUP-1")
    else:
        with pytest.raises(Forbidden):
            reports.check_scorecard_access(actor, "SUP-1")


def test_public_report_suppresses_small_counts_and_names_no_one():
    report = reports.public_report({
        "working_conditions": {"received": 3, "referred": 4, "closed": 2, "withdrawn": 1},
        "labour_recruitment": {"closed": 4, "validating": 1},
    }, "2026-11-24T00:00:00.000Z")
    assert report["by_work_area"]["working_conditions"] == {"open": 7, "closed": "<5", "withdrawn": "<5"}
    assert report["by_work_area"]["labour_recruitment"] == {"open": "<5", "closed": "<5", "withdrawn": "<5"}
    assert report["total_cases"] == 15
    assert reports.public_report({"living_eating_conditions": {"received": 2}}, "t")["total_cases"] == "<5"
    assert "SUP" not in json.dumps(report)
