"""Report tables built from events (services/remediation/report_tables.py): events in,
tables out; redelivered and reordered events change nothing; every table released
through disclosure control, where a naive threshold would leak; a refused table."""
import copy
import random
from datetime import datetime, timezone

from services.remediation import report_views
from services.remediation.report_tables import ReportCounts, ReportedCase, release, total_of
from shared.contracts.events import (
    CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, LEDGER_ENTRY_RECORDED, REPORT_COUNTS_CHANGED, make_event,
)
from tests.fakes import FakeRelay, FakeRepository, unit_of_work
from tests.unit.test_disclosure import independent_range

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
DISCLOSURE = {"threshold": 10, "width": 5}


class FakeCountsStore(FakeRepository):
    def __init__(self):
        super().__init__()
        self.tables, self.partners = None, {}

    def of_scopes(self, scopes=None):
        return [copy.deepcopy(d) for ref, d in self.docs.items() if scopes is None or ref in scopes]

    def save_tables(self, tables):
        self.tables = copy.deepcopy(tables)

    def latest_tables(self):
        return copy.deepcopy(self.tables)

    def partner_release(self, partner_ref):
        return copy.deepcopy(self.partners.get(partner_ref))

    def save_partner_release(self, partner_ref, fingerprint, tables):
        self.partners[partner_ref] = copy.deepcopy({"fingerprint": fingerprint, "tables": tables})


class Projection:
    """The two halves wired as in the service: case facts raise count changes, which
    the counts consume (the relay hands them over, as the broker would)."""

    def __init__(self):
        self.relay = FakeRelay()
        self.reported = unit_of_work(ReportedCase, relay=self.relay, consumer="remediation.report")
        self.counts = unit_of_work(ReportCounts, repo=FakeCountsStore(), consumer="remediation.count_report")
        self.delivered = []

    def feed(self, event):
        {"grievance.received": report_views.project_grievance, "case.status_changed": report_views.project_status,
         "ledger.entry_recorded": report_views.project_ledger}[event["event_type"]](self.reported, event)
        self.drain()

    def drain(self):
        while self.relay.published:
            changed = self.relay.published.pop(0)
            assert changed["event_type"] == REPORT_COUNTS_CHANGED.name
            self.delivered.append(changed)
            report_views.count(self.counts, changed)

    def total(self, scopes=None):
        return total_of(self.counts.repo.of_scopes(scopes))


def grievance(ref, area="working_conditions", indicators=(), supplier="SUP-1", month="2026-02", **optional):
    return make_event(GRIEVANCE_RECEIVED, ref, {**optional,
        "worker_key": "wk_" + "a" * 32, "channel": "sms", "language": "th", "work_area": area,
        "forced_labour_indicators": list(indicators), "severity": "normal", "retaliation": False,
        "supplier_ref": supplier, "site_ref": None, "agency_ref": None, "received_at": f"{month}-03T09:00:00.000Z"}, "c")


def status(ref, version, to, business=None, area="working_conditions", supplier="SUP-1"):
    return make_event(CASE_STATUS_CHANGED, ref, {
        "from_status": None, "to_status": to, "case_version": version, "severity": "normal", "work_area": area,
        "supplier_ref": supplier, "site_ref": None, "business_ref": business,
        "business_type": "supplier" if business else None, "actor": {"id": "cw", "role": "case_worker"},
        "changed_at": "2026-02-04T00:00:00.000Z"}, "c")


def paid(ref, line, amount, currency="THB", business="SUP-1", n=1):
    return make_event(LEDGER_ENTRY_RECORDED, line, {
        "case_ref": ref, "business_ref": business, "line_id": line, "entry_id": f"E{n}", "type": "paid",
        "kind": "back_pay", "currency": currency, "amount": amount, "owed_change": "0", "paid_change": amount,
        "actor": {"id": business, "role": "supplier"}, "recorded_at": "2026-02-20T00:00:00.000Z"}, "c")


def story():
    """Three cases: one closed with two workers repaid, one referred elsewhere after
    triage corrected its area, one withdrawn before any referral."""
    return [
        grievance("ILM-A", indicators=["withholding_of_wages", "debt_bondage"], origin_country="MM",
                  sector="fishing_and_seafood"),
        status("ILM-A", 1, "received"), status("ILM-A", 3, "referred", "SUP-1"),
        paid("ILM-A", "L1", "1500.00"), paid("ILM-A", "L2", "700.50"), paid("ILM-A", "L2", "-0.50", n=2),
        status("ILM-A", 9, "closed", "SUP-1"),
        grievance("ILM-B", area="labour_recruitment", month="2026-03"), status("ILM-B", 1, "received"),
        status("ILM-B", 2, "triaged", area="living_eating_conditions"),
        status("ILM-B", 3, "referred", "AGY-9", area="living_eating_conditions"),
        grievance("ILM-C", supplier=None), status("ILM-C", 1, "received", supplier=None),
        status("ILM-C", 2, "withdrawn", supplier=None),
    ]


def test_events_in_tables_out():
    projection = Projection()
    for event in story():
        projection.feed(event)
    total = projection.total()
    assert total.cells["work_area"] == {"working_conditions": {"closed": 1, "withdrawn": 1},
                                        "living_eating_conditions": {"open": 1}}
    assert total.cells["indicator"] == {"withholding_of_wages": {"closed": 1}, "debt_bondage": {"closed": 1},
                                        "none": {"open": 1, "withdrawn": 1}}
    assert total.cells["month"] == {"2026-02": {"closed": 1, "withdrawn": 1}, "2026-03": {"open": 1}}
    assert total.cells["remedy_paid"] == {"THB": {"workers": 2}} and total.paid == {"THB": "2200.00"}
    assert total.cells["origin_country"] == {"MM": {"closed": 1}, "unknown": {"open": 1, "withdrawn": 1}}
    assert total.cells["sector"] == {"fishing_and_seafood": {"closed": 1}, "unknown": {"open": 1, "withdrawn": 1}}
    # Per scope: the business a case is referred to, else its supplier, else "*".
    assert projection.total(["AGY-9"]).cells["work_area"] == {"living_eating_conditions": {"open": 1}}
    assert projection.total(["SUP-1"]).cells["month"] == {"2026-02": {"closed": 1}}
    assert projection.total(["*"]).cells["work_area"] == {"working_conditions": {"withdrawn": 1}}
    assert "SUP-1" in projection.counts.repo.docs and "AGY-9" in projection.counts.repo.docs
    # Nothing of a case or a worker travels in the count changes: counts and money only.
    assert all(set(e["data"]) == {"scope", "cells", "paid"} for e in projection.delivered)


def test_redelivered_and_reordered_events_change_nothing():
    once = Projection()
    for event in story():
        once.feed(event)
    events = story()
    rng = random.Random(3)
    twice = Projection()
    shuffled = events + events           # every event twice, in any order
    rng.shuffle(shuffled)
    for event in shuffled:
        twice.feed(event)
    for changed in list(twice.delivered):   # the count changes redelivered too
        report_views.count(twice.counts, changed)
    assert twice.total().to_dict() == once.total().to_dict()


def test_a_case_referred_elsewhere_leaves_its_first_scope():
    projection = Projection()
    for event in (grievance("ILM-D"), status("ILM-D", 1, "received"), status("ILM-D", 3, "referred", "AGY-2")):
        projection.feed(event)
    assert projection.total(["SUP-1"]).cells == {} and projection.total(["AGY-2"]).cells["work_area"]


def counts_with(table: dict, name="work_area") -> ReportCounts:
    return ReportCounts("sum", cells={name: table})


def test_a_small_cell_a_naive_threshold_gives_away_is_protected():
    # One small cell alone in its row and column: a naive release (hide it, publish every
    # total) gives the 3 back from the row total and from the column total.
    table = {"labour_recruitment": {"open": 3, "closed": 40, "withdrawn": 25},
             "working_conditions": {"open": 30, "closed": 22, "withdrawn": 18},
             "employer_employee_relations": {"open": 27, "closed": 35, "withdrawn": 12},
             "living_eating_conditions": {"open": 14, "closed": 16, "withdrawn": 11}}
    row_total = sum(table["labour_recruitment"].values())
    assert row_total - 40 - 25 == 3     # what the naive release lets a reader compute
    released = release(counts_with(table), computed_at="t", **DISCLOSURE)["tables"]["work_area"]
    assert released["released"] and released["rows"]["labour_recruitment"]["open"] is None
    assert released["suppressed"] >= 2     # the complement that blocks the subtraction
    from services.remediation.disclosure import protect
    rows, cols = list(table), ["open", "closed", "withdrawn"]
    lo, hi = independent_range(protect(table, rows, cols, 10, 5), rows, cols, ("labour_recruitment", "open"))
    assert hi - lo >= 5                    # rebuilt with scipy from the published figures alone


def test_a_refused_table_is_reported_with_its_reason_and_not_published():
    counts = ReportCounts("sum", cells={
        "work_area": {"working_conditions": {"open": 40, "closed": 30}, "labour_recruitment": {"open": 20}},
        "remedy_paid": {"THB": {"workers": 4}}}, paid={"THB": "900.00"})
    tables = release(counts, computed_at="t", **DISCLOSURE)["tables"]
    assert tables["work_area"]["released"] and tables["work_area"]["total"] == 90
    refused = tables["remedy_paid"]
    assert refused == {"rows_are": "currency", "released": False, "reason": refused["reason"]}
    assert "grand total 4 is below the threshold 10" in refused["reason"]
    assert "900" not in str(refused)


def test_an_amount_is_shown_only_beside_its_count_of_workers():
    counts = ReportCounts("sum", cells={"remedy_paid": {"THB": {"workers": 30}, "MMK": {"workers": 2},
                                                        "USD": {"workers": 12}}},
                          paid={"THB": "90000.00", "MMK": "150000", "USD": "4000.00"})
    table = release(counts, computed_at="t", **DISCLOSURE)["tables"]["remedy_paid"]
    assert table["rows"]["MMK"]["workers"] is None and table["amounts_paid"]["MMK"] is None
    hidden = [c for c in ("THB", "USD") if table["rows"][c]["workers"] is None]
    assert hidden and all(table["amounts_paid"][c] is None for c in hidden)   # the complement hides its amount too
    assert table["total"] == 44


def test_public_tables_are_read_from_the_stored_release_and_partners_see_their_chain():
    projection = Projection()
    for n in range(12):
        for event in (grievance(f"ILM-P{n}"), status(f"ILM-P{n}", 1, "received"),
                      status(f"ILM-P{n}", 3, "referred", "SUP-1" if n < 11 else "SUP-2")):
            projection.feed(event)
    counts = projection.counts
    first = report_views.public_tables(counts, NOW, DISCLOSURE)
    assert first["tables"]["work_area"]["total"] == 12 and counts.repo.tables == first
    counts.repo.docs.clear()               # a read never adds up the counts again
    assert report_views.public_tables(counts, NOW, DISCLOSURE) == first

    class Chain:
        kind = "partner"

        def chain_refs(self):
            return frozenset({"SUP-1"})

    class Parties:
        def get(self, ref):
            return Chain() if ref == "BRAND-1" else None

    projection2 = Projection()
    for n in range(12):
        for event in (grievance(f"ILM-P{n}"), status(f"ILM-P{n}", 1, "received"),
                      status(f"ILM-P{n}", 3, "referred", "SUP-1" if n < 11 else "SUP-2")):
            projection2.feed(event)
    view = report_views.partner_tables(projection2.counts, Parties(), {"partner_ref": None},
                                       {"id": "BRAND-1", "role": "partner"}, NOW, DISCLOSURE)
    assert view["partner_ref"] == "BRAND-1" and view["tables"]["work_area"]["total"] == 11
    assert "SUP-1" not in str(view["tables"])     # figures, never a business's name
    import pytest
    from shared.errors import Forbidden
    with pytest.raises(Forbidden):
        report_views.partner_tables(projection2.counts, Parties(), {"partner_ref": "BRAND-2"},
                                    {"id": "BRAND-1", "role": "partner"}, NOW, DISCLOSURE)
    with pytest.raises(Forbidden):
        report_views.partner_tables(projection2.counts, Parties(), {"partner_ref": "BRAND-1"},
                                    {"id": "SUP-1", "role": "supplier"}, NOW, DISCLOSURE)
    staff = report_views.partner_tables(projection2.counts, Parties(), {"partner_ref": "BRAND-1"},
                                        {"id": "cw", "role": "case_worker"}, NOW, DISCLOSURE)
    assert staff["tables"] == view["tables"]
    # Released once per state of the chain's counts: read back until they change.
    later = datetime(2026, 3, 2, tzinfo=timezone.utc)
    brand = {"id": "BRAND-1", "role": "partner"}
    assert report_views.partner_tables(projection2.counts, Parties(), {}, brand, later, DISCLOSURE) == view
    projection2.feed(grievance("ILM-P99"))
    changed = report_views.partner_tables(projection2.counts, Parties(), {}, brand, later, DISCLOSURE)
    assert changed["computed_at"] != view["computed_at"] and changed["tables"]["work_area"]["total"] == 12


def test_intake_carries_the_optional_origin_country_and_sector_on_grievance_received():
    import pytest
    from services.intake.domain import Grievance
    from shared.contracts.common import load
    from shared.contracts.grievance import GrievanceReport
    from shared.errors import InvalidInput
    body = {"channel": "hotline", "language": "my", "work_area": "labour_recruitment", "text": "fees"}
    with pytest.raises(InvalidInput) as bad:
        load(GrievanceReport, {**body, "origin_country": "Myanmar", "sector": "mining_and_such"})
    assert set(bad.value.errors) == {"origin_country", "sector"}
    report = load(GrievanceReport, {**body, "origin_country": "MM", "sector": "fishing_and_seafood"})
    g = Grievance.receive(report, "ILM-O1", "wk_" + "b" * 32, "v1:t", None, NOW)
    event = make_event(GRIEVANCE_RECEIVED, "ILM-O1", g.raised[0][1], "c")
    assert (event["data"]["origin_country"], event["data"]["sector"]) == ("MM", "fishing_and_seafood")
    plain = Grievance.receive(load(GrievanceReport, body), "ILM-O2", "wk_" + "b" * 32, "v1:t", None, NOW)
    assert "origin_country" not in plain.raised[0][1]      # older consumers see the event they knew
    assert make_event(GRIEVANCE_RECEIVED, "ILM-O2", plain.raised[0][1], "c")["data"]["sector"] is None


def test_the_public_report_is_the_released_work_area_table_served_from_the_last_release():
    counts = unit_of_work(ReportCounts, repo=FakeCountsStore())
    counts.create("SUP-1", ReportCounts("SUP-1", cells={"work_area": {"working_conditions": {"open": 17, "closed": 2}}}))
    report = report_views.refresh_public_report(counts, NOW, DISCLOSURE)
    # The 2 closed cases are hidden, and the 17 open with them: the row total says 19.
    assert report["by_work_area"]["working_conditions"] == {"open": None, "closed": None, "withdrawn": 0, "total": 19}
    counts.repo.docs.clear()                 # served from the release, not added up again
    assert report_views.public_report(counts, NOW, DISCLOSURE) == report
    counts.create("SUP-2", ReportCounts("SUP-2", cells={"work_area": {"labour_recruitment": {"open": 3}}}))
    import pytest
    from shared.errors import InvalidTransition
    with pytest.raises(InvalidTransition, match="below the threshold 10"):    # 3 cases in all now
        report_views.refresh_public_report(counts, NOW, DISCLOSURE)
