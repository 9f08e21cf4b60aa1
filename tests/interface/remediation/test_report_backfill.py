"""The report tables' backfill (services/remediation/report_backfill.py) on the embedded
Mongo server: cases stored without their report documents get them, their counts
arrive through report.counts_changed like any other, equal to what the events would
have built, once, however often the backfill runs."""
from datetime import datetime, timedelta, timezone

import pytest

from services.remediation import report_backfill, report_views
from services.remediation.domain import Case
from services.remediation.report_tables import ReportCounts, ReportedCase, total_of
from services.remediation.store import CaseStore, LedgerStore, ReportCountsStore, ReportedCaseStore
from shared.contracts.events import CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, make_event
from shared.repository import database
from tests.fakes import FakeRelay, unit_of_work
from tests.unit.test_remediation_registry import GRIEVANCE

NOW = datetime(2026, 10, 30, 9, 0, tzinfo=timezone.utc)
DEADLINES = {"critical": (1, 2, 7), "high": (2, 5, 14), "normal": (3, 9, 30)}
STAFF = {"id": "anna", "role": "case_worker"}
WORKER = {"id": "wk", "role": "worker", "case_ref": None}


@pytest.fixture
def db(mongo):
    db = database("report_backfill_test")
    for name in db.list_collection_names():
        db[name].drop()
    return db


def stored_cases(db) -> list[Case]:
    """Cases as remediation stores them, walked through the real domain (no report docs)."""
    store = CaseStore(db)
    cases = []
    for n in range(6):
        case = Case.open(f"ILM-BF{n:03d}", {**GRIEVANCE, "forced_labour_indicators": ["deception"] if n % 2 else [],
                                            "supplier_ref": f"SUP-{n % 2}"}, NOW + timedelta(days=n * 2))
        if n >= 2:
            case.triage(STAFF, NOW, work_area="labour_recruitment" if n == 3 else None)
            case.refer(STAFF, NOW, f"AGY-{n % 3}", "agency", DEADLINES)
        if n == 5:
            case.withdraw({**WORKER, "case_ref": case.case_ref}, NOW, "found another job")
        store.insert(case.to_dict() | {"_id": case.case_ref})
        cases.append(case)
    LedgerStore(db).insert({"_id": "line-1", "case_ref": "ILM-BF002", "currency": "THB", "paid": "1500.00",
                            "opened_at": "2026-10-30T09:00:00.000Z"})
    return cases


def by_events(cases: list[Case]) -> ReportCounts:
    """The counts the live projection builds from each case's events (no ledger)."""
    counts: dict[str, ReportCounts] = {}
    for case in cases:
        reported = ReportedCase(case.case_ref)
        reported.apply_grievance({**GRIEVANCE, "forced_labour_indicators": case.forced_labour_indicators,
                                  "received_at": case.opened_at, "supplier_ref": case.supplier_ref,
                                  "work_area": case.audit[0]["detail"].get("work_area", GRIEVANCE["work_area"])})
        reported.apply_status({"case_version": case.version, "to_status": case.status, "work_area": case.work_area,
                               "business_ref": case.business_ref, "supplier_ref": case.supplier_ref})
        for _, data in reported.raised:
            counts.setdefault(data["scope"], ReportCounts(data["scope"])).apply(data)
    return total_of([c.to_dict() for c in counts.values()])


def test_stored_cases_get_their_report_counts_once_equal_to_what_events_build(db):
    cases = stored_cases(db)
    relay = FakeRelay()
    reported = unit_of_work(ReportedCase, repo=ReportedCaseStore(db), relay=relay)
    assert report_backfill.backfill(CaseStore(db), reported, LedgerStore(db), batch=4) == {"made": 6, "skipped": 0}
    counts = unit_of_work(ReportCounts, repo=ReportCountsStore(db))
    for event in relay.published:
        report_views.count(counts, event)
    total = total_of(ReportCountsStore(db).of_scopes())
    expected = by_events(cases)
    assert total.cells["work_area"] == expected.cells["work_area"]
    assert total.cells["indicator"] == expected.cells["indicator"] == {"deception": {"open": 2, "withdrawn": 1},
                                                                       "none": {"open": 3}}
    assert total.cells["month"] == expected.cells["month"]
    assert total.cells["remedy_paid"] == {"THB": {"workers": 1}} and total.paid == {"THB": "1500.00"}
    assert sum(n for row in total.cells["origin_country"].values() for n in row.values()) == 6   # all "unknown"

    again = report_backfill.backfill(CaseStore(db), reported, LedgerStore(db))
    assert again == {"made": 0, "skipped": 6} and len(relay.published) == 6


def test_a_case_whose_events_came_first_is_skipped_and_later_events_apply_on_the_backfilled_one(db):
    cases = stored_cases(db)
    relay = FakeRelay()
    reported = unit_of_work(ReportedCase, repo=ReportedCaseStore(db), relay=relay)
    first = cases[0]
    report_views.project_grievance(reported, make_event(GRIEVANCE_RECEIVED, first.case_ref, {
        **GRIEVANCE, "received_at": first.opened_at}, "c"))
    assert report_backfill.backfill(CaseStore(db), reported, LedgerStore(db)) == {"made": 5, "skipped": 1}
    # A status change after the backfill moves the backfilled case's count, once.
    later = cases[2]
    before = len(relay.published)
    report_views.project_status(reported, make_event(CASE_STATUS_CHANGED, later.case_ref, {
        "from_status": later.status, "to_status": "withdrawn", "case_version": later.version + 1,
        "severity": "normal", "work_area": later.work_area, "supplier_ref": later.supplier_ref, "site_ref": None,
        "business_ref": later.business_ref, "business_type": "agency", "actor": {"id": "wk", "role": "worker"},
        "changed_at": "2026-10-31T09:00:00.000Z"}, "c"))
    (moved,) = relay.published[before:]
    assert moved["data"]["cells"]["work_area"][later.work_area] == {"open": -1, "withdrawn": 1}


def test_counts_by_scope_is_the_bulk_shortcut_of_the_same_counts(db):
    cases = stored_cases(db)
    docs = [c.to_dict() | {"_id": c.case_ref} for c in cases]
    shortcut = total_of([c.to_dict() for c in report_backfill.counts_by_scope((d, 1) for d in docs).values()])
    assert shortcut.cells["work_area"] == by_events(cases).cells["work_area"]
    tripled = total_of([c.to_dict() for c in report_backfill.counts_by_scope((d, 3) for d in docs).values()])
    assert tripled.cells["work_area"] == {area: {stage: 3 * n for stage, n in stages.items()}
                                          for area, stages in shortcut.cells["work_area"].items()}
