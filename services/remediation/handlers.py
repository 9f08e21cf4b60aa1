"""Remediation's use cases, one function each: load the case, let the domain decide,
save it with its events (``cases`` is a UnitOfWork, shared/unit_of_work.py).
Callers pass the clock (``now``) and the deadline policy; nothing here reads a
setting or the time itself, so the unit tests run on in-memory fakes."""
from __future__ import annotations

from datetime import datetime

from services.remediation import reports
from services.remediation.domain import Case, DeadlinePolicy
from services.remediation.reports import BusinessRecord
from shared.errors import NotFound
from shared.logging import get_logger

log = get_logger(__name__)


# --- events ----------------------------------------------------------------------

def open_case(cases, event: dict, now: datetime) -> bool:
    opened = cases.create(event["case_ref"], Case.open(event["case_ref"], event["data"], now))
    log.info("case_opened" if opened else "case_already_open")
    return opened


def start_validation(cases, event: dict, now: datetime):
    return _apply(cases, event, lambda case: case.start_validation(event["data"]["round_no"], now))


def apply_validation_outcome(cases, event: dict, now: datetime, policy: DeadlinePolicy):
    data = event["data"]
    return _apply(cases, event, lambda case: case.apply_validation_outcome(
        data["round_no"], data["outcome"], now, policy, data.get("tally")))


class CaseNotOpenYet(Exception):
    """Intake's event about a case whose ``grievance.received`` (another queue) is not
    applied yet: retried with back-off rather than dead-lettered at once."""


def record_identity_reveal(cases, event: dict):
    data = event["data"]
    at = datetime.fromisoformat(data["revealed_at"].replace("Z", "+00:00"))
    return cases.change(event["case_ref"], lambda case: case.record_identity_reveal(data["actor"], data["basis"], at),
                        event=event, missing=CaseNotOpenYet).aggregate


def record_worker_message(cases, event: dict):
    data = event["data"]
    at = datetime.fromisoformat(data["received_at"].replace("Z", "+00:00"))
    return cases.change(event["case_ref"], lambda case: case.record_worker_message(data["kind"], at),
                        event=event, missing=CaseNotOpenYet).aggregate


def record_visit_answer(cases, event: dict):
    data = event["data"]
    at = datetime.fromisoformat(data["recorded_at"].replace("Z", "+00:00"))
    return cases.change(event["case_ref"], lambda case: case.record_visit_answer(
        data["round_no"], data["answer"], data["recorded_by"], at), event=event, missing=CaseNotOpenYet).aggregate


def project_business_record(records, event: dict, apply=BusinessRecord.apply):
    """Feed the scorecard counters of the business the case is referred to; ``apply``:
    the record's method for this kind of event (a status change, an escalation)."""
    ref = event["data"]["business_ref"]
    if ref is None:
        return None
    return records.change_or_create(ref, lambda r: apply(r, event["data"]), lambda: BusinessRecord(ref),
                                    event=event).aggregate


# --- commands (``actor`` is the verified principal's dict, shared/rpc.py) -----------------

def get_case(cases, p: dict, actor: dict, chain=frozenset()) -> dict:
    """The view the actor may see; ``chain``: the businesses a partner sources from."""
    return cases.load(p["case_ref"], missing=lambda _: _not_found(p["case_ref"])).view_for(actor, chain)


def triage(cases, p, actor, now):
    return _command(cases, p, actor, lambda c: c.triage(actor, now, p["severity"], p["note"], p.get("work_area")))


def refer(cases, p, actor, now, policy):
    return _command(cases, p, actor, lambda c: c.refer(actor, now, p["business_ref"], p["business_type"], policy))


def acknowledge(cases, p, actor, now, policy):
    return _command(cases, p, actor, lambda c: c.acknowledge(actor, now, policy, p["note"]))


def submit_plan(cases, p, actor, now):
    actions = [_plain(a) for a in p["actions"]]
    return _command(cases, p, actor, lambda c: c.submit_plan(actor, now, actions))


def accept_plan(cases, p, actor, now, policy):
    return _command(cases, p, actor, lambda c: c.accept_plan(actor, now, policy, p["note"]))


def report_remediation(cases, p, actor, now):
    return _command(cases, p, actor, lambda c: c.report_remediation(actor, now, p["summary"], p["evidence"]))


def withdraw(cases, p, actor, now):
    return _command(cases, p, actor, lambda c: c.withdraw(actor, now, p["reason"]))


def record_other_channel(cases, p, actor, now):
    return _command(cases, p, actor, lambda c: c.record_other_channel(actor, now, p["channel"], p["note"]))


# --- engaged businesses and public reporting -----------------------------------------

def supplier_scorecard(records, p, actor, chain=frozenset()) -> dict:
    reports.check_scorecard_access(actor, p["business_ref"], chain)
    return (records.get(p["business_ref"]) or BusinessRecord(p["business_ref"])).scorecard()


# --- internals ---------------------------------------------------------------------

def _command(cases, p, actor, decide) -> dict:
    case = cases.change(p["case_ref"], decide, missing=lambda _: _not_found(p["case_ref"])).aggregate
    log.info("case_command", status=case.status)
    return case.view_for(actor)


def _apply(cases, event, decide):
    case = cases.change(event["case_ref"], decide, event=event).aggregate
    log.info("case_event_applied" if case else "case_event_duplicate", status=case.status if case else None)
    return case


def _not_found(case_ref: str) -> NotFound:
    return NotFound(f"case {case_ref} not found")


def _plain(action: dict) -> dict:
    """Dates and decimals as strings, so the plan stores and travels as JSON."""
    return {k: (str(v) if v is not None and not isinstance(v, (int, str)) else v)
            for k, v in action.items()}
