"""Worker validation rounds: numbering, one open round at a time, one answer per
worker, quorum, "any not_resolved reopens", the events raised, and that the public
view never carries a worker key."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from services.validation.domain import CaseValidation
from shared.contracts.events import (
    VALIDATION_COMPLETED, VALIDATION_ROUND_OPENED, iso, make_event,
)
from shared.errors import InvalidTransition

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(hours=3)
W1, W2, W3 = ("wk_" + c * 32 for c in "abc")


def fresh() -> CaseValidation:
    return CaseValidation(case_ref="ILM-TEST0001")


def assert_valid_events(v: CaseValidation):
    """Every raised event must pass its contract (a domain/contract mismatch fails)."""
    for contract, data in v.raised:
        make_event(contract, v.case_ref, data, "corr-1")


# --- opening rounds --------------------------------------------------------------

def test_rounds_are_numbered_from_one_and_raise_round_opened():
    v = fresh()
    r1 = v.open_new_round(NOW)
    assert r1["round_no"] == 1
    assert r1["status"] == "open"
    assert r1["opened_at"] == iso(NOW)
    assert r1["answers"] == [] and r1["completed_at"] is None
    assert v.open_round is r1
    assert v.raised == [(VALIDATION_ROUND_OPENED, {"round_no": 1, "opened_at": "2026-11-01T09:00:00.000Z"})]
    assert_valid_events(v)

    v.record_answer(W1, "not_resolved", NOW)           # quorum 1 -> completes round 1
    v.raised.clear()
    r2 = v.open_new_round(LATER)
    assert r2["round_no"] == 2
    assert [r["round_no"] for r in v.rounds] == [1, 2]
    assert v.raised == [(VALIDATION_ROUND_OPENED, {"round_no": 2, "opened_at": iso(LATER)})]


def test_cannot_open_a_round_while_one_is_open():
    v = fresh()
    v.open_new_round(NOW, quorum=2)
    v.raised.clear()
    before = v.to_dict()
    with pytest.raises(InvalidTransition, match="round 1 is still open"):
        v.open_new_round(LATER)
    assert v.to_dict() == before
    assert v.raised == []


def test_open_round_is_none_without_rounds_and_after_completion():
    v = fresh()
    assert v.open_round is None
    v.open_new_round(NOW)
    v.record_answer(W1, "confirmed", NOW)
    assert v.open_round is None


# --- answers ---------------------------------------------------------------------

def test_answer_without_an_open_round_is_refused():
    v = fresh()
    with pytest.raises(InvalidTransition, match="no validation round is open"):
        v.record_answer(W1, "confirmed", NOW)
    v.open_new_round(NOW)
    v.record_answer(W1, "confirmed", NOW)               # completes it
    v.raised.clear()
    with pytest.raises(InvalidTransition):
        v.record_answer(W2, "confirmed", NOW)
    assert v.raised == []
    assert len(v.rounds[0]["answers"]) == 1


def test_same_worker_cannot_answer_a_round_twice():
    v = fresh()
    v.open_new_round(NOW, quorum=3)
    v.record_answer(W1, "confirmed", NOW)
    before = v.to_dict()
    with pytest.raises(InvalidTransition, match="already answered"):
        v.record_answer(W1, "not_resolved", LATER)
    assert v.to_dict() == before
    assert v.open_round is not None


def test_same_worker_may_answer_again_in_a_later_round():
    v = fresh()
    v.open_new_round(NOW)
    v.record_answer(W1, "not_resolved", NOW)
    v.open_new_round(LATER)
    v.record_answer(W1, "confirmed", LATER)
    assert [r["status"] for r in v.rounds] == ["not_resolved", "confirmed"]


def test_round_completes_only_at_quorum():
    v = fresh()
    v.open_new_round(NOW, quorum=3)
    v.raised.clear()
    v.record_answer(W1, "confirmed", NOW)
    v.record_answer(W2, "confirmed", NOW)
    assert v.open_round is not None and v.rounds[0]["status"] == "open"
    assert v.rounds[0]["completed_at"] is None
    assert v.raised == []
    v.record_answer(W3, "confirmed", LATER)
    assert v.open_round is None
    assert v.rounds[0]["status"] == "confirmed"
    assert v.rounds[0]["completed_at"] == iso(LATER)
    assert v.raised == [(VALIDATION_COMPLETED, {"round_no": 1, "outcome": "confirmed",
                                                "completed_at": iso(LATER)})]
    assert_valid_events(v)


@pytest.mark.parametrize("answers,outcome", [
    (["confirmed", "confirmed", "confirmed"], "confirmed"),
    (["not_resolved", "confirmed", "confirmed"], "not_resolved"),
    (["confirmed", "confirmed", "not_resolved"], "not_resolved"),
    (["not_resolved", "not_resolved", "not_resolved"], "not_resolved"),
])
def test_any_not_resolved_makes_the_outcome_not_resolved(answers, outcome):
    v = fresh()
    v.open_new_round(NOW, quorum=3)
    v.raised.clear()
    for worker, answer in zip((W1, W2, W3), answers):
        v.record_answer(worker, answer, NOW)
    assert v.rounds[0]["status"] == outcome
    assert len(v.raised) == 1
    contract, data = v.raised[0]
    assert contract is VALIDATION_COMPLETED
    assert data["outcome"] == outcome and data["round_no"] == 1
    assert_valid_events(v)


def test_answers_are_recorded_with_worker_and_time():
    v = fresh()
    v.open_new_round(NOW, quorum=2)
    round_ = v.record_answer(W1, "confirmed", LATER)
    assert round_["answers"] == [{"worker_key": W1, "answer": "confirmed", "at": iso(LATER), "retaliation": False}]


def test_unsolicited_answers_are_kept_apart_from_rounds():
    v = fresh()
    v.record_unsolicited(W1, "not_resolved", NOW)
    assert v.unsolicited == [{"worker_key": W1, "answer": "not_resolved", "at": iso(NOW)}]
    assert v.rounds == []
    assert v.raised == []
    # and they do not count towards a round opened afterwards
    v.open_new_round(NOW, quorum=1)
    assert v.rounds[0]["answers"] == []
    assert v.open_round is not None


# --- views and persistence -------------------------------------------------------

def test_public_view_never_contains_a_worker_key():
    v = fresh()
    v.open_new_round(NOW, quorum=2)
    v.record_answer(W1, "confirmed", NOW)
    v.record_answer(W2, "not_resolved", NOW)
    v.open_new_round(LATER, quorum=2)
    v.record_answer(W3, "confirmed", LATER)
    v.record_unsolicited(W1, "confirmed", LATER)
    view = v.public_view()
    text = json.dumps(view)
    assert "worker_key" not in text
    for key in (W1, W2, W3):
        assert key not in text
    assert view["case_ref"] == "ILM-TEST0001"
    assert [(r["round_no"], r["status"], r["answers"]) for r in view["rounds"]] == [
        (1, "not_resolved", 2), (2, "open", 1)]
    # the view is a copy: the aggregate still has the answers
    assert len(v.rounds[0]["answers"]) == 2


def test_round_trip_through_dict():
    v = fresh()
    v.open_new_round(NOW, quorum=2)
    v.record_answer(W1, "confirmed", NOW)
    v.record_unsolicited(W2, "not_resolved", NOW)
    data = v.to_dict()
    assert "raised" not in data
    data = json.loads(json.dumps(data))                 # survives a JSON/BSON-like trip
    back = CaseValidation.from_dict(data)
    assert back.to_dict() == v.to_dict()
    assert back == v
    assert back.raised == []
    # the restored aggregate keeps enforcing the rules
    with pytest.raises(InvalidTransition):
        back.record_answer(W1, "confirmed", LATER)
    back.record_answer(W2, "confirmed", LATER)
    assert back.rounds[0]["status"] == "confirmed"


def test_from_dict_tolerates_a_new_document():
    v = CaseValidation.from_dict({"case_ref": "ILM-TEST0002"})
    assert v.rounds == [] and v.unsolicited == []
