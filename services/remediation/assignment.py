"""Case work as a team: who a case is assigned to, and who is editing it now.

Each case has an assignee (a staff username), set by staff: one case at a time, or
every case of one person handed to another in one call (a colleague who left),
worked through in bounded batches, each case changed and audited on its own.

An edit lease shows who is working on a case now: a staff member takes it for
CASE_LEASE_SECONDS and renews it while editing. A second editor taking it while it
runs is refused (409) with who holds it and until when, unless they force it,
which is on the case's trail: never silently overwritten. The lease is advisory
for the other commands: the console takes it before it edits.

Pure (``Assigned``, mixed into Case): callers pass ``now`` and the lease length.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from nameko.exceptions import deserialize_to_instance

from shared.contracts.common import STAFF_ROLES
from shared.contracts.events import iso
from shared.errors import Forbidden, InvalidTransition, NotFound
from shared.logging import get_logger

log = get_logger(__name__)
# Audit actions that are staff matters only, never in a business's or partner's view.
ASSIGNMENT_ACTIONS = frozenset({"assign", "lease_forced"})
HAND_OVER_BATCH = 100      # cases read and changed per round of a hand-over


@deserialize_to_instance      # an RPC caller gets it back (a 409), not a RemoteError (a 500)
class LeaseHeld(InvalidTransition):
    """Another staff member is editing this case (409): the message names them."""


class Assigned:
    """Mixed into Case (fields ``assignee`` and ``lease``: {holder, until})."""

    def assign(self, actor: dict, now: datetime, assignee: str | None) -> bool:
        """False when the case was already assigned so (nothing to record)."""
        _staff_only(actor, "assign cases")
        if assignee == self.assignee:
            return False
        before, self.assignee = self.assignee, assignee
        self._audit(actor, now, "assign", self.status, self.status, {"from": before, "to": assignee})
        return True

    def lease_holder(self, now: datetime) -> str | None:
        lease = self.lease
        return lease["holder"] if lease and lease["until"] > iso(now) else None

    def take_lease(self, actor: dict, now: datetime, seconds: float, force: bool = False) -> dict:
        _staff_only(actor, "edit cases")
        holder = self.lease_holder(now)
        if holder not in (None, actor["id"]):
            if not force:
                raise LeaseHeld(f"case {self.case_ref} is being edited by {holder} until "
                                f"{self.lease['until']}; take it over with force")
            self._audit(actor, now, "lease_forced", self.status, self.status, {"from": holder})
        self.lease = {"holder": actor["id"], "until": iso(now + timedelta(seconds=seconds))}
        return self.lease

    def release_lease(self, actor: dict, now: datetime) -> None:
        if self.lease_holder(now) == actor["id"]:
            self.lease = None


def _staff_only(actor: dict, what: str) -> None:
    if actor["role"] not in STAFF_ROLES:
        raise Forbidden(f"role {actor['role']} may not {what}")


# --- use cases (``cases``: a UnitOfWork of Case) --------------------------------------------

def assign(cases, p: dict, actor: dict, now: datetime) -> dict:
    case = cases.change(p["case_ref"], lambda c: c.assign(actor, now, p["assignee"]), skip_unchanged=True,
                        missing=missing_case(p["case_ref"])).aggregate
    log.info("case_assigned")
    return case.view_for(actor)


def hand_over(cases, p: dict, actor: dict, now: datetime, batch: int = HAND_OVER_BATCH) -> dict:
    """Every case assigned to ``from_assignee`` goes to ``to_assignee``: read a batch in
    reference order, change each case (audited), go on after the last one."""
    _staff_only(actor, "hand over cases")
    if p["from_assignee"] == p["to_assignee"]:
        raise InvalidTransition("hand over to someone else")
    moved, after = [], None
    while True:
        docs, after = cases.repo.page({"assignee": p["from_assignee"]}, batch, after)
        for doc in docs:
            changed = cases.change(doc["_id"], lambda c: c.assign(actor, now, p["to_assignee"])
                                   if c.assignee == p["from_assignee"] else False)
            if changed.result:
                moved.append(doc["_id"])
        if after is None:
            break
    log.info("cases_handed_over", count=len(moved))
    return {"from_assignee": p["from_assignee"], "to_assignee": p["to_assignee"], "moved": len(moved),
            "case_refs": moved}


def take_lease(cases, p: dict, actor: dict, now: datetime, seconds: float) -> dict:
    lease = cases.change(p["case_ref"], lambda c: c.take_lease(actor, now, seconds, p["force"]),
                         missing=missing_case(p["case_ref"])).result
    return {"case_ref": p["case_ref"], **lease}


def release_lease(cases, p: dict, actor: dict, now: datetime) -> dict:
    cases.change(p["case_ref"], lambda c: c.release_lease(actor, now), skip_unchanged=True,
                 missing=missing_case(p["case_ref"]))
    return {"case_ref": p["case_ref"], "released": True}


def missing_case(case_ref: str):
    """NotFound for a case, as a UnitOfWork ``missing`` callback."""
    return lambda _: NotFound(f"case {case_ref} not found")
