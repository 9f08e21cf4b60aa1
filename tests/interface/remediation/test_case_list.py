"""The shift's case list on the embedded Mongo server (the queries are what is under
test, so a real store answers them): filters, the scope they cannot widen, the
deadlines board, tags, saved views with their counts, bulk actions and export."""
from datetime import datetime, timedelta, timezone

import pytest

from services.remediation import case_list, escalation, saved_views
from services.remediation.access_log import AccessEntry
from services.remediation.domain import Case
from services.remediation.parties import Party
from services.remediation.saved_views import SavedView
from services.remediation.store import AccessLogStore, CaseStore, SavedViewStore
from shared.contracts import rpc as contract
from shared.contracts.common import load
from shared.contracts.events import iso
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.repository import database
from tests.fakes import FakePartyStore, unit_of_work
from tests.unit.test_remediation_registry import GRIEVANCE

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
DEADLINES = {"critical": (1, 2, 7), "high": (2, 5, 14), "normal": (3, 9, 30)}
ANNA = {"id": "anna", "role": "case_worker"}
BEN = {"id": "ben", "role": "case_worker"}
LEAD = {"id": "lee", "role": "safeguarding_lead"}
SUPPLIER = {"id": "SUP-1", "role": "supplier"}
BRAND = {"id": "BRAND-1", "role": "partner"}

# ref: (severity, work_area, channel, language, business, referred days before NOW, assignee)
CASES = {
    "ILM-A0001": ("critical", "working_conditions", "line", "my", "SUP-1", 3, "anna"),
    "ILM-A0002": ("normal", "working_conditions", "hotline", "th", "SUP-1", 1, None),
    "ILM-B0003": ("high", "labour_recruitment", "sms", "km", "SUP-2", None, "ben"),
    "ILM-B0004": ("normal", "living_eating_conditions", "line", "my", None, None, None),
}


@pytest.fixture
def db(mongo, request):
    db = database(f"caselist_{request.node.name[:40]}")
    for name in db.list_collection_names():
        db[name].drop()
    return db


@pytest.fixture
def cases(db):
    store = CaseStore(db)
    store.ensure_indexes()
    u = unit_of_work(Case, repo=store, consumer="remediation.test")
    for ref, (severity, area, channel, language, business, referred, assignee) in CASES.items():
        opened = NOW - timedelta(days=5)
        case = Case.open(ref, {**GRIEVANCE, "severity": severity, "work_area": area, "channel": channel,
                               "language": language}, opened)
        if business and referred is None:       # linked, not referred: no deadline runs
            case.business_ref = business
        elif business:
            case.triage(ANNA, opened)
            case.refer(ANNA, NOW - timedelta(days=referred), business, "supplier", DEADLINES)
        case.assignee = assignee
        u.create(ref, case)
    return u


@pytest.fixture
def parties():
    u = unit_of_work(Party, repo=FakePartyStore(), consumer="remediation.test")
    brand = Party.register({"ref": "BRAND-1", "kind": "partner", "name": "Brand"}, ANNA, NOW)
    brand.chain = {"suppliers": ["SUP-2"], "sites": [], "agencies": []}
    u.create("BRAND-1", brand)
    return u


def refs(cases, parties, actor=ANNA, now=NOW, chain=frozenset(), **filters):
    p = load(contract.ListCases, {"limit": 200, **filters})
    return [c["case_ref"] for c in case_list.list_cases(cases, parties, p, actor, chain, now)["items"]]


def test_each_filter_narrows_the_staff_list(cases, parties):
    assert refs(cases, parties) == sorted(CASES)
    assert refs(cases, parties, severity="normal") == ["ILM-A0002", "ILM-B0004"]
    assert refs(cases, parties, work_area="working_conditions", channel="line") == ["ILM-A0001"]
    assert refs(cases, parties, language="my") == ["ILM-A0001", "ILM-B0004"]
    assert refs(cases, parties, assignee="ben") == ["ILM-B0003"]
    assert refs(cases, parties, unassigned="true") == ["ILM-A0002", "ILM-B0004"]
    assert refs(cases, parties, business_ref="SUP-1", status="referred") == ["ILM-A0001", "ILM-A0002"]
    assert refs(cases, parties, ref="ilm-b") == ["ILM-B0003", "ILM-B0004"]      # the beginning of a reference
    assert refs(cases, parties, ref="ILM-A0002") == ["ILM-A0002"]


def test_overdue_and_due_soon_read_the_earliest_deadline_not_met(cases, parties):
    # ILM-A0001 (critical) was referred 3 days ago: 1 day to acknowledge, overdue.
    # ILM-A0002 (normal) 1 day ago: due in 2 days.
    assert refs(cases, parties, overdue="true") == ["ILM-A0001"]
    assert refs(cases, parties, due_within_hours=47) == ["ILM-A0001"]
    assert refs(cases, parties, due_within_hours=49) == ["ILM-A0001", "ILM-A0002"]
    cases.change("ILM-A0001", lambda c: c.acknowledge(SUPPLIER, NOW, DEADLINES))      # met: the plan's is next
    assert refs(cases, parties, overdue="true") == []
    assert cases.repo.load("ILM-A0001")["next_due_at"] == cases.get("ILM-A0001").deadlines["plan"]["due"]


def test_changed_since_and_a_partners_chain(cases, parties):
    cases.change("ILM-B0004", lambda c: c.triage(ANNA, NOW + timedelta(hours=1)))
    assert refs(cases, parties, changed_since=(NOW + timedelta(minutes=30)).isoformat()) == ["ILM-B0004"]
    assert refs(cases, parties, partner_ref="BRAND-1") == ["ILM-B0003"]
    with pytest.raises(InvalidInput) as bad:
        refs(cases, parties, partner_ref="SUP-1")
    assert "partner_ref" in bad.value.errors


@pytest.mark.parametrize("field, value", [("channel", "hotline"), ("language", "th"), ("assignee", "anna"),
                                          ("unassigned", "true"), ("tag", "urgent"), ("partner_ref", "BRAND-1")])
def test_a_business_or_partner_may_not_filter_by_what_its_view_hides(cases, parties, field, value):
    for actor, chain in ((SUPPLIER, frozenset()), (BRAND, frozenset({"SUP-2"}))):
        with pytest.raises(Forbidden, match=field):
            refs(cases, parties, actor, chain=chain, **{field: value})


def test_filters_only_narrow_a_business_or_partner_scope(cases, parties):
    assert refs(cases, parties, SUPPLIER) == ["ILM-A0001", "ILM-A0002"]
    assert refs(cases, parties, SUPPLIER, severity="critical") == ["ILM-A0001"]
    assert refs(cases, parties, SUPPLIER, business_ref="SUP-2") == []
    assert refs(cases, parties, SUPPLIER, ref="ILM-B") == []
    assert refs(cases, parties, BRAND, chain=frozenset({"SUP-2"})) == ["ILM-B0003"]
    assert refs(cases, parties, BRAND, chain=frozenset({"SUP-2"}), business_ref="SUP-1") == []


def test_the_deadline_board_lists_deadlines_not_met_soonest_first(cases):
    board = case_list.deadline_board(cases, load(contract.DeadlineBoard, {"hours": 72}), NOW)
    assert [(i["case_ref"], i["deadline"], i["overdue"]) for i in board["items"]] == [
        ("ILM-A0001", "acknowledge", True), ("ILM-A0002", "acknowledge", False)]
    assert board["items"][0]["severity"] == "critical" and board["items"][0]["assignee"] == "anna"
    mine = case_list.deadline_board(cases, load(contract.DeadlineBoard, {"hours": 72, "assignee": "ben"}), NOW)
    assert mine["items"] == []
    soon = case_list.deadline_board(cases, load(contract.DeadlineBoard, {"hours": 1}), NOW)
    assert [i["case_ref"] for i in soon["items"]] == ["ILM-A0001"]      # overdue is always on the board


def test_tags_are_staff_matters_on_the_trail_and_hidden_from_the_business(cases, parties):
    p = load(contract.TagCase, {"case_ref": "ILM-A0001", "add": ["urgent", "needs-interpreter"]})
    case_list.tag_case(cases, p, ANNA, NOW)
    assert refs(cases, parties, tag="urgent") == ["ILM-A0001"]
    case = cases.get("ILM-A0001")
    assert case.tags == ["needs-interpreter", "urgent"] and case.audit[-1]["action"] == "tag"
    business = case.view_for(SUPPLIER)
    assert "tags" not in business and all(a["action"] != "tag" for a in business["audit"])
    with pytest.raises(Forbidden):
        case_list.tag_case(cases, p, SUPPLIER, NOW)


@pytest.fixture
def views(db):
    store = SavedViewStore(db)
    store.ensure_indexes()
    return unit_of_work(SavedView, repo=store, consumer="remediation.test")


def save(views, cases, parties, name, actor=ANNA, now=NOW, **filters):
    p = load(contract.SaveView, {"name": name, "filters": filters})
    return saved_views.save_view(views, cases, parties, p, actor, now)


def test_a_saved_view_counts_its_cases_and_what_changed_since_it_was_opened(views, cases, parties):
    saved = save(views, cases, parties, "My line cases", channel="line")
    assert (saved["count"], saved["changed"]) == (2, 2)                 # never opened: all new to me
    opened = saved_views.view_cases(views, cases, parties, load(contract.ViewCases, {"name": "my line cases"}),
                                    ANNA, NOW + timedelta(hours=1))
    assert [c["case_ref"] for c in opened["items"]] == ["ILM-A0001", "ILM-B0004"]
    cases.change("ILM-B0004", lambda c: c.triage(ANNA, NOW + timedelta(hours=2)))
    [listed] = saved_views.list_views(views, cases, parties, ANNA, NOW + timedelta(hours=3))["items"]
    assert (listed["name"], listed["count"], listed["changed"]) == ("My line cases", 2, 1)
    changed = saved_views.view_cases(views, cases, parties, load(contract.ViewCases, {
        "name": "My line cases", "changed_only": True}), ANNA, NOW + timedelta(hours=3))
    assert [c["case_ref"] for c in changed["items"]] == ["ILM-B0004"]
    assert saved_views.list_views(views, cases, parties, BEN, NOW)["items"] == []     # a view is its owner's
    with pytest.raises(NotFound):
        saved_views.view_cases(views, cases, parties, load(contract.ViewCases, {"name": "My line cases"}), BEN, NOW)


def test_a_view_is_checked_like_a_list_and_kept_per_person_within_a_limit(views, cases, parties, monkeypatch):
    with pytest.raises(InvalidInput) as bad:
        save(views, cases, parties, "x", severity="urgent")
    assert "filters" in str(bad.value.errors) and "severity" in str(bad.value.errors)
    with pytest.raises(InvalidInput):
        save(views, cases, parties, "brand", partner_ref="SUP-1")
    monkeypatch.setattr(saved_views, "MAX_VIEWS", 2)
    save(views, cases, parties, "one", severity="high")
    save(views, cases, parties, "two", severity="normal")
    save(views, cases, parties, "ONE", severity="critical")            # the same name replaces it
    with pytest.raises(InvalidInput, match="at most 2"):
        save(views, cases, parties, "three")
    saved_views.delete_view(views, {"name": "two"}, ANNA)
    save(views, cases, parties, "three")
    assert [v["name"] for v in saved_views.list_views(views, cases, parties, ANNA, NOW)["items"]] == ["one", "three"]


def test_bulk_assignment_and_tags_on_a_view_each_on_the_cases_trail(views, cases, parties):
    save(views, cases, parties, "Unassigned", unassigned=True)
    with pytest.raises(NotFound):               # anna's view is not the lead's
        saved_views.bulk_assign(views, cases, parties, load(contract.BulkAssign, {
            "name": "Unassigned", "assignee": "ben"}), LEAD, NOW)
    save(views, cases, parties, "Unassigned", actor=LEAD, unassigned=True)
    done = saved_views.bulk_assign(views, cases, parties, load(contract.BulkAssign, {
        "name": "Unassigned", "assignee": "ben"}), LEAD, NOW)
    assert done["case_refs"] == ["ILM-A0002", "ILM-B0004"]
    assert [cases.get(r).audit[-1]["detail"] for r in done["case_refs"]] == [{"to": "ben"}] * 2
    save(views, cases, parties, "Ben cases", actor=LEAD, assignee="ben")
    tagged = saved_views.bulk_tag(views, cases, parties, load(contract.BulkTag, {
        "name": "Ben cases", "add": ["week-48"]}), LEAD, NOW)
    assert tagged["tagged"] == 3 and refs(cases, parties, tag="week-48") == ["ILM-A0002", "ILM-B0003", "ILM-B0004"]


def test_an_export_of_a_view_has_no_worker_key_and_is_on_each_cases_access_log(views, cases, parties, db):
    entries = unit_of_work(AccessEntry, repo=AccessLogStore(db), consumer="remediation.test")
    save(views, cases, parties, "SUP-1", business_ref="SUP-1")
    export = saved_views.export_view(views, cases, parties, entries, {"name": "SUP-1"}, ANNA, NOW)
    assert [r["case_ref"] for r in export["rows"]] == ["ILM-A0001", "ILM-A0002"]
    assert all("worker_key" not in r for r in export["rows"]) and "worker_key" not in export["fields"]
    logged = entries.repo.page({"case_ref": "ILM-A0001"}, 10)[0]
    assert [(e["action"], e["actor"]["id"]) for e in logged] == [("export", "anna")]


def test_a_case_stored_before_the_list_keys_gets_them_from_the_sweep(cases, parties):
    cases.repo.col.update_many({}, {"$unset": {"next_due_at": "", "updated_at": ""}})
    assert refs(cases, parties, overdue="true") == []
    escalation.escalate_due(cases, NOW, (1000, 2000, 3000))
    assert refs(cases, parties, overdue="true") == ["ILM-A0001"]


def test_the_overdue_gauge_counts_cases_by_the_deadline_they_are_past(cases):
    assert cases.repo.count_overdue(iso(NOW)) == {"acknowledge": 1, "plan": 0, "remediation": 0}
    later = NOW + timedelta(days=3)             # ILM-A0002's acknowledgement (3 days) has passed too
    assert cases.repo.count_overdue(iso(later)) == {"acknowledge": 2, "plan": 0, "remediation": 0}
    cases.change("ILM-A0001", lambda c: c.acknowledge(SUPPLIER, NOW, DEADLINES))      # met: the plan is next
    assert cases.repo.count_overdue(iso(later + timedelta(days=30))) == {"acknowledge": 1, "plan": 1, "remediation": 0}
