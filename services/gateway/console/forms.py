"""How the console's forms become the /v1 API's fields (pure: no request, no service).

A blank optional field is not sent (the owner's default applies); a checkbox is sent
only when ticked; tags are typed as words separated by spaces or commas. The owner
checks every value and refuses a bad one naming the field."""
from __future__ import annotations

import re

# The case list's filters as the form names them (the /v1/cases query and a saved view's filters).
FILTERS = ("status", "severity", "work_area", "business_ref", "assignee", "tag", "due_within_hours")
CHECKBOXES = ("overdue", "unassigned")
NOTE_SCOPES = ("internal", "private", "business", "partner")


def given(values, *names) -> dict:
    """The named fields that are filled in (a blank optional field is not sent)."""
    return {n: values[n].strip() for n in names if (values.get(n) or "").strip()}


def case_filters(values) -> dict:
    """The filters of the case list's form (or of a saved view's hidden copy of them)."""
    return {**given(values, *FILTERS), **{name: "true" for name in CHECKBOXES if values.get(name) == "true"}}


def tag_list(text: str | None) -> list[str]:
    """``"needs-interpreter, urgent"`` -> ``["needs-interpreter", "urgent"]`` (order kept, no repeats)."""
    return list(dict.fromkeys(t for t in re.split(r"[\s,]+", (text or "").strip().lower()) if t))


def assignee_of(values) -> dict:
    """An assignment's body: a username, or nobody (null) when left blank."""
    return {"assignee": (values.get("assignee") or "").strip().lower() or None}


def lease_held_by(case: dict, member: str, now_iso: str) -> dict | None:
    """The edit lease when another member holds it now ({holder, until}), else None."""
    lease = case.get("lease")
    if lease and lease["holder"] != member and lease["until"] > now_iso:
        return lease
    return None


# --- the portal's forms (portal_pages.py): a business's plan, progress and report ---------
PLAN_ROWS = 3                   # a plan form's rows (no script to add one); blank rows are not sent
PLAN_FIELDS = ("type", "description", "owner", "due_date")
EVIDENCE_FIELDS = ("file_name", "sha256", "media_type")


def plan_actions(values, rows: int = PLAN_ROWS) -> dict:
    """SubmitPlan's body from the rows ``type_1``, ``description_1``, ...: a row with any
    field but its type filled is an action (the type is a choice: never blank); the owner
    names a missing field."""
    actions = []
    for i in range(1, rows + 1):
        row = given(values, *(f"{f}_{i}" for f in PLAN_FIELDS))
        if set(row) - {f"type_{i}"}:
            actions.append({name.rsplit("_", 1)[0]: value for name, value in row.items()})
    return {"actions": actions}


def action_update(values) -> dict:
    """UpdateAction's body: a status, a note, and one evidence file's metadata when given."""
    evidence = given(values, *EVIDENCE_FIELDS)
    if "sha256" in evidence:
        evidence["sha256"] = evidence["sha256"].lower()
    return {**given(values, "status", "note", "reason"), "evidence": [evidence] if evidence else []}


def remediation_report(values) -> dict:
    """ReportRemediation's body: a summary and the evidence, one item a line."""
    return {"summary": (values.get("summary") or "").strip(),
            "evidence": [line.strip() for line in (values.get("evidence") or "").splitlines() if line.strip()]}


def new_party(values) -> dict:
    """RegisterParty's body (a country code in capitals; a side only for an agency, as the owner asks)."""
    party = given(values, "ref", "kind", "name", "country", "side")
    if "country" in party:
        party["country"] = party["country"].upper()
    return party
