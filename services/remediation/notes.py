"""Notes on a case, each with a scope that the service enforces in its views
(``Case.view_for``), never the caller or the page:

| scope | who sees it |
|---|---|
| internal | staff |
| private | its author only |
| business | staff, and the business the case is referred to |
| partner | staff, and the partners whose supply chain holds the case |

Staff write notes. A note's text stays on the case: it is never in an event, a
webhook, a log line or the audit trail (which records only its id and scope).
A note "to the worker" (sent on the worker's channel in their language) is not built
here: it needs intake to queue a chat reply (services/intake/replies.py).

Pure (``Noted``, mixed into Case): callers pass ``now``.
"""
from __future__ import annotations

from datetime import datetime

from services.remediation.assignment import missing_case
from shared.contracts.common import BUSINESS_ROLES, PARTNER_ROLES, STAFF_ROLES
from shared.contracts.events import iso
from shared.errors import Forbidden

NOTE_SCOPES = ("internal", "private", "business", "partner")
NOTE_ACTIONS = frozenset({"add_note"})     # staff-only audit actions
MAX_NOTES = 500                            # per case: the case document stays small


class Noted:
    """Mixed into Case (field ``notes``)."""

    def add_note(self, actor: dict, now: datetime, scope: str, text: str) -> dict:
        if actor["role"] not in STAFF_ROLES:
            raise Forbidden(f"role {actor['role']} may not write notes")
        if len(self.notes) >= MAX_NOTES:
            raise Forbidden(f"case {self.case_ref} has {MAX_NOTES} notes, the most a case keeps")
        note = {"note_id": f"N{len(self.notes) + 1}", "at": iso(now), "scope": scope,
                "author": {"id": actor["id"], "role": actor["role"]}, "text": text}
        self.notes.append(note)
        self._audit(actor, now, "add_note", self.status, self.status, {"note_id": note["note_id"], "scope": scope})
        return note

    def notes_for(self, actor: dict, in_chain: bool = False) -> list[dict]:
        """The notes ``actor`` may read (the caller has checked the case is in its scope)."""
        role = actor["role"]
        if role in STAFF_ROLES:
            return [n for n in self.notes if n["scope"] != "private" or n["author"]["id"] == actor["id"]]
        if role in BUSINESS_ROLES and actor["id"] == self.business_ref:
            return [_for_outsiders(n) for n in self.notes if n["scope"] == "business"]
        if role in PARTNER_ROLES and in_chain:
            return [_for_outsiders(n) for n in self.notes if n["scope"] == "partner"]
        return []


def _for_outsiders(note: dict) -> dict:
    """A business or partner sees the note, not which staff member wrote it."""
    return {k: note[k] for k in ("note_id", "at", "scope", "text")}


def add_note(cases, p: dict, actor: dict, now: datetime) -> dict:
    return cases.change(p["case_ref"], lambda c: c.add_note(actor, now, p["scope"], p["text"]),
                        missing=missing_case(p["case_ref"])).result
