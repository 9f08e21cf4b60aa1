"""Worker validation rounds (services/validation/domain.py and rules.py): sampling and
quorum sizes, the decision rules (partial answers, reopen with reasons, unsafe and
retaliation hold), the deadline (reminder, expiry, rerun), early answers, in-person
answers, duplicates, strangers' answers set aside, the events and the views."""
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from services.validation.domain import CaseValidation
from services.validation.rules import Rules
from shared.contracts.events import (
    VALIDATION_COMPLETED, VALIDATION_OUTREACH_REQUESTED, VALIDATION_ROUND_OPENED, iso, make_event,
)
from shared.errors import InvalidInput, InvalidTransition

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(hours=3)
W1, W2, W3, W4, W5 = ("wk_" + c * 32 for c in "abcde")
STRANGER = "wk_" + "z" * 32
STAFF = {"id": "cw-1", "role": "case_worker"}
RULES = Rules()


def with_workers(*keys) -> CaseValidation:
    v = CaseValidation(case_ref="ILM-TEST0001")
    for k in keys:
        v.add_affected(k, NOW)
    return v


def opened(*keys, actions=("back_pay",)) -> CaseValidation:
    v = with_workers(*keys)
    v.open_new_round(NOW, list(keys), RULES, list(actions))
    return v


def events(v: CaseValidation, contract=None) -> list:
    """The raised events' data, each checked against its contract."""
    for c, data in v.raised:
        make_event(c, v.case_ref, data, "corr-1")
    return [data for c, data in v.raised if contract is None or c is contract]


# --- sampling and quorum -----------------------------------------------------------------

@pytest.mark.parametrize("n,size", [(0, 0), (1, 1), (3, 3), (10, 10), (11, 6), (12, 6), (20, 10), (40, 20)])
def test_sample_sizes(n, size):
    assert RULES.sample_size(n) == size


def test_a_sample_never_goes_below_the_minimum():
    rules = Rules(sample_above=4, sample_min=5, sample_share=0.1)
    assert rules.sample_size(6) == 5 and rules.sample_size(100) == 10


def test_the_sample_is_drawn_from_the_affected_with_the_given_rng():
    workers = [f"wk_{i:032d}" for i in range(30)]
    first = RULES.choose(workers, random.Random(7))
    assert len(first) == 15 and set(first) <= set(workers) and len(set(first)) == 15
    assert RULES.choose(workers, random.Random(7)) == first            # seedable: replayable
    assert RULES.choose(workers[:4], random.Random(7)) == workers[:4]   # small groups: everybody


@pytest.mark.parametrize("asked,quorum", [(0, 1), (1, 1), (2, 2), (3, 2), (5, 3), (10, 6)])
def test_quorum(asked, quorum):
    assert RULES.quorum(asked) == quorum


# --- opening ------------------------------------------------------------------------------

def test_a_round_asks_the_chosen_workers_about_each_remedy_action():
    v = opened(W1, W2, actions=("back_pay", "return_of_documents"))
    r = v.rounds[0]
    assert (r["round_no"], r["status"], r["asked"]) == (1, "open", [W1, W2])
    assert r["answer_by"] == iso(NOW + timedelta(days=14)) == v.next_due
    assert events(v, VALIDATION_ROUND_OPENED) == [{"round_no": 1, "opened_at": iso(NOW)}]
    assert events(v, VALIDATION_OUTREACH_REQUESTED) == [{
        "round_no": 1, "worker_keys": [W1, W2], "remedy_actions": ["back_pay", "return_of_documents"],
        "reminder": False, "answer_by": iso(NOW + timedelta(days=14))}]


def test_one_round_open_at_a_time():
    v = opened(W1, W2)
    with pytest.raises(InvalidTransition, match="still open"):
        v.open_new_round(LATER, [W1], RULES)


def test_a_worker_added_while_a_round_is_open_is_asked_too():
    v = opened(W1)
    v.raised.clear()
    assert v.add_affected(W2, LATER, STAFF) is True
    assert v.add_affected(W2, LATER, STAFF) is False                   # known already
    assert v.rounds[0]["asked"] == [W1, W2]
    assert [e["worker_keys"] for e in events(v, VALIDATION_OUTREACH_REQUESTED)] == [[W2]]
    assert v.affected[1] == {"worker_key": W2, "at": iso(LATER), "added_by": STAFF}


# --- the decision -------------------------------------------------------------------------

def test_one_worker_confirming_passes_a_one_worker_round():
    v = opened(W1)
    assert v.answer(W1, "confirmed", LATER) == "counted"
    assert v.rounds[0]["status"] == "confirmed" and v.next_due is None
    assert events(v, VALIDATION_COMPLETED) == [{"round_no": 1, "outcome": "confirmed", "completed_at": iso(LATER),
                                                "tally": {"confirmed": 1, "partly": 0, "not_resolved": 0,
                                                          "unsafe": 0}, "asked": 1}]


def test_nothing_is_decided_before_the_quorum():
    v = opened(W1, W2, W3, W4, W5)          # quorum 3
    v.answer(W1, "confirmed", LATER)
    v.answer(W2, "confirmed", LATER)
    assert v.rounds[0]["status"] == "open" and not events(v, VALIDATION_COMPLETED)
    v.answer(W3, "confirmed", LATER)
    assert v.rounds[0]["status"] == "confirmed"
    assert v.rounds[0]["decision"] == {"outcome": "confirmed", "at": iso(LATER), "answered": 3, "quorum": 3,
                                       "held": False}


def test_partial_answers_reopen_with_the_tally_as_reasons():
    v = opened(W1, W2, W3)                  # quorum 2
    v.answer(W1, "confirmed", LATER)
    v.answer(W2, "partly", LATER)           # 1 of 2 partly: 0.5 > 0.2
    done = events(v, VALIDATION_COMPLETED)[0]
    assert done["outcome"] == "not_resolved" and done["tally"]["partly"] == 1 and done["asked"] == 3
    assert v.rounds[0]["tally"] == done["tally"]


def test_a_small_share_of_not_resolved_under_the_threshold_does_not_reopen():
    keys = [f"wk_{i:032d}" for i in range(10)]
    v = opened(*keys)                       # quorum 6
    for k in keys[:8]:
        v.answer(k, "confirmed", LATER)
    # 8 answers, all confirmed: decided at the 6th
    assert v.rounds[0]["status"] == "confirmed" and v.rounds[0]["decision"]["answered"] == 6
    v2 = opened(*keys)
    v2.answer(keys[0], "not_resolved", LATER)
    for k in keys[1:6]:
        v2.answer(k, "confirmed", LATER)    # 1/6 not resolved <= 0.2, 5/6 confirmed >= 0.8
    assert v2.rounds[0]["status"] == "confirmed"


def test_too_few_confirmed_waits_then_everybody_answered_decides_not_resolved():
    rules = Rules(reopen_share=0.5, confirm_share=0.8)
    v = with_workers(W1, W2, W3)
    v.open_new_round(NOW, [W1, W2, W3], rules)
    v.answer(W1, "confirmed", LATER, rules)
    v.answer(W2, "not_resolved", LATER, rules)   # 1/2 not > 0.5, 1/2 confirmed < 0.8: wait
    assert v.rounds[0]["status"] == "open"
    v.answer(W3, "confirmed", LATER, rules)
    assert v.rounds[0]["status"] == "not_resolved"


@pytest.mark.parametrize("answer,retaliation", [("unsafe", False), ("confirmed", True)])
def test_unsafe_or_retaliation_holds_the_round_it_never_passes(answer, retaliation):
    keys = [f"wk_{i:032d}" for i in range(10)]
    v = opened(*keys)
    v.answer(keys[0], answer, LATER, retaliation=retaliation)
    for k in keys[1:9]:
        v.answer(k, "confirmed", LATER)     # 8 of 9 confirm: would pass, but held
    assert v.rounds[0]["held"] is True and v.rounds[0]["status"] == "open"
    v.answer(keys[9], "confirmed", LATER)   # everybody answered: still held, the deadline decides
    assert v.rounds[0]["status"] == "open" and v.next_due is not None


def test_a_held_round_still_reopens_on_not_resolved():
    v = opened(W1, W2)
    v.answer(W1, "unsafe", LATER)
    v.answer(W2, "not_resolved", LATER)
    assert v.rounds[0]["status"] == "not_resolved"


# --- who answers ----------------------------------------------------------------------------

def test_a_second_answer_in_a_round_is_ignored():
    v = opened(W1, W2, W3)
    assert v.answer(W1, "confirmed", LATER) == "counted"
    before = v.to_dict()
    assert v.answer(W1, "not_resolved", LATER) == "duplicate"
    assert v.to_dict() == before


def test_a_stranger_answer_is_set_aside_and_an_affected_unasked_one_counts():
    v = with_workers(W1, W2)
    v.open_new_round(NOW, [W1], RULES)      # W2 affected but not sampled
    assert v.answer(STRANGER, "not_resolved", LATER) == "set_aside"
    assert v.rounds[0]["set_aside"][0]["worker_key"] == STRANGER and v.rounds[0]["status"] == "open"
    assert v.answer(W2, "confirmed", LATER) == "counted"
    assert v.rounds[0]["status"] == "confirmed"


def test_in_person_answers_are_the_workers_own_with_who_recorded_them():
    v = opened(W1, W2, W3)
    v.raised.clear()
    assert v.record_visit_answer(W1, "confirmed", STAFF, LATER, note="met at the dormitory") == "counted"
    assert [(c.name, d) for c, d in v.raised] == [("validation.visit_answer_recorded", {   # for the case's trail
        "round_no": 1, "answer": "confirmed", "recorded_by": STAFF, "recorded_at": iso(LATER)})]
    a = v.rounds[0]["answers"][0]
    assert (a["worker_key"], a["channel"], a["recorded_by"], a["note"]) == (
        W1, "in_person", STAFF, "met at the dormitory")
    assert v.record_visit_answer(W1, "not_resolved", STAFF, LATER) == "duplicate"   # never an override
    with pytest.raises(InvalidInput, match="affected"):
        v.record_visit_answer(STRANGER, "confirmed", STAFF, LATER)
    with pytest.raises(InvalidTransition):
        with_workers(W1).record_visit_answer(W1, "confirmed", STAFF, LATER)
    with pytest.raises(InvalidInput):
        v.answer(W2, "maybe", LATER)


def test_an_early_answer_is_kept_then_applied_when_the_round_opens():
    v = with_workers(W1, W2)
    assert v.answer(W1, "not_resolved", NOW) == "kept"
    assert v.answer(STRANGER, "confirmed", NOW) == "kept"
    assert v.rounds == [] and not v.raised
    v.open_new_round(LATER, [W1, W2], RULES)
    assert [a["worker_key"] for a in v.rounds[0]["answers"]] == [W1]
    assert v.rounds[0]["set_aside"] == []                              # the stranger's stays kept
    assert v.rounds[0]["status"] == "open"                              # quorum 2: waits for W2
    assert v.unsolicited[0]["applied_to"] == 1 and v.unsolicited[1]["applied_to"] is None
    v.answer(W2, "confirmed", LATER)
    assert v.rounds[0]["status"] == "not_resolved" and v.rounds[0]["tally"]["not_resolved"] == 1


def test_an_early_answer_alone_can_decide_a_round():
    v = with_workers(W1)
    v.answer(W1, "confirmed", NOW)
    v.open_new_round(LATER, [W1], RULES)
    assert v.rounds[0]["status"] == "confirmed"
    assert [c for c, _ in v.raised] == [VALIDATION_ROUND_OPENED, VALIDATION_OUTREACH_REQUESTED, VALIDATION_COMPLETED]


# --- the deadline ----------------------------------------------------------------------------

def test_timeout_reminds_then_expires_then_a_rerun_asks_again():
    v = opened(W1, W2, W3)
    v.answer(W1, "confirmed", NOW)
    v.raised.clear()
    assert v.sweep(NOW + timedelta(days=13), RULES) is None
    lapse = NOW + timedelta(days=14, hours=1)
    assert v.sweep(lapse, RULES) == "reminded"
    assert events(v, VALIDATION_OUTREACH_REQUESTED) == [{
        "round_no": 1, "worker_keys": [W2, W3], "remedy_actions": ["back_pay"], "reminder": True,
        "answer_by": iso(lapse + timedelta(days=7))}]
    assert v.sweep(lapse, RULES) is None                               # not due again yet
    v.raised.clear()
    assert v.sweep(lapse + timedelta(days=7), RULES) == "expired"
    assert v.rounds[0]["status"] == "expired" and v.open_round is None and v.next_due is None
    assert v.raised == []                                               # nothing closes or reopens
    r2 = v.rerun(STAFF, "workers moved shifts", lapse + timedelta(days=8), [W1, W2, W3], RULES)
    assert r2["round_no"] == 2 and r2["opened_by"] == {"actor": STAFF, "reason": "workers moved shifts",
                                                       "rerun_of": 1}
    assert [e["worker_keys"] for e in events(v, VALIDATION_OUTREACH_REQUESTED)] == [[W1, W2, W3]]


def test_only_an_expired_round_is_rerun():
    v = opened(W1)
    with pytest.raises(InvalidTransition, match="expired"):
        v.rerun(STAFF, "why not", LATER, [W1], RULES)
    v.answer(W1, "confirmed", LATER)
    with pytest.raises(InvalidTransition, match="expired"):
        v.rerun(STAFF, "why not", LATER, [W1], RULES)


# --- views and persistence -----------------------------------------------------------------

def test_the_public_view_has_no_worker_key_the_staff_view_has_them():
    v = opened(W1, W2, W3)
    v.answer(W1, "confirmed", LATER)
    text = json.dumps(v.public_view())
    assert all(k not in text for k in (W1, W2, W3)) and "worker_key" not in text
    assert v.public_view()["rounds"][0]["asked"] == 3 and v.public_view()["rounds"][0]["answers"] == 1
    staff = v.staff_view()
    assert [a["worker_key"] for a in staff["affected"]] == [W1, W2, W3]
    assert staff["rounds"][0]["asked"] == [W1, W2, W3] and staff["rounds"][0]["answers"][0]["worker_key"] == W1


def test_round_trip_through_dict_and_an_older_document():
    v = opened(W1, W2)
    v.answer(W1, "confirmed", LATER)
    back = CaseValidation.from_dict(json.loads(json.dumps(v.to_dict())))
    assert back == v and back.raised == []
    assert back.answer(W1, "confirmed", LATER) == "duplicate"
    old = CaseValidation.from_dict({"case_ref": "ILM-OLD", "rounds": [
        {"round_no": 1, "status": "open", "quorum": 1, "opened_at": iso(NOW), "completed_at": None,
         "answers": [], "held": False}]})
    assert old.sweep(LATER, RULES) is None and old.open_round["asked"] == []


def test_a_case_from_before_affected_workers_adopts_the_worker_who_answers_at_their_own_door():
    v = CaseValidation(case_ref="ILM-OLD")
    v.open_new_round(NOW, [], RULES)                   # nobody known to ask
    assert v.answer(W1, "confirmed", LATER) == "counted"
    assert v.affected_keys == [W1] and v.rounds[0]["asked"] == [W1] and v.rounds[0]["status"] == "confirmed"
    with pytest.raises(InvalidInput):                  # staff cannot adopt anybody
        CaseValidation(case_ref="ILM-OLD2").record_visit_answer(W1, "confirmed", STAFF, LATER)


def test_early_answers_left_over_after_a_round_decided_wait_for_the_next():
    v = with_workers(W1, W2)
    v.answer(W1, "confirmed", NOW)
    v.answer(W2, "not_resolved", NOW)
    v.open_new_round(LATER, [W1], RULES)              # quorum 1: W1's answer decides
    assert v.rounds[0]["status"] == "confirmed" and [a["worker_key"] for a in v.rounds[0]["answers"]] == [W1]
    assert v.unsolicited[1]["applied_to"] is None


def test_an_answer_to_a_decided_round_is_late_and_never_counts_for_the_next():
    v = opened(W1, W2, W3)
    v.answer(W1, "not_resolved", LATER, round_no=1)
    v.answer(W2, "confirmed", LATER, round_no=1)          # decided: not_resolved (1 of 2)
    assert v.answer(W3, "confirmed", LATER, round_no=1) == "late"
    assert v.rounds[0]["late"][0]["worker_key"] == W3
    v.open_new_round(LATER, [W1, W2, W3], RULES, ["back_pay"])
    assert v.rounds[1]["answers"] == []                    # W3's answer was about the first remedy


def test_an_answer_about_a_round_not_opened_here_yet_is_applied_when_it_opens():
    v = with_workers(W1)
    assert v.answer(W1, "confirmed", NOW, round_no=1) == "kept"   # intake asked before this copy opened it
    v.open_new_round(LATER, [W1], RULES, ["back_pay"])
    assert v.rounds[0]["status"] == "confirmed" and v.rounds[0]["answers"][0]["worker_key"] == W1
