"""Deadlines that escalate (issue 11): the rule on the case (each level once per
deadline round, a met deadline stops it, a safeguarding alert's shorter deadline moves
it, a reopened case escalates afresh), the timer's claim against a second replica on
the fakes, the scorecard projection and the overdue list with its scope."""
from datetime import timedelta

import pytest

from services.remediation import escalation, handlers
from services.remediation.domain import Case
from services.remediation.reports import BusinessRecord
from shared.contracts.events import (
    CASE_DEADLINE_ESCALATED, GRIEVANCE_RECEIVED, VALIDATION_COMPLETED, iso, make_event,
)
from shared import config
from shared.errors import ConfigError, Forbidden
from tests.fakes import FakeRepository, unit_of_work
from tests.unit.test_handlers_remediation_validation import ACTION, GRIEVANCE, NOW, POLICY, STAFF, SUPPLIER

HOURS = (0, 72, 168)
DUE = NOW + timedelta(days=7)          # a normal case's acknowledge deadline, referred at NOW


class FakeCaseStore(FakeRepository):
    """services/remediation/store.py's escalation queries over the dict."""

    def escalations_due(self, now_iso, limit):
        due = sorted((d for d in self.docs.values() if d.get("next_escalation_at") and d["next_escalation_at"] <= now_iso),
                     key=lambda d: d["next_escalation_at"])
        return [d["_id"] for d in due[:limit]]

    def unscheduled(self, limit):
        return [ref for ref, d in self.docs.items() if "updated_at" not in d][:limit]

    def overdue_of_business(self, business_ref, now_iso, limit, after):
        docs = [d for d in self.docs.values() if d.get("business_ref") == business_ref and d["status"] not in
                ("closed", "withdrawn") and any(e["done_at"] is None and e["due"] < now_iso
                                                for e in d["deadlines"].values())]
        docs = sorted((d for d in docs if after is None or d["_id"] > after), key=lambda d: d["_id"])
        return docs[:limit], (docs[limit - 1]["_id"] if len(docs) > limit else None)


def referred_case(ref="ILM-1") -> Case:
    case = Case.open(ref, GRIEVANCE, NOW)
    case.triage(STAFF, NOW)
    case.refer(STAFF, NOW, "SUP-1", "supplier", POLICY)
    case.raised.clear()
    return case


def fired(case, at) -> list:
    return [(f["deadline"], f["round"], f["level"]) for f in case.escalate(at, HOURS)]


def escalations(case) -> list[dict]:
    return [data for contract, data in case.raised if contract is CASE_DEADLINE_ESCALATED]


# --- the rule -----------------------------------------------------------------------

def test_each_level_fires_once_at_its_time():
    case = referred_case()
    assert case.to_dict()["next_escalation_at"] == iso(DUE)
    assert fired(case, DUE - timedelta(seconds=1)) == []
    assert fired(case, DUE) == [("acknowledge", 1, 1)]
    assert fired(case, DUE + timedelta(hours=1)) == []                 # once
    assert case.to_dict()["next_escalation"] == {"at": iso(DUE + timedelta(hours=72)), "deadline": "acknowledge",
                                                  "round": 1, "level": 2}
    assert fired(case, DUE + timedelta(hours=72)) == [("acknowledge", 1, 2)]
    assert fired(case, DUE + timedelta(hours=168)) == [("acknowledge", 1, 3)]
    assert fired(case, DUE + timedelta(days=100)) == []
    assert case.to_dict()["next_escalation_at"] is None and case.to_dict()["escalation_level"] == 3
    events = escalations(case)
    assert [e["level"] for e in events] == [1, 2, 3]
    # Each is a valid event of the settled contract, with no worker fact in it.
    for data in events:
        assert make_event(CASE_DEADLINE_ESCALATED, "ILM-1", data, "c")["data"]["business_ref"] == "SUP-1"
        assert not {"worker_key", "channel", "language"} & set(data)
    trail = [a for a in case.audit if a["action"] == "deadline_escalated"]
    assert [a["detail"]["level"] for a in trail] == [1, 2, 3] and trail[0]["actor"]["id"] == "escalation"


def test_a_sweep_that_was_away_fires_the_missed_levels_in_order():
    case = referred_case()
    assert fired(case, DUE + timedelta(days=30)) == [("acknowledge", 1, 1), ("acknowledge", 1, 2),
                                                     ("acknowledge", 1, 3)]


def test_a_later_first_level_is_looked_at_once_then_fires_at_its_own_time():
    case = referred_case()
    assert case.escalate(DUE, (24, 72, 168)) == []          # the lower bound: now the exact time is known
    assert case.to_dict()["next_escalation_at"] == iso(DUE + timedelta(hours=24))
    assert [f["level"] for f in case.escalate(DUE + timedelta(hours=24), (24, 72, 168))] == [1]


def test_a_met_deadline_stops_escalating_and_says_it_was_counted_missed():
    case = referred_case()
    fired(case, DUE)
    case.acknowledge(SUPPLIER, DUE + timedelta(hours=5), POLICY)
    met = case.raised[-1][1]["deadline_met"]
    assert met["met"] is False and met["escalated"] is True
    # The plan deadline starts: the next escalation is its own, from level 1.
    plan_due = DUE + timedelta(hours=5, days=21)
    assert case.to_dict()["next_escalation"] == {"at": iso(plan_due), "deadline": "plan", "round": 1, "level": 1}
    assert fired(case, DUE + timedelta(hours=72)) == []      # the acknowledge deadline is done
    case.submit_plan(SUPPLIER, plan_due - timedelta(days=1), [ACTION])
    assert case.raised[-1][1]["deadline_met"] == {"name": "plan", "days": 20.0, "met": True, "escalated": False}
    assert case.to_dict()["next_escalation_at"] is None      # no deadline running until the plan is accepted
    assert fired(case, plan_due + timedelta(days=30)) == []


def test_a_withdrawn_case_escalates_no_more():
    case = referred_case()
    case.withdraw({"id": case.worker_key, "role": "worker", "case_ref": "ILM-1"}, NOW, "settled")
    assert case.to_dict()["next_escalation_at"] is None and fired(case, DUE + timedelta(days=30)) == []


def test_a_safeguarding_alert_brings_the_escalation_forward():
    case = referred_case()
    case.link_alert("a1", "follow_up", NOW + timedelta(hours=1), POLICY)
    assert case.to_dict()["next_escalation_at"] == iso(NOW + timedelta(days=2))   # critical: 2 days
    assert fired(case, NOW + timedelta(days=2)) == [("acknowledge", 1, 1)]
    # Already escalated, then shortened again (a deadline can only come forward): the
    # next level follows the new due, by the offset stored when level 1 fired.
    case = referred_case()
    fired(case, DUE)
    case.deadlines["acknowledge"]["started"] = iso(NOW - timedelta(days=10))     # started long ago
    case.link_alert("a2", "follow_up", DUE, POLICY)
    new_due = NOW - timedelta(days=8)
    assert case.deadlines["acknowledge"]["due"] == iso(new_due)
    assert case.to_dict()["next_escalation_at"] == iso(new_due + timedelta(hours=72))


def test_a_reopened_case_escalates_its_new_remediation_round_afresh():
    case = referred_case()
    case.acknowledge(SUPPLIER, NOW, POLICY)
    case.submit_plan(SUPPLIER, NOW, [ACTION])
    case.accept_plan(STAFF, NOW, POLICY)
    remediation_due = NOW + timedelta(days=60)
    assert fired(case, remediation_due + timedelta(hours=72)) == [("remediation", 1, 1), ("remediation", 1, 2)]
    late = remediation_due + timedelta(days=4)
    case.report_remediation(SUPPLIER, late, "paid", ["receipt"])
    case.apply_validation_outcome(1, "not_resolved", late, POLICY)        # reopened: a new round
    assert case.status == "remediating" and case.deadlines["remediation"].get("level", 0) == 0
    second_due = late + timedelta(days=60)
    assert case.to_dict()["next_escalation"] == {"at": iso(second_due), "deadline": "remediation", "round": 2,
                                                  "level": 1}
    assert fired(case, second_due) == [("remediation", 2, 1)]
    assert case.deadline_history[-1]["level"] == 2              # the first round's record is kept


def test_business_sees_its_reminders_without_detail_and_staff_see_the_detail():
    case = referred_case()
    fired(case, DUE)
    business = case.view_for(SUPPLIER)
    assert business["audit"][-1] == {"at": iso(DUE), "action": "deadline_escalated", "from": "referred",
                                     "to": "referred"}
    assert business["deadlines"]["acknowledge"]["level"] == 1 and business["escalation_level"] == 1
    staff = case.view_for(STAFF)
    assert staff["audit"][-1]["detail"] == {"deadline": "acknowledge", "round": 1, "level": 1, "due": iso(DUE)}


# --- the timer and its claim (handlers on the fakes) ------------------------------------

@pytest.fixture
def cases():
    u = unit_of_work(Case, repo=FakeCaseStore(), consumer="remediation.escalate_overdue_deadlines")
    handlers.open_case(u, make_event(GRIEVANCE_RECEIVED, "ILM-1", GRIEVANCE, "c"), NOW)
    handlers.triage(u, {"case_ref": "ILM-1", "severity": None, "note": None}, STAFF, NOW)
    handlers.refer(u, {"case_ref": "ILM-1", "business_ref": "SUP-1", "business_type": "supplier"}, STAFF, NOW, POLICY)
    return u


def published(cases) -> list[int]:
    return [e["data"]["level"] for e in cases.relay.published if e["event_type"] == "case.deadline_escalated"]


def test_the_timer_fires_each_level_once_and_the_stored_case_moves_on(cases):
    assert escalation.escalate_due(cases, DUE - timedelta(minutes=1), HOURS) == {}
    assert list(escalation.escalate_due(cases, DUE, HOURS)) == ["ILM-1"]
    assert escalation.escalate_due(cases, DUE + timedelta(hours=1), HOURS) == {}   # not due: not even read
    assert cases.repo.load("ILM-1")["next_escalation_at"] == iso(DUE + timedelta(hours=72))
    escalation.escalate_due(cases, DUE + timedelta(days=30), HOURS)
    assert published(cases) == [1, 2, 3]
    assert cases.repo.load("ILM-1")["next_escalation_at"] is None


def test_a_case_stored_before_escalation_existed_is_scheduled_by_the_sweep_and_escalates(cases):
    stored = cases.repo.docs["ILM-1"]
    for derived in ("next_escalation", "next_escalation_at", "escalation_level", "next_due_at", "updated_at"):
        del stored[derived]
    assert list(escalation.escalate_due(cases, DUE, HOURS)) == ["ILM-1"]
    assert published(cases) == [1]


def test_of_two_replicas_claiming_the_same_level_one_fires_it(cases):
    """Replica B finds the case due and loads it, replica A writes first: B's guarded
    write fails, B reloads, finds level 1 fired already and writes nothing."""
    repo = cases.repo
    found_by_b = repo.escalations_due(iso(DUE), 10)
    other = unit_of_work(Case, repo=repo, relay=cases.relay, consumer="remediation.b")
    stale = repo.load("ILM-1")
    writes = repo.writes
    assert list(escalation.escalate_due(cases, DUE, HOURS)) == ["ILM-1"]
    original_load, loads = repo.load, []

    def load_stale_first(doc_id):
        loads.append(doc_id)
        return stale if len(loads) == 1 else original_load(doc_id)
    repo.load, repo.escalations_due = load_stale_first, lambda now, limit: found_by_b
    assert escalation.escalate_due(other, DUE, HOURS) == {}
    repo.load = original_load
    del repo.escalations_due
    assert len(loads) == 2 and repo.writes == writes + 1        # B tried, lost the guard, wrote nothing
    assert published(cases) == [1]
    assert [a["detail"]["level"] for a in repo.load("ILM-1")["audit"] if a["action"] == "deadline_escalated"] == [1]


def test_the_scorecard_counts_a_never_met_deadline(cases):
    records = unit_of_work(BusinessRecord, consumer="remediation.project_escalation")
    escalation.escalate_due(cases, DUE + timedelta(days=30), HOURS)
    events = [e for e in cases.relay.published if e["event_type"] == "case.deadline_escalated"]
    for event in events + events:                               # redelivered: counted once
        handlers.project_business_record(records, event, BusinessRecord.apply_escalation)
    card = handlers.supplier_scorecard(records, {"business_ref": "SUP-1"}, STAFF)
    assert card["deadlines_missed"] == 1 and card["deadlines_met_share"] == 0.0
    assert card["flagged_for_consequences"] == 1
    rebuilt = BusinessRecord.from_cases("SUP-1", [cases.repo.load("ILM-1")]).scorecard()
    assert {k: rebuilt[k] for k in ("deadlines_missed", "flagged_for_consequences")} == {
        "deadlines_missed": 1, "flagged_for_consequences": 1}


# --- the overdue list ----------------------------------------------------------------

def overdue(cases, actor, chain=frozenset(), business_ref="SUP-1", at=DUE + timedelta(hours=80)):
    return escalation.overdue_items(cases, {"business_ref": business_ref, "limit": 50, "after": None}, actor, at,
                                    chain)


def test_the_overdue_list_of_a_business_in_the_scorecards_scope(cases):
    assert overdue(cases, STAFF, at=DUE - timedelta(hours=1))["items"] == []
    escalation.escalate_due(cases, DUE + timedelta(hours=80), HOURS)
    expected = [{"case_ref": "ILM-1", "deadline": "acknowledge", "round": 1, "due": iso(DUE), "level": 2}]
    assert overdue(cases, STAFF)["items"] == expected
    assert overdue(cases, SUPPLIER)["items"] == expected                 # its own
    assert overdue(cases, {"id": "BRAND-1", "role": "partner"}, frozenset({"SUP-1"}))["items"] == expected
    for actor, chain in (({"id": "SUP-2", "role": "supplier"}, frozenset()),
                         ({"id": "BRAND-2", "role": "partner"}, frozenset({"SUP-9"}))):
        with pytest.raises(Forbidden):
            overdue(cases, actor, chain)
    handlers.acknowledge(cases, {"case_ref": "ILM-1", "note": None}, SUPPLIER, DUE + timedelta(hours=81), POLICY)
    assert overdue(cases, STAFF, at=DUE + timedelta(hours=82))["items"] == []


def test_a_closed_case_is_not_overdue(cases):
    for step in (lambda: handlers.acknowledge(cases, {"case_ref": "ILM-1", "note": None}, SUPPLIER, NOW, POLICY),
                 lambda: handlers.submit_plan(cases, {"case_ref": "ILM-1", "actions": [ACTION]}, SUPPLIER, NOW),
                 lambda: handlers.accept_plan(cases, {"case_ref": "ILM-1", "note": None}, STAFF, NOW, POLICY),
                 lambda: handlers.report_remediation(cases, {"case_ref": "ILM-1", "summary": "paid",
                                                             "evidence": []}, SUPPLIER, NOW)):
        step()
    handlers.apply_validation_outcome(cases, make_event(VALIDATION_COMPLETED, "ILM-1", {
        "round_no": 1, "outcome": "confirmed", "completed_at": iso(NOW)}, "c"), NOW, POLICY)
    assert cases.repo.load("ILM-1")["next_escalation_at"] is None
    assert escalation.escalate_due(cases, NOW + timedelta(days=400), HOURS) == {}


# --- the settings -----------------------------------------------------------------------

@pytest.mark.parametrize("value,hours", [("0,72,168", (0.0, 72.0, 168.0)), ("0.001,0.002,0.002", (0.001, 0.002, 0.002)),
                                         ("72,24,168", None), ("-1,2,3", None), ("1,2", None), ("a,b,c", None)])
def test_escalation_hours_are_three_non_decreasing_numbers(monkeypatch, value, hours):
    monkeypatch.setenv("ESCALATION_LEVEL_HOURS", value)
    if hours is None:
        with pytest.raises(ConfigError, match="ESCALATION_LEVEL_HOURS"):
            config._level_hours("ESCALATION_LEVEL_HOURS")
    else:
        assert config._level_hours("ESCALATION_LEVEL_HOURS") == hours
