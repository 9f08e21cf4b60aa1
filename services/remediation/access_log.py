"""Who looked at a case: a per-case access log that admins read.

Each read of a case (``get_case``) by staff, a business or a partner is one entry
(who, with which role, when, what: ``view``); an identity reveal (intake's
``identity.revealed``) is one too (``reveal``). Entries are inserted, never changed,
in their own collection, so logging a read never races with the case's own writes.
Ids (letters, digits and -, so a page cursor) sort by case, then time, so a case's log pages in order.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from shared.contracts.common import page_of
from shared.contracts.events import iso
from shared.domain import Aggregate
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass
class AccessEntry(Aggregate):
    case_ref: str
    at: str
    actor: dict
    action: str           # view, reveal
    raised: list = field(default_factory=list, repr=False, compare=False)

    def view(self) -> dict:
        return {"at": self.at, "actor": self.actor, "action": self.action}


def record(entries, case_ref: str, actor: dict, action: str, now: datetime) -> None:
    at = iso(now)
    entry_id = f"{case_ref}-{''.join(ch for ch in at if ch.isalnum())}-{secrets.token_hex(4)}"   # a valid cursor
    entries.create(entry_id, AccessEntry(case_ref, at, {"id": actor["id"], "role": actor["role"]}, action))


def of_case(entries, p: dict) -> dict:
    """A page of a case's log, oldest first (``after``: the last id of the page before)."""
    docs, next_id = entries.repo.page({"case_ref": p["case_ref"]}, p["limit"], p["after"])
    return page_of([{"entry_id": d["_id"], **AccessEntry.from_dict(d).view()} for d in docs], next_id)


def record_reveal(entries, event: dict) -> None:
    """From ``identity.revealed``: one entry per event (its id makes a redelivery a no-op)."""
    data = event["data"]
    at = data["revealed_at"]
    entry_id = f"{event['case_ref']}-{''.join(ch for ch in at if ch.isalnum())}-{event['event_id'][-8:]}"
    entries.create(entry_id, AccessEntry(event["case_ref"], at, dict(data["actor"]), "reveal"))
