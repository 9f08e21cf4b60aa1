"""Deadlines that escalate (DOMAIN.md "Timeliness"): a deadline that passes unmet
escalates the case. Level 1: the business is reminded; level 2: the partners in its
supply chain are told; level 3: it is flagged for partner consequences. Level n falls
due ``offsets[n-1]`` hours after the deadline's ``due`` (ESCALATION_LEVEL_HOURS).

The rule (``Escalating``, mixed into Case; pure, callers pass ``now``): each deadline
entry keeps the ``level`` it reached, so each (deadline, round, level) fires once; a
deadline met stops it; a reopened case's new remediation round (a new entry, the old
one in ``deadline_history``) starts again at level 0. Each level is an audit entry and
a ``case.deadline_escalated`` event, written with the case in one guarded write.

The scheduler: every stored case carries ``next_escalation_at``, derived from its
deadlines whenever it is written (``to_dict``), so a deadline started, met, or
shortened by safeguarding moves it without any command knowing about escalation. It
is a lower bound: before a deadline was first looked at, its level-1 offset is not
known to the domain, so its ``due`` stands in; the sweep then stores the exact offset.
The timer (``escalate_due``) reads the indexed due cases and lets each escalate
through the UnitOfWork: the revision-guarded write is the claim (of two replicas the
loser reloads, finds nothing due and writes nothing), and the outbox publishes the
events after a crash (the integration test kills the process in between).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.contracts.common import OPEN_CASE_STATES, page_of
from shared.contracts.events import CASE_DEADLINE_ESCALATED, iso
from shared.errors import ConcurrentUpdate
from shared.logging import get_logger

log = get_logger(__name__)
LEVELS = 3
SWEEP_BATCH = 100
ACTION = "deadline_escalated"
_SCHEDULER = {"id": "escalation", "role": "system"}


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


class Escalating:
    """The case's side of escalation (a mixin of Case: uses its deadlines and trail).

    Who sees it: the audit entries are not staff-only. A business sees the reminders
    about its own case (when; its view never shows an entry's detail) and the level on
    each deadline, as a partner of its chain does; nothing of safeguarding is in them
    (a due shortened by an alert is on the deadline already, without saying why)."""

    # --- the rule -------------------------------------------------------------------
    def escalate(self, now: datetime, offsets) -> list[dict]:
        """Fire every level that has fallen due, in order; returns what fired."""
        fired = []
        if self.status not in OPEN_CASE_STATES:
            return fired
        for name, entry in self.deadlines.items():
            if entry["done_at"] is not None:
                continue
            due = _parse(entry["due"])
            while entry.get("level", 0) < LEVELS and now >= due + timedelta(hours=offsets[entry.get("level", 0)]):
                entry["level"] = entry.get("level", 0) + 1
                fired.append(self._escalated(name, entry, now))
            level = entry.get("level", 0)
            entry["next_level_after"] = float(offsets[level]) if level < LEVELS else None
        return fired

    def _escalated(self, name: str, entry: dict, now: datetime) -> dict:
        fact = {"deadline": name, "round": self._round_of(name), "level": entry["level"], "due": entry["due"]}
        self._audit(_SCHEDULER, now, ACTION, self.status, self.status, fact)
        self.raised.append((CASE_DEADLINE_ESCALATED, {
            "deadline": name, "level": entry["level"], "due": entry["due"], "escalated_at": iso(now),
            "severity": self.severity, "work_area": self.work_area, "supplier_ref": self.supplier_ref,
            "site_ref": self.site_ref, "business_ref": self.business_ref, "business_type": self.business_type}))
        return fact

    def _round_of(self, name: str) -> int:
        return 1 + sum(1 for h in self.deadline_history if h["name"] == name)

    # --- the schedule (derived, stored for the index) --------------------------------------
    def next_escalation(self) -> dict | None:
        """The next level to fire: when (a lower bound, see the module), which deadline
        and round, which level. None: nothing left to escalate."""
        if self.status not in OPEN_CASE_STATES:
            return None
        upcoming = []
        for name, entry in self.deadlines.items():
            level = entry.get("level", 0)
            if entry["done_at"] is not None or level >= LEVELS:
                continue
            after = entry.get("next_level_after")
            at = entry["due"] if after is None else iso(_parse(entry["due"]) + timedelta(hours=after))
            upcoming.append({"at": at, "deadline": name, "round": self._round_of(name), "level": level + 1})
        return min(upcoming, key=lambda u: u["at"], default=None)

    def escalation_level(self) -> int:
        """The highest level the current deadline rounds reached (0: none escalated)."""
        return max((e.get("level", 0) for e in self.deadlines.values()), default=0)

    def to_dict(self) -> dict:
        data = super().to_dict()
        upcoming = self.next_escalation()
        data.update(next_escalation=upcoming, next_escalation_at=upcoming["at"] if upcoming else None,
                    escalation_level=self.escalation_level())
        return data


# --- use cases ---------------------------------------------------------------------------

def escalate_due(cases, now: datetime, offsets, limit: int = SWEEP_BATCH) -> dict:
    """The timer: cases whose next escalation has come, each claimed by its guarded
    write. Returns {case_ref: [what fired]} for the cases that fired anything."""
    for case_ref in cases.repo.unscheduled(limit):   # stored before escalation: a write schedules it
        cases.change(case_ref, lambda case: None)
    done = {}
    for case_ref in cases.repo.escalations_due(iso(now), limit):
        try:
            changed = cases.change(case_ref, lambda case: case.escalate(now, offsets), skip_unchanged=True)
        except ConcurrentUpdate:            # busy beyond the retries: the next sweep takes it
            log.warning("escalation_deferred", case_id=case_ref)
            continue
        if changed.result:
            done[case_ref] = changed.result
            log.info("deadline_escalated", case_id=case_ref, levels=[f["level"] for f in changed.result])
    return done


def overdue_items(cases, p: dict, actor: dict, now: datetime, chain=frozenset()) -> dict:
    """A business's open cases past a deadline not yet met, with the level each
    reached. Scope as the scorecard's; only these facts, so no view leaks anything."""
    from services.remediation.reports import check_scorecard_access
    check_scorecard_access(actor, p["business_ref"], chain)
    docs, next_ref = cases.repo.overdue_of_business(p["business_ref"], iso(now), p["limit"], p["after"])
    items = [{"case_ref": d["_id"], "deadline": name, "due": e["due"], "level": e.get("level", 0),
              "round": 1 + sum(1 for h in d.get("deadline_history") or () if h["name"] == name)}
             for d in docs for name, e in sorted(d["deadlines"].items(), key=lambda kv: kv[1]["due"])
             if e["done_at"] is None and e["due"] < iso(now)]
    return page_of(items, next_ref)
