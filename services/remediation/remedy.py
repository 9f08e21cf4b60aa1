"""Use cases of remedy (issue 11): plans returned with reasons, action progress, the
remedy ledger. Load, let the domain decide (plan.py, ledger.py), save with events."""
from __future__ import annotations

from datetime import datetime

from services.remediation.domain import BUSINESS, STAFF
from services.remediation.handlers import _command, _not_found
from services.remediation.ledger import Line, LedgerTotals, audit_entry, line_id_for, totals_of
from shared.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from shared.logging import get_logger

log = get_logger(__name__)


# --- plans -------------------------------------------------------------------------

def return_plan(cases, p, actor, now: datetime, policy):
    return _command(cases, p, actor, lambda c: c.return_plan(actor, now, policy, p["reasons"]))


def update_action(cases, p, actor, now: datetime) -> dict:
    changed = cases.change(p["case_ref"], lambda c: c.update_action(
        actor, now, p["action_id"], p["status"], p["note"], p["reason"], p["evidence"]),
        missing=lambda _: _not_found(p["case_ref"]))
    return changed.aggregate.view_for(actor)


# --- the ledger --------------------------------------------------------------------

def record_entry(lines, cases, p, actor, now: datetime) -> dict:
    case = _case_in_scope(cases, p["case_ref"], actor)
    if case.business_ref is None:
        raise InvalidTransition(f"case {case.case_ref} is not referred to a business yet: no ledger")
    if p["type"] == "owed":
        if actor["role"] not in STAFF:
            raise Forbidden(f"{actor['id']} may not record what is owed (staff do)")
        _check_action(case, p)
        line_id = line_id_for(case.case_ref, p["worker_key"], p["kind"], p["currency"])
        new = lambda: Line.open(case.case_ref, case.business_ref, p["worker_key"], p["kind"],  # noqa: E731
                                p["currency"], now)
    else:
        line_id, new = p["line_id"], None
    decide = lambda line: _on_this_case(line, case.case_ref).record(actor, now, p)  # noqa: E731
    try:
        changed = lines.change(line_id, decide, skip_unchanged=True)
    except NotFound:
        if new is None:
            raise NotFound(f"line {line_id} not found on case {case.case_ref}") from None
        lines.create(line_id, new())
        changed = lines.change(line_id, decide, skip_unchanged=True)
    log.info("ledger_entry", type=p["type"], line_id=line_id)
    return changed.aggregate.view_for(actor)


def get_ledger(lines, cases, p, actor) -> dict:
    case = _case_in_scope(cases, p["case_ref"], actor)
    views = [Line.from_dict(doc).view_for(actor) for doc in lines.repo.of_case(case.case_ref)]
    return {"case_ref": case.case_ref, "lines": views, "totals": totals_of(views)}


def ledger_totals(totals, p, actor) -> dict:
    ref = p["business_ref"]
    if actor["role"] not in STAFF and not (actor["role"] in BUSINESS and actor["id"] == ref):
        raise Forbidden(f"{actor['id']} may not see the ledger totals of {ref}")
    return (totals.get(ref) or LedgerTotals(ref)).view()


def count_entry(totals, event: dict):
    data = event["data"]
    return totals.change_or_create(data["business_ref"], lambda t: t.apply(data),
                                   lambda: LedgerTotals(data["business_ref"]), event=event).aggregate


def audit_on_case(cases, event: dict):
    return cases.change(event["data"]["case_ref"], lambda c: audit_entry(c, event["data"]), event=event).aggregate


# --- internals ---------------------------------------------------------------------

def _case_in_scope(cases, case_ref: str, actor: dict):
    """Staff: any case; a business: the cases referred to it (view_for decides)."""
    case = cases.load(case_ref, missing=lambda _: _not_found(case_ref))
    case.view_for(actor)
    return case


def _on_this_case(line: Line, case_ref: str) -> Line:
    if line.case_ref != case_ref:     # a line id of another case: as if it did not exist
        raise NotFound(f"line {line.line_id} not found on case {case_ref}")
    return line


def _check_action(case, p) -> None:
    if p["action_id"] is None:
        return
    action = next((a for a in case.plan if a.get("action_id") == p["action_id"]), None)
    if action is None or action["type"] != p["kind"]:
        raise InvalidInput({"action_id": [f"no {p['kind']} action {p['action_id']} in the plan of {case.case_ref}"]})
