"""Business engagement on a hand-computed scenario (services/remediation/engagement.py):
four cases of one supplier walked by the real domain, the scorecard's figures worked
out by hand, open cases by age, and the comparison across a partner's chain."""
from datetime import datetime, timedelta, timezone

import pytest

from services.remediation import engagement, handlers
from services.remediation.domain import Case
from services.remediation.reports import BusinessRecord
from shared.contracts.events import CASE_DEADLINE_ESCALATED, CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, make_event
from shared.errors import Forbidden
from tests.fakes import unit_of_work
from tests.unit.test_report_tables import Projection

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
DEADLINES = {"critical": (2, 7, 30), "high": (5, 14, 45), "normal": (7, 21, 60)}
STAFF = {"id": "cw", "role": "case_worker"}
SUP = {"id": "SUP-1", "role": "supplier"}
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def opened(ref, at):
    case = Case.open(ref, {"worker_key": "wk_" + "0" * 32, "channel": "sms", "language": "th",
                           "work_area": "working_conditions", "forced_labour_indicators": [], "severity": "normal",
                           "retaliation": False, "supplier_ref": "SUP-1", "site_ref": None, "agency_ref": None}, at)
    case.triage(STAFF, at)
    case.refer(STAFF, at, "SUP-1", "supplier", DEADLINES)
    return case


def remedied(case, at, plan_days, fix_days, outcome):
    case.submit_plan(SUP, at + plan_days * DAY, [{"type": "back_pay"}])
    accepted = at + plan_days * DAY + HOUR
    case.accept_plan(STAFF, accepted, DEADLINES)
    case.report_remediation(SUP, accepted + fix_days * DAY, "paid", ["receipt"])
    case.apply_validation_outcome(1, outcome, accepted + fix_days * DAY + HOUR, DEADLINES)


def scenario():
    a = opened("ILM-A", NOW - 100 * DAY)            # acknowledged in 2 days, plan 10, fix 20: closed
    a.acknowledge(SUP, NOW - 98 * DAY, DEADLINES)
    remedied(a, NOW - 98 * DAY, 10, 20, "confirmed")
    b = opened("ILM-B", NOW - 40 * DAY)             # missed the 7-day acknowledgement, done on day 9
    b.escalate(NOW - 32 * DAY, (0, 72, 168))
    b.acknowledge(SUP, NOW - 31 * DAY, DEADLINES)
    c = opened("ILM-C", NOW - 10 * DAY)             # 1, 3, 5 days; the workers say it is not fixed
    c.acknowledge(SUP, NOW - 9 * DAY, DEADLINES)
    remedied(c, NOW - 9 * DAY, 3, 5, "not_resolved")
    d = opened("ILM-D", NOW - 2 * DAY)              # referred, nothing yet
    return [a, b, c, d]


def test_engagement_figures_worked_out_by_hand():
    records, projection = unit_of_work(BusinessRecord), Projection()
    for case in scenario():
        projection.feed(make_event(GRIEVANCE_RECEIVED, case.case_ref, {
            "worker_key": case.worker_key, "channel": "sms", "language": "th", "work_area": case.work_area,
            "forced_labour_indicators": [], "severity": "normal", "retaliation": False, "supplier_ref": "SUP-1",
            "site_ref": None, "agency_ref": None, "received_at": case.opened_at}, "c"))
        for contract, data in case.raised:
            event = make_event(contract, case.case_ref, data, "c")
            apply = BusinessRecord.apply_escalation if contract is CASE_DEADLINE_ESCALATED else BusinessRecord.apply
            handlers.project_business_record(records, event, apply)
            if contract is CASE_STATUS_CHANGED:
                projection.feed(event)
    counts = projection.counts
    from services.remediation.report_tables import release
    assert "open_by_day" in projection.total().cells and "open_by_day" not in str(release(projection.total(), 10, 5, "t"))
    card = engagement.supplier_scorecard(records, counts, {"business_ref": "SUP-1"}, STAFF, NOW)
    assert card == {
        "business_ref": "SUP-1", "cases": 4, "open_cases": 3, "closed_cases": 1, "withdrawn_cases": 0,
        "mean_days_to_acknowledge": 4.0,                 # (2 + 9 + 1) / 3
        "median_days_to_acknowledge_at_most": 2.0,       # 1, 2, 9
        "mean_days_to_plan": 6.5, "median_days_to_plan_at_most": 3.0,            # 10, 3
        "mean_days_to_remediate": 12.5, "median_days_to_remediate_at_most": 5.0,  # 20, 5
        "deadlines_met_share": 0.857, "deadlines_missed": 1,                     # 6 of 7 decided
        "flagged_for_consequences": 0,
        "validated_first_round_share": 0.5, "reopen_rate": 0.5,                  # A confirmed, C reopened
        "voice_suppression_reported": 0, "voice_suppression_suspected": 0,
        "open_cases_by_age": {"up_to_7_days": 1, "8_to_30_days": 1, "31_to_90_days": 1, "over_90_days": 0},
    }

    class Brand:
        kind = "partner"
        chain = {"suppliers": ["SUP-1", "SUP-2"], "sites": ["SITE-1"], "agencies": ["AGY-1"]}

    class Parties:
        def get(self, ref):
            return Brand() if ref == "BRAND-1" else None

    compared = engagement.chain_scorecards(records, counts, Parties(), {"partner_ref": None},
                                           {"id": "BRAND-1", "role": "partner"}, NOW)
    assert [(c["business_ref"], c["business_type"]) for c in compared["items"]] == [
        ("AGY-1", "agency"), ("SUP-1", "supplier"), ("SUP-2", "supplier")]     # sites are not scored
    assert compared["items"][1] == {"business_type": "supplier", **card}
    assert compared["items"][2]["cases"] == 0 and compared["items"][2]["deadlines_met_share"] is None
    with pytest.raises(Forbidden):
        engagement.chain_scorecards(records, counts, Parties(), {"partner_ref": "BRAND-1"}, SUP, NOW)
