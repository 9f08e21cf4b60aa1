"""The case list of a shift: filters, the deadlines board and tags.

Scope comes first and is the service's: staff list every case; a business the cases
referred to it; a partner the cases of its supply chain. Filters only narrow that
scope, and a business or partner may filter only by what its own view shows (status,
severity, work area, deadlines, changes, reference): filtering by channel, language,
assignee, tag or partner would tell it, case by case, what its view hides (that a
worker called the hotline, or an internal tag), so those are refused with the field
named.

Every stored case carries the keys lists filter on, derived whenever it is written
(``Listed.to_dict``): ``next_due_at`` and ``next_due_deadline`` (the earliest deadline not
yet met while the case is open, and its name) and ``updated_at`` (its last audited change). Cases written before
these keys existed get them from the escalation sweep's catch-up (``unscheduled``).

``Listed`` is mixed into Case (pure: callers pass ``now``)."""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.contracts.common import OPEN_CASE_STATES, PARTNER_ROLES, STAFF_ROLES, page_of
from shared.contracts.events import iso
from shared.errors import Forbidden, InvalidInput, NotFound

# Filters on facts a business's or partner's view does not show (see the module).
STAFF_ONLY_FILTERS = ("partner_ref", "channel", "language", "assignee", "unassigned", "tag")
PLAIN_FILTERS = ("status", "severity", "work_area", "business_ref", "channel", "language", "assignee")
TAG_ACTIONS = frozenset({"tag"})        # staff matters: never in a business's or partner's view
MAX_TAGS = 20
BOARD_FIELDS = ("severity", "status", "work_area", "assignee", "business_ref", "escalation_level")


class Listed:
    """Mixed into Case (field ``tags``)."""

    def tag(self, actor: dict, now: datetime, add=(), remove=()) -> bool:
        """False when nothing changes (nothing to record)."""
        if actor["role"] not in STAFF_ROLES:
            raise Forbidden(f"role {actor['role']} may not tag cases")
        tags = sorted((set(self.tags) | set(add)) - set(remove))
        if tags == sorted(self.tags):
            return False
        if len(tags) > MAX_TAGS:
            raise InvalidInput({"add": [f"a case keeps at most {MAX_TAGS} tags"]})
        added, removed = sorted(set(tags) - set(self.tags)), sorted(set(self.tags) - set(tags))
        self.tags = tags
        self._audit(actor, now, "tag", self.status, self.status, {"added": added, "removed": removed})
        return True

    def next_due(self) -> tuple[str | None, str | None]:
        """(due, name) of the earliest deadline not yet met while the case is open."""
        if self.status not in OPEN_CASE_STATES:
            return None, None
        return min(((e["due"], name) for name, e in self.deadlines.items() if e["done_at"] is None),
                   default=(None, None))

    def to_dict(self) -> dict:
        data = super().to_dict()
        due, name = self.next_due()
        data.update(next_due_at=due, next_due_deadline=name,
                    updated_at=self.audit[-1]["at"] if self.audit else self.opened_at)
        return data


# --- the query --------------------------------------------------------------------------

def case_query(parties, filters: dict, actor: dict, chain: frozenset, now: datetime) -> dict | None:
    """The store query of the cases ``actor`` may list with these filters (None: none)."""
    asked = {k: v for k, v in filters.items() if v is not None and v is not False}
    if actor["role"] not in STAFF_ROLES:
        refused = [k for k in STAFF_ONLY_FILTERS if k in asked]
        if refused:
            raise Forbidden(f"only staff may filter cases by {', '.join(refused)}")
    scope = _scope(asked, actor, chain)
    if scope is None:
        return None
    query = {**scope, **{k: asked[k] for k in PLAIN_FILTERS if k in asked and k not in scope}}
    if asked.get("unassigned"):
        query["assignee"] = {"$in": [None]}     # nx-27017 matches a null only so
    if "tag" in asked:
        query["tags"] = asked["tag"]            # not indexed: nx-27017 answers nothing on an indexed array
    if "partner_ref" in asked:
        query.update(_in_chain(_partner_chain(parties, asked["partner_ref"])))
    due = [iso(now)] if asked.get("overdue") else []
    if "due_within_hours" in asked:
        due.append(iso(now + timedelta(hours=asked["due_within_hours"])))
    if due:
        query["next_due_at"] = {"$lt": min(due)}
    if "changed_since" in asked:
        query["updated_at"] = {"$gt": iso(asked["changed_since"])}
    if "ref" in asked:
        ref = asked["ref"].upper()
        query["case_ref"] = {"$gte": ref, "$lt": ref + "\x7f"}
    return query


def _scope(asked: dict, actor: dict, chain: frozenset) -> dict | None:
    if actor["role"] in STAFF_ROLES:
        return {}
    if actor["role"] in PARTNER_ROLES:
        if not chain:
            return None
        scope = _in_chain(chain)
        return {**scope, "business_ref": asked["business_ref"]} if "business_ref" in asked else scope
    if asked.get("business_ref", actor["id"]) != actor["id"]:
        return None
    return {"business_ref": actor["id"]}


def _in_chain(chain: frozenset) -> dict:
    """Cases of a partner's supply chain: supplied by, or referred to, a business in it."""
    refs = sorted(chain)
    return {"$or": [{"supplier_ref": {"$in": refs}}, {"business_ref": {"$in": refs}}]}


def _partner_chain(parties, partner_ref: str) -> frozenset:
    party = parties.get(partner_ref)
    if party is None or party.kind != "partner":
        raise InvalidInput({"partner_ref": [f"no partner {partner_ref} is registered"]})
    return party.chain_refs()


# --- use cases (``cases``: a UnitOfWork of Case; ``parties``: of Party) -----------------------

def list_cases(cases, parties, p: dict, actor: dict, chain: frozenset, now: datetime) -> dict:
    """A page of the cases in scope that match the filters, each as ``view_for`` shows it."""
    from services.remediation.domain import Case
    query = case_query(parties, p, actor, chain, now)
    if query is None:
        return page_of([], None)
    docs, next_ref = cases.repo.page(query, p["limit"], p["after"])
    return page_of([Case.from_dict(d).view_for(actor, chain) for d in docs], next_ref)


def count_cases(cases, parties, filters: dict, actor: dict, now: datetime) -> int:
    query = case_query(parties, filters, actor, frozenset(), now)
    return 0 if query is None else cases.repo.count(query)


def deadline_board(cases, p: dict, now: datetime) -> dict:
    """Staff's board: each deadline not yet met that is overdue or due within
    ``hours``, soonest first, with the escalation level it reached."""
    horizon = iso(now + timedelta(hours=p["hours"]))
    docs = cases.repo.due_by(horizon, p["assignee"], p["limit"] + 1)
    items = sorted(({"case_ref": d["_id"], "deadline": name, "due": e["due"], "level": e.get("level", 0),
                     "overdue": e["due"] < iso(now), **{k: d.get(k) for k in BOARD_FIELDS}}
                    for d in docs[:p["limit"]] for name, e in d["deadlines"].items()
                    if e["done_at"] is None and e["due"] <= horizon),
                   key=lambda item: (item["due"], item["case_ref"]))
    return {"as_of": iso(now), "until": horizon, "items": items, "more": len(docs) > p["limit"]}


def tag_case(cases, p: dict, actor: dict, now: datetime) -> dict:
    case = cases.change(p["case_ref"], lambda c: c.tag(actor, now, p["add"], p["remove"]), skip_unchanged=True,
                        missing=lambda _: NotFound(f"case {p['case_ref']} not found")).aggregate
    return case.view_for(actor)
