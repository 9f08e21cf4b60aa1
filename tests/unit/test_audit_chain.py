"""The audit hash chain (shared/audit_chain.py): an intact trail verifies; an edited,
removed, inserted or reordered entry is named; a legacy (unchained) prefix is sealed
by the first chained entry; businesses see nothing of the chain."""
import copy
from datetime import datetime, timezone

import pytest

from services.remediation.domain import Case
from shared import audit_chain
from shared.audit_chain import digest, link, verify

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def trail(n=5, legacy=0):
    entries = [{"at": f"2026-11-0{i + 1}", "action": f"legacy-{i}"} for i in range(legacy)]
    for i in range(n):
        entries.append(link(entries, {"at": f"2026-11-1{i}", "action": f"step-{i}", "detail": {"n": i}}))
    return entries


def test_an_intact_trail_verifies_and_each_entry_names_its_predecessor():
    entries = trail()
    assert verify(entries) is None and verify([]) is None
    assert entries[0]["prev"] is None
    assert all(e["prev"] == entries[i - 1]["hash"] for i, e in enumerate(entries) if i)
    assert all(e["hash"] == digest(e) and len(e["hash"]) == 64 for e in entries)
    assert audit_chain.head(entries) == entries[-1]["hash"]


def test_the_digest_is_over_sorted_keys_whatever_the_stored_order():
    entry = link([], {"b": 1, "a": {"y": 2, "x": 1}})
    reordered = {"hash": entry["hash"], "prev": None, "a": {"x": 1, "y": 2}, "b": 1}
    assert verify([reordered]) is None


def test_an_edited_entry_is_named():
    entries = trail()
    entries[2]["detail"]["n"] = 99
    assert verify(entries) == (2, "edited: its content does not match its hash")


def test_an_entry_edited_and_rehashed_is_caught_by_the_next_one():
    entries = trail()
    entries[2]["action"] = "forged"
    entries[2]["hash"] = digest(entries[2])
    found = verify(entries)
    assert found.index == 3 and "entry 2 was rewritten" in found.problem


@pytest.mark.parametrize("where", [0, 2, 3])
def test_a_removed_entry_is_named_where_it_was(where):
    entries = trail()
    del entries[where]
    assert verify(entries).index == where


def test_an_inserted_entry_is_named():
    entries = trail()
    forged = link(entries[:2], {"at": "2026-11-11", "action": "forged"})
    entries.insert(2, forged)
    assert verify(entries).index == 3        # well linked itself, but the next one does not follow it
    unchained = trail()
    unchained.insert(2, {"at": "2026-11-11", "action": "forged"})
    assert verify(unchained) == (2, "an unchained entry after the chain began: inserted, or its hash removed")


def test_reordered_entries_are_named():
    entries = trail()
    entries[1], entries[2] = entries[2], entries[1]
    assert verify(entries).index == 1


def test_a_legacy_prefix_is_accepted_and_sealed_by_the_first_chained_entry():
    entries = trail(n=3, legacy=2)
    assert verify(entries) is None
    for i in (0, 1):                                 # the legacy prefix cannot change either
        edited = copy.deepcopy(entries)
        edited[i]["action"] = "rewritten"
        assert verify(edited).index == 2
    removed = copy.deepcopy(entries)
    del removed[1]
    assert verify(removed).index == 1
    assert verify([{"action": "legacy"}]) is None    # a wholly legacy trail has nothing to verify


def test_stripping_a_hash_inside_the_chain_is_tampering():
    entries = trail()
    del entries[3]["hash"]
    assert verify(entries).index == 3


def test_the_case_trail_is_chained_and_the_business_view_shows_nothing_of_it():
    grievance = {"severity": "normal", "work_area": "working_conditions", "worker_key": "wk", "channel": "line",
                 "language": "th", "retaliation": False, "forced_labour_indicators": [], "supplier_ref": "SUP-1",
                 "site_ref": None, "agency_ref": None}
    case = Case.open("ILM-CHAIN", grievance, NOW)
    case.triage({"id": "cw-1", "role": "case_worker"}, NOW)
    case.record_other_channel({"id": "cw-1", "role": "case_worker"}, NOW, "court", None)
    assert len(case.audit) == 3 and verify(case.audit) is None
    assert verify(Case.from_dict(copy.deepcopy(case.to_dict())).audit) is None
    view = case.business_view()
    assert all(set(a) == {"at", "action", "from", "to"} for a in view["audit"]) and len(view["audit"]) == 2
    assert not any(a["hash"] in str(view) or a["prev"] and a["prev"] in str(view) for a in case.audit)
