"""Validation's use cases on in-memory fakes (issue 12): the outreach a round raises,
staff adding workers, answers recorded in person, the deadline sweep's claim (two
replicas never both act), reruns; and remediation's side: remedy actions on
remediation_reported, the tally on a reopen, a rerun round, the scorecard's rates."""
import random
from datetime import timedelta

import pytest

from services.remediation import handlers as remediation
from services.remediation.reports import BusinessRecord
from services.validation import handlers as validation
from services.validation.domain import CaseValidation
from services.validation.rules import Rules
from shared.contracts.events import (
    CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, VALIDATION_ANSWER_SUBMITTED, VALIDATION_COMPLETED, VALIDATION_ROUND_OPENED,
    iso, make_event,
)
from shared.errors import InvalidInput, InvalidTransition, NotFound
from tests.fakes import FakeRepository, unit_of_work
from tests.unit.test_handlers_remediation_validation import (
    GRIEVANCE, NOW, POLICY, STAFF, cases, status_changed, walk_to_remediation_reported,
)

W1, W2, W3 = ("wk_" + c * 32 for c in "abc")
REPORTED = status_changed("remediation_reported", remedy_actions=["back_pay", "return_of_documents"])
__all__ = ["cases"]     # the fixture, imported for the remediation tests below


class FakeValidationStore(FakeRepository):
    def due(self, now, limit):
        return sorted(k for k, d in self.docs.items() if d.get("next_due") and d["next_due"] <= now)[:limit]


def validations_with(*keys, repo=None):
    v = unit_of_work(CaseValidation, repo=repo if repo is not None else FakeValidationStore(),
                     consumer="validation.test")
    for k in keys:
        validation.note_reporter(v, make_event(GRIEVANCE_RECEIVED, "ILM-1", dict(GRIEVANCE, worker_key=k), "c"), NOW)
    return v


def outreach(v) -> list:
    return [e["data"] for e in v.relay.published if e["event_type"] == "validation.outreach_requested"]


def cmd(**fields):
    return {"case_ref": "ILM-1", **fields}


def test_the_round_asks_everybody_of_a_small_group_about_each_action():
    v = validations_with(W1, W2, W3)
    validation.open_round_if_reported(v, REPORTED, NOW, Rules(), random.Random(1))
    (ask,) = outreach(v)
    assert ask == {"round_no": 1, "worker_keys": [W1, W2, W3], "remedy_actions": ["back_pay", "return_of_documents"],
                   "reminder": False, "answer_by": iso(NOW + timedelta(days=14))}


def test_a_large_group_is_sampled_with_the_rng_given():
    keys = [f"wk_{i:032d}" for i in range(12)]
    v = validations_with(*keys)
    validation.open_round_if_reported(v, REPORTED, NOW, Rules(), random.Random(3))
    asked = outreach(v)[0]["worker_keys"]
    assert len(asked) == 6 and asked == Rules().choose(keys, random.Random(3))


def test_staff_add_a_worker_who_is_asked_in_the_open_round():
    v = validations_with(W1)
    validation.open_round_if_reported(v, REPORTED, NOW)
    view = validation.add_affected_worker(v, cmd(worker_key=W2), STAFF, NOW)
    assert view["added"] is True and [a["worker_key"] for a in view["affected"]] == [W1, W2]
    assert view["affected"][1]["added_by"] == STAFF
    assert [o["worker_keys"] for o in outreach(v)] == [[W1], [W2]]
    assert validation.add_affected_worker(v, cmd(worker_key=W2), STAFF, NOW)["added"] is False
    with pytest.raises(NotFound):
        validation.add_affected_worker(v, {"case_ref": "ILM-2", "worker_key": W2}, STAFF, NOW)


def test_answers_given_in_person_decide_like_any_other():
    v = validations_with(W1, W2, W3)
    validation.open_round_if_reported(v, REPORTED, NOW)
    validation.record_visit_answer(v, cmd(worker_key=W1, answer="confirmed", note=None), STAFF, NOW)
    view = validation.record_visit_answer(v, cmd(worker_key=W2, answer="confirmed", note="at the site"), STAFF, NOW)
    assert view["rounds"][0]["status"] == "confirmed"
    assert {a["recorded_by"]["id"] for a in view["rounds"][0]["answers"]} == {"cw-1"}
    with pytest.raises(InvalidInput):
        validation.record_visit_answer(v, cmd(worker_key="wk_" + "z" * 32, answer="confirmed", note=None), STAFF, NOW)
    done = [e for e in v.relay.published if e["event_type"] == "validation.completed"]
    assert done[0]["data"]["tally"]["confirmed"] == 2 and done[0]["data"]["asked"] == 3


def test_the_sweep_claims_a_due_round_once_even_with_two_replicas():
    repo = FakeValidationStore()
    v = validations_with(W1, W2, repo=repo)
    validation.open_round_if_reported(v, REPORTED, NOW)
    validation.record_submitted_answer(v, make_event(VALIDATION_ANSWER_SUBMITTED, "ILM-1",
        {"worker_key": W1, "answer": "confirmed", "retaliation": False, "submitted_at": iso(NOW)}, "c"), NOW)
    assert validation.sweep(v, NOW + timedelta(days=13)) == {}
    lapse = NOW + timedelta(days=14, minutes=1)
    # Replica B loads the due round, replica A writes first: B's guarded write fails,
    # it reloads, finds the round no longer due and writes nothing.
    other = unit_of_work(CaseValidation, repo=repo, relay=v.relay, consumer="validation.b")
    stale = repo.load("ILM-1")
    assert validation.sweep(v, lapse) == {"ILM-1": "reminded"}
    original_load, loads = repo.load, []

    def load_stale_first(doc_id):
        loads.append(doc_id)
        return stale if len(loads) == 1 else original_load(doc_id)
    repo.load = load_stale_first
    assert validation.sweep(other, lapse) == {}
    repo.load = original_load
    reminders = [o for o in outreach(v) if o["reminder"]]
    assert reminders == [{"round_no": 1, "worker_keys": [W2], "remedy_actions": ["back_pay", "return_of_documents"],
                          "reminder": True, "answer_by": iso(lapse + timedelta(days=7))}]
    assert validation.sweep(v, lapse + timedelta(days=7)) == {"ILM-1": "expired"}
    assert validation.sweep(v, lapse + timedelta(days=30)) == {}       # nothing left to do
    assert "validation.completed" not in v.relay.types()                 # expiry closes nothing


def test_a_case_worker_reruns_an_expired_round():
    v = validations_with(W1)
    validation.open_round_if_reported(v, REPORTED, NOW)
    with pytest.raises(InvalidTransition):
        validation.rerun_round(v, cmd(reason="too early"), STAFF, NOW)
    validation.sweep(v, NOW + timedelta(days=15))
    validation.sweep(v, NOW + timedelta(days=23))
    view = validation.rerun_round(v, cmd(reason="the workers were on leave"), STAFF, NOW + timedelta(days=24))
    assert [r["status"] for r in view["rounds"]] == ["expired", "open"]
    assert view["rounds"][1]["opened_by"]["reason"] == "the workers were on leave"
    assert outreach(v)[-1]["worker_keys"] == [W1] and outreach(v)[-1]["round_no"] == 2


# --- remediation's side ------------------------------------------------------------------------

def completed(round_no, outcome, tally=None):
    return make_event(VALIDATION_COMPLETED, "ILM-1", {"round_no": round_no, "outcome": outcome,
                                                      "completed_at": iso(NOW), "tally": tally, "asked": 3}, "c")


def test_remediation_reported_carries_the_plans_action_types(cases):
    walk_to_remediation_reported(cases)
    last = cases.relay.published[-1]["data"]
    assert last["to_status"] == "remediation_reported" and last["remedy_actions"] == ["back_pay"]
    assert all(e["data"]["remedy_actions"] is None for e in cases.relay.published[:-1])


def test_a_reopen_keeps_the_tally_on_the_staff_only_audit(cases):
    walk_to_remediation_reported(cases)
    tally = {"confirmed": 1, "partly": 1, "not_resolved": 1, "unsafe": 0}
    case = remediation.apply_validation_outcome(cases, completed(1, "not_resolved", tally), NOW, POLICY)
    assert case.status == "remediating" and case.audit[-1]["detail"]["tally"] == tally
    assert "detail" not in case.business_view()["audit"][-1]


def test_a_rerun_round_is_recorded_without_a_step_and_only_confirmed_closes(cases):
    walk_to_remediation_reported(cases)
    opened = lambda n: make_event(VALIDATION_ROUND_OPENED, "ILM-1", {"round_no": n, "opened_at": iso(NOW)}, "c")  # noqa: E731
    remediation.start_validation(cases, opened(1), NOW)
    case = remediation.start_validation(cases, opened(2), NOW)       # round 1 expired, rerun
    assert case.status == "validating" and case.audit[-1]["action"] == "rerun_validation"
    with pytest.raises(InvalidTransition):
        remediation.apply_validation_outcome(cases, completed(1, "confirmed"), NOW, POLICY)
    assert remediation.apply_validation_outcome(cases, completed(2, "confirmed"), NOW, POLICY).status == "closed"


def test_the_scorecard_rates_come_from_the_first_rounds_outcomes():
    records = unit_of_work(BusinessRecord, consumer="remediation.project_business_record")
    base = {"severity": "normal", "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None,
            "business_ref": "SUP-1", "business_type": "supplier", "actor": {"id": "validation", "role": "system"},
            "changed_at": iso(NOW)}
    steps = [("ILM-1", "referred", None), ("ILM-1", "closed", {"round_no": 1, "outcome": "confirmed"}),
             ("ILM-2", "referred", None), ("ILM-2", "remediating", {"round_no": 1, "outcome": "not_resolved"}),
             ("ILM-2", "closed", {"round_no": 2, "outcome": "confirmed"})]
    for version, (ref, to, fact) in enumerate(steps):
        remediation.project_business_record(records, make_event(CASE_STATUS_CHANGED, ref, dict(
            base, from_status="triaged", to_status=to, case_version=version, validation=fact), "c"))
    card = remediation.supplier_scorecard(records, {"business_ref": "SUP-1"}, STAFF)
    assert card["validated_first_round_share"] == 0.5 and card["reopen_rate"] == 0.5

