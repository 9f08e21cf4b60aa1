"""Case work as a team on in-memory fakes: assignment (one case, every case of one
person in bounded batches, each audited), the case list filtered by assignee, the
edit lease (a second editor is refused naming the holder, unless forced: audited;
it expires), notes whose scope each role's view enforces, and the access log."""
from datetime import datetime, timedelta, timezone

import pytest

from services.remediation import access_log, assignment, case_list, notes
from services.remediation.assignment import LeaseHeld
from services.remediation.domain import Case
from shared.contracts import rpc as contract
from shared.contracts.common import load
from shared.contracts.events import IDENTITY_REVEALED, make_event
from shared.errors import Forbidden, InvalidInput
from tests.fakes import unit_of_work
from tests.unit.test_remediation_registry import GRIEVANCE

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
ANNA = {"id": "anna", "role": "case_worker"}
BEN = {"id": "ben", "role": "case_worker"}
LEAD = {"id": "lee", "role": "safeguarding_lead"}
SUPPLIER = {"id": "SUP-1", "role": "supplier"}
OTHER_SUPPLIER = {"id": "SUP-2", "role": "supplier"}
BRAND = {"id": "BRAND-1", "role": "partner"}


def cases_with(n: int, assignee=None):
    cases = unit_of_work(Case)
    for i in range(n):
        case = Case.open(f"ILM-T{i:04d}", GRIEVANCE, NOW)
        case.business_ref, case.assignee = "SUP-1", assignee
        cases.create(case.case_ref, case)
    return cases


def test_staff_assign_a_case_on_its_trail_and_businesses_may_not():
    cases = cases_with(1)
    view = assignment.assign(cases, load(contract.AssignCase, {"case_ref": "ILM-T0000", "assignee": "anna"}),
                             BEN, NOW)
    assert view["assignee"] == "anna"
    entry = cases.get("ILM-T0000").audit[-1]
    assert entry["action"] == "assign" and entry["detail"] == {"to": "anna"} and entry["actor"]["id"] == "ben"
    writes = cases.repo.writes
    assignment.assign(cases, {"case_ref": "ILM-T0000", "assignee": "anna"}, BEN, NOW)   # the same: nothing written
    assert cases.repo.writes == writes
    with pytest.raises(Forbidden):
        assignment.assign(cases, {"case_ref": "ILM-T0000", "assignee": "ben"}, SUPPLIER, NOW)
    with pytest.raises(InvalidInput):
        load(contract.AssignCase, {"case_ref": "ILM-T0000", "assignee": "Not A Name"})
    business = cases.get("ILM-T0000").view_for(SUPPLIER)
    assert "assignee" not in business and all(a["action"] != "assign" for a in business["audit"])


def test_a_hand_over_moves_every_case_of_one_person_in_batches_each_audited():
    cases = cases_with(7, assignee="anna")
    kept = Case.open("ILM-BEN0001", GRIEVANCE, NOW)
    kept.assignee = "carl"
    cases.create(kept.case_ref, kept)
    answer = assignment.hand_over(cases, {"from_assignee": "anna", "to_assignee": "ben"}, LEAD, NOW, batch=3)
    assert answer["moved"] == 7 and len(set(answer["case_refs"])) == 7
    assert all(cases.get(f"ILM-T{i:04d}").assignee == "ben" for i in range(7))
    assert all(cases.get(f"ILM-T{i:04d}").audit[-1]["detail"] == {"from": "anna", "to": "ben"} for i in range(7))
    assert cases.get("ILM-BEN0001").assignee == "carl"
    page = case_list.list_cases(cases, None, load(contract.ListCases, {"assignee": "ben"}), ANNA, frozenset(), NOW)
    assert len(page["items"]) == 7
    again = assignment.hand_over(cases, {"from_assignee": "anna", "to_assignee": "ben"}, LEAD, NOW)
    assert again["moved"] == 0


def test_a_business_cannot_filter_by_assignee():
    cases = cases_with(2, assignee="anna")
    with pytest.raises(Forbidden, match="assignee"):    # it would learn who works its cases
        case_list.list_cases(cases, None, load(contract.ListCases, {"assignee": "anna"}), SUPPLIER, frozenset(), NOW)
    page = case_list.list_cases(cases, None, load(contract.ListCases, {}), SUPPLIER, frozenset(), NOW)
    assert len(page["items"]) == 2 and all("assignee" not in item for item in page["items"])


def test_a_second_editor_is_refused_naming_the_holder_unless_forced_and_the_lease_expires():
    cases = cases_with(1)
    p = {"case_ref": "ILM-T0000", "force": False}
    lease = assignment.take_lease(cases, p, ANNA, NOW, 300)
    assert lease["holder"] == "anna" and cases.get("ILM-T0000").view_for(BEN)["lease"]["holder"] == "anna"
    with pytest.raises(LeaseHeld, match="anna") as refused:
        assignment.take_lease(cases, p, BEN, NOW + timedelta(seconds=60), 300)
    assert refused.value.http_status == 409 and cases.get("ILM-T0000").lease["holder"] == "anna"
    assignment.take_lease(cases, p, ANNA, NOW + timedelta(seconds=200), 300)       # renewed by its holder
    with pytest.raises(LeaseHeld):
        assignment.take_lease(cases, p, BEN, NOW + timedelta(seconds=400), 300)
    taken = assignment.take_lease(cases, {**p, "force": True}, BEN, NOW + timedelta(seconds=400), 300)
    assert taken["holder"] == "ben"
    forced = cases.get("ILM-T0000").audit[-1]
    assert forced["action"] == "lease_forced" and forced["detail"] == {"from": "anna"}
    later = NOW + timedelta(seconds=400 + 301)                                     # expired: free to take
    assert assignment.take_lease(cases, p, ANNA, later, 300)["holder"] == "anna"
    assignment.release_lease(cases, p, ANNA, later)
    assert assignment.take_lease(cases, p, BEN, later, 300)["holder"] == "ben"
    with pytest.raises(Forbidden):
        assignment.take_lease(cases, p, SUPPLIER, later, 300)


def test_each_role_sees_only_the_notes_its_scope_allows():
    cases = cases_with(1)
    for author, scope in ((ANNA, "internal"), (ANNA, "private"), (BEN, "business"), (BEN, "partner")):
        notes.add_note(cases, load(contract.AddNote, {"case_ref": "ILM-T0000", "scope": scope,
                                                      "text": f"{scope} note"}), author, NOW)
    case = cases.get("ILM-T0000")
    seen = lambda actor, chain=frozenset(): [n["scope"] for n in case.view_for(actor, chain)["notes"]]  # noqa: E731
    assert seen(ANNA) == ["internal", "private", "business", "partner"]
    assert seen(BEN) == ["internal", "business", "partner"]                       # not anna's private note
    assert seen(SUPPLIER) == ["business"]
    assert seen(BRAND, frozenset({"SUP-1"})) == ["partner"]
    assert "author" not in case.view_for(SUPPLIER)["notes"][0]
    with pytest.raises(Forbidden):
        case.view_for(OTHER_SUPPLIER)
    with pytest.raises(Forbidden):
        notes.add_note(cases, {"case_ref": "ILM-T0000", "scope": "business", "text": "x"}, SUPPLIER, NOW)
    assert all("note" not in str(a["detail"]) or "text" not in a["detail"] for a in case.audit)
    assert all(a["action"] != "add_note" for a in case.view_for(SUPPLIER)["audit"])
    with pytest.raises(InvalidInput):
        load(contract.AddNote, {"case_ref": "ILM-T0000", "scope": "worker", "text": "x"})


def test_the_access_log_lists_views_and_reveals_in_order_once_each():
    entries = unit_of_work(access_log.AccessEntry)
    access_log.record(entries, "ILM-T0000", ANNA, "view", NOW)
    access_log.record(entries, "ILM-T0001", BEN, "view", NOW)
    access_log.record(entries, "ILM-T0000", SUPPLIER, "view", NOW + timedelta(seconds=1))
    reveal = make_event(IDENTITY_REVEALED, "ILM-T0000", {"actor": LEAD, "basis": "staff_role",
                                                         "revealed_at": "2026-11-01T09:00:02.000Z"}, "corr")
    access_log.record_reveal(entries, reveal)
    access_log.record_reveal(entries, reveal)              # redelivered: still one entry
    first = access_log.of_case(entries, load(contract.CaseAccessLog, {"case_ref": "ILM-T0000", "limit": 2}))
    assert [(e["actor"]["id"], e["action"]) for e in first["items"]] == [("anna", "view"), ("SUP-1", "view")]
    rest = access_log.of_case(entries, load(contract.CaseAccessLog, {"case_ref": "ILM-T0000",
                                                                     "after": first["next"]}))
    assert [(e["actor"]["id"], e["action"]) for e in rest["items"]] == [("lee", "reveal")] and rest["next"] is None
