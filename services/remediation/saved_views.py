"""Saved views: a staff member's named case-list filters, kept by the service so that
the console and the CLI share them, with the counts a shift starts from and the bulk
actions a team lead uses on them.

A view belongs to the person who saved it (nobody else lists, opens or acts on it).
Opening a view's first page marks it looked at, so "new or changed since I last
looked" (``changed_only``, and the ``changed`` count) means since that moment. A bulk
action changes the view's cases one by one, each a guarded write on the case's own
trail (as one command would), at most BULK_LIMIT per call; ``more`` says there are
others to do. An export of a view is one entry per case in the access log.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.remediation import access_log
from services.remediation.case_list import case_query, count_cases, list_cases
from shared.contracts.events import iso
from shared.domain import Aggregate
from shared.errors import InvalidInput, NotFound
from shared.logging import get_logger

log = get_logger(__name__)
MAX_VIEWS = 50            # per person
BULK_LIMIT = 500          # cases changed or exported per call
EXPORT_FIELDS = ("case_ref", "status", "severity", "work_area", "channel", "language", "business_ref",
                 "assignee", "tags", "opened_at", "updated_at", "next_due_at", "escalation_level")


@dataclass
class SavedView(Aggregate):
    owner: str
    name: str
    filters: dict
    saved_at: str
    looked_at: str | None = None
    raised: list = field(default_factory=list, repr=False, compare=False)


def view_id(owner: str, name: str) -> str:
    return f"{owner}/{name.casefold()}"


def _asked(filters: dict) -> dict:
    return {k: v for k, v in filters.items() if v is not None}


def _load(views, actor: dict, name: str) -> SavedView:
    return views.load(view_id(actor["id"], name), missing=lambda _: NotFound(f"no view named {name!r}"))


# --- use cases (``views``: a UnitOfWork of SavedView) ------------------------------------------

def save_view(views, cases, parties, p: dict, actor: dict, now: datetime) -> dict:
    """Create or replace the caller's view of that name (its filters checked as a list's)."""
    filters = _asked(p["filters"])
    if "changed_since" in filters:
        raise InvalidInput({"filters": {"changed_since": ["a view keeps no fixed time: open it with changed_only"]}})
    case_query(parties, filters, actor, frozenset(), now)      # a partner_ref that is no partner fails here
    doc_id = view_id(actor["id"], p["name"])
    if views.get(doc_id) is None and views.repo.count({"owner": actor["id"]}) >= MAX_VIEWS:
        raise InvalidInput({"name": [f"at most {MAX_VIEWS} saved views each: delete one first"]})
    view = views.change_or_create(doc_id, lambda v: setattr(v, "filters", filters),
                                  lambda: SavedView(actor["id"], p["name"], filters, iso(now))).aggregate
    return _summary(view, cases, parties, actor, now)


def list_views(views, cases, parties, actor: dict, now: datetime) -> dict:
    """The caller's views by name, each with how many cases it holds now and how many
    of those are new or changed since it was last opened."""
    docs = sorted(views.repo.of_owner(actor["id"]), key=lambda d: d["name"].casefold())
    return {"items": [_summary(SavedView.from_dict(d), cases, parties, actor, now) for d in docs]}


def delete_view(views, p: dict, actor: dict) -> dict:
    _load(views, actor, p["name"])
    views.repo.remove(view_id(actor["id"], p["name"]))
    return {"name": p["name"], "deleted": True}


def view_cases(views, cases, parties, p: dict, actor: dict, now: datetime) -> dict:
    view = _load(views, actor, p["name"])
    filters = _with_changes(view, p["changed_only"])
    page = list_cases(cases, parties, {**filters, "limit": p["limit"], "after": p["after"]}, actor,
                      frozenset(), now)
    if p["after"] is None:                  # opening the view (its first page) is looking at it
        views.change(view_id(actor["id"], p["name"]), lambda v: setattr(v, "looked_at", iso(now)))
    return {**page, "view": view.name}


def bulk_assign(views, cases, parties, p: dict, actor: dict, now: datetime) -> dict:
    return _bulk(views, cases, parties, p, actor, now, "assigned",
                 lambda case: case.assign(actor, now, p["assignee"]))


def bulk_tag(views, cases, parties, p: dict, actor: dict, now: datetime) -> dict:
    if not (p["add"] or p["remove"]):
        raise InvalidInput({"add": ["name a tag to add or to remove"]})
    return _bulk(views, cases, parties, p, actor, now, "tagged",
                 lambda case: case.tag(actor, now, p["add"], p["remove"]))


def export_view(views, cases, parties, entries, p: dict, actor: dict, now: datetime) -> dict:
    """The view's cases as rows (EXPORT_FIELDS, no worker key or words), each export
    logged on the case's access log."""
    view = _load(views, actor, p["name"])
    docs, more = _matching(cases, parties, view.filters, actor, now)
    rows = []
    for doc in docs:                        # in reference order, as the store pages them
        rows.append({k: doc.get(k) for k in EXPORT_FIELDS})
        access_log.record(entries, doc["_id"], actor, "export", now)
    log.info("view_exported", count=len(rows))
    return {"view": view.name, "fields": list(EXPORT_FIELDS), "rows": rows, "more": more}


# --- internals ---------------------------------------------------------------------------

def _summary(view: SavedView, cases, parties, actor: dict, now: datetime) -> dict:
    count = count_cases(cases, parties, view.filters, actor, now)
    changed = count_cases(cases, parties, _with_changes(view, True), actor, now) if view.looked_at else count
    return {"name": view.name, "filters": view.filters, "saved_at": view.saved_at, "looked_at": view.looked_at,
            "count": count, "changed": changed}        # never opened: all of it is new


def _with_changes(view: SavedView, changed_only: bool) -> dict:
    if changed_only and view.looked_at:
        return {**view.filters, "changed_since": datetime.fromisoformat(view.looked_at.replace("Z", "+00:00"))}
    return dict(view.filters)


def _matching(cases, parties, filters: dict, actor: dict, now: datetime) -> tuple[list[dict], bool]:
    """The view's case documents (at most BULK_LIMIT, by reference), and whether there are more."""
    query = case_query(parties, filters, actor, frozenset(), now)
    docs, after = cases.repo.page(query, BULK_LIMIT, None) if query is not None else ([], None)
    return docs, after is not None


def _bulk(views, cases, parties, p: dict, actor: dict, now: datetime, done: str, decide) -> dict:
    view = _load(views, actor, p["name"])
    docs, more = _matching(cases, parties, view.filters, actor, now)
    refs = [d["_id"] for d in docs]
    changed = [ref for ref in refs if cases.change(ref, decide, skip_unchanged=True).result]
    log.info("view_bulk_action", action=done, count=len(changed))
    return {"view": view.name, "matched": len(refs), done: len(changed), "case_refs": changed, "more": more}
