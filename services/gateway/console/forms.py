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
