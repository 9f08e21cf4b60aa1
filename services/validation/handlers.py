"""Validation's use cases: the reporter becomes an affected worker; a round opens when
remediation is reported; answers (the worker's own, through intake or a door that
checked the receipt, or given in person and recorded by a case worker) decide it; the
deadline sweep reminds, then expires; a case worker reruns an expired round.

Callers pass the clock, the rules and the random source (``rng``): nothing here reads
a setting, the time or the global random state, so the unit tests replay it all."""
from __future__ import annotations

import random
from datetime import datetime

from services.validation.domain import CaseValidation
from services.validation.rules import Rules
from shared.contracts.events import iso
from shared.errors import ConcurrentUpdate, InvalidTransition, NotFound
from shared.logging import get_logger

log = get_logger(__name__)
SWEEP_BATCH = 200


# --- events ----------------------------------------------------------------------------

def note_reporter(validations, event: dict, now: datetime):
    """``grievance.received``: the reporter is the case's first affected worker."""
    return _apply(validations, event, lambda v: v.add_affected(event["data"]["worker_key"], now))


def open_round_if_reported(validations, event: dict, now: datetime, rules: Rules = Rules(),
                           rng: random.Random | None = None):
    data = event["data"]
    if data["to_status"] != "remediation_reported":
        return None
    rng = rng or random.Random()
    actions = data.get("remedy_actions") or []
    v = _apply(validations, event, lambda v: v.open_new_round(
        now, rules.choose(v.affected_keys, rng), rules, actions))
    log.info("validation_round_opened" if v else "validation_event_duplicate")
    return v


def record_submitted_answer(validations, event: dict, now: datetime, rules: Rules = Rules()):
    """Intake's ``validation.answer_submitted``: a duplicate or a stranger's answer is
    recorded as such, never raised (that would dead-letter the event)."""
    data = event["data"]
    changed = validations.change_or_create(event["case_ref"], lambda v: v.answer(
        data["worker_key"], data["answer"], now, rules, retaliation=data["retaliation"],
        round_no=data.get("round_no")),
        lambda: CaseValidation(event["case_ref"]), event=event)
    log.info("validation_answer_recorded", answer=data["answer"], held=data["retaliation"], fate=changed.result)
    return changed.aggregate


def sweep(validations, now: datetime, rules: Rules = Rules(), limit: int = SWEEP_BATCH) -> dict:
    """Rounds past their ``answer_by``: each is claimed with a revision-guarded write,
    so of two replicas sweeping at once only one reminds or expires it (the other
    reloads, finds it no longer due and writes nothing)."""
    done = {}
    for case_ref in validations.repo.due(iso(now), limit):
        try:
            changed = validations.change(case_ref, lambda v: v.sweep(now, rules), skip_unchanged=True)
        except ConcurrentUpdate:            # busy: the next sweep takes it
            log.warning("validation_sweep_deferred", case_id=case_ref)
            continue
        if changed.result:
            done[case_ref] = changed.result
            log.info("validation_round_" + changed.result, case_id=case_ref)
    return done


# --- commands (``actor``: the verified principal, shared/rpc.py) ---------------------------

def submit_answer(validations, p: dict, actor: dict, now: datetime, rules: Rules = Rules()) -> dict:
    """``actor`` is the worker of this case (shared/rpc.py checks the token's case):
    the worker key is the token's, never the payload's. A caller waiting for an answer
    is told that no round is open (intake's events keep early answers instead)."""
    def decide(v: CaseValidation):
        if v.open_round is None:
            raise InvalidTransition(f"case {p['case_ref']}: no validation round is open")
        return v.answer(actor["id"], p["answer"], now, rules)
    changed = validations.change(p["case_ref"], decide, missing=lambda _: InvalidTransition(
        f"case {p['case_ref']}: no validation round is open"))
    return changed.aggregate.public_view() | {"answer": changed.result}


def add_affected_worker(validations, p: dict, actor: dict, now: datetime) -> dict:
    by = {"id": actor["id"], "role": actor["role"]}
    changed = validations.change(p["case_ref"], lambda v: v.add_affected(p["worker_key"], now, by),
                                 missing=lambda _: _not_found(p["case_ref"]))
    return changed.aggregate.staff_view() | {"added": changed.result}


def record_visit_answer(validations, p: dict, actor: dict, now: datetime, rules: Rules = Rules()) -> dict:
    changed = validations.change(p["case_ref"], lambda v: v.record_visit_answer(
        p["worker_key"], p["answer"], actor, now, rules, p.get("note")), missing=lambda _: _not_found(p["case_ref"]))
    log.info("validation_visit_answer", answer=p["answer"], fate=changed.result)
    return changed.aggregate.staff_view() | {"answer": changed.result}


def rerun_round(validations, p: dict, actor: dict, now: datetime, rules: Rules = Rules(),
                rng: random.Random | None = None) -> dict:
    rng = rng or random.Random()
    changed = validations.change(p["case_ref"], lambda v: v.rerun(
        actor, p["reason"], now, rules.choose(v.affected_keys, rng), rules), missing=lambda _: _not_found(p["case_ref"]))
    log.info("validation_round_rerun", round_no=changed.result["round_no"])
    return changed.aggregate.staff_view()


def get_rounds(validations, p: dict) -> dict:
    return validations.load(p["case_ref"], missing=lambda _: _not_found(p["case_ref"])).staff_view()


def _apply(validations, event, decide):
    """An event about a case: its validation record is created on first use."""
    ref = event["case_ref"]
    return validations.change_or_create(ref, decide, lambda: CaseValidation(ref), event=event).aggregate


def _not_found(case_ref: str) -> NotFound:
    return NotFound(f"no validation for case {case_ref}")

