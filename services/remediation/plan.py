"""The remediation plan (DOMAIN.md rule 4, "Remedy is concrete"): returning a plan
with reasons, stable action ids, and each action's progress. Pure: callers pass
``now``. ``Planned`` is mixed into Case and uses its fields and trail.

- A submitted plan is accepted (``accept_plan``) or **returned** by staff with reasons
  (``return_plan``): the case goes back to ``acknowledged`` so the business submits a
  revision. The returned plan, its reasons and when are kept in ``plan_history``,
  which the business sees (it must learn why). The plan deadline starts a new round
  from the return (the full plan days of the case's severity); the earlier round,
  met or not when the plan was first submitted, stays in ``deadline_history``, so the
  scorecard counts each submission's timeliness.
- Each action gets an id when the plan is submitted (``P<revision>-<n>``, never reused
  by a later revision) and a status: planned -> in_progress -> done (planned -> done
  is allowed too). Going back (done -> in_progress, anything -> planned) needs a
  reason. Progress notes and evidence metadata (file name, sha256, media type, who,
  when; never the file) are appended, each update on the audit trail.
- Who updates: the business the case is referred to while ``remediating`` only (once
  it reported remediation, what the workers are asked about is frozen until they
  answer; a reopened case is ``remediating`` again); staff while ``remediating``,
  ``remediation_reported`` or ``validating`` (a visit's findings).
"""
from __future__ import annotations

from datetime import datetime

from shared.contracts.events import iso
from shared.errors import Forbidden, InvalidInput, InvalidTransition

ACTION_STATUSES = ("planned", "in_progress", "done")
FORWARD = {("planned", "in_progress"), ("planned", "done"), ("in_progress", "done")}
BUSINESS_UPDATES_IN = frozenset({"remediating"})
STAFF_UPDATES_IN = frozenset({"remediating", "remediation_reported", "validating"})
_STAFF = frozenset({"case_worker", "safeguarding_lead"})


def _who(actor: dict) -> dict:
    return {"id": actor["id"], "role": actor["role"]}


class Planned:
    """The case's plan side (a mixin of Case)."""

    def _number_plan(self, actions: list, now: datetime) -> list:
        revision = len(self.plan_history) + 1
        return [dict(a, action_id=f"P{revision}-{i}", status="planned", progress=[], evidence=[],
                     updated_at=iso(now)) for i, a in enumerate(actions, 1)]

    def return_plan(self, actor: dict, now: datetime, deadlines: dict, reasons: list):
        reasons = [r.strip() for r in reasons if r and r.strip()]
        if not reasons:
            raise InvalidInput({"reasons": ["give at least one reason the business can act on"]})
        self._check("return_plan", actor)
        submitted = next((a["at"] for a in reversed(self.audit) if a["action"] == "submit_plan"), None)
        self.plan_history.append({"revision": len(self.plan_history) + 1, "submitted_at": submitted,
                                  "returned_at": iso(now), "reasons": reasons, "actions": self.plan})
        self.plan = []
        self._step("return_plan", actor, now, {"reasons": reasons}, deadlines)

    def update_action(self, actor: dict, now: datetime, action_id: str, status: str | None = None,
                      note: str | None = None, reason: str | None = None, evidence: list = ()) -> dict:
        self._check_action_updater(actor)
        action = next((a for a in self.plan if a.get("action_id") == action_id), None)
        if action is None:
            raise InvalidInput({"action_id": [f"no action {action_id} in the current plan of {self.case_ref}"]})
        before = action.get("status", "planned")
        if status and status != before and (before, status) not in FORWARD and not reason:
            raise InvalidTransition(f"status: action {action_id} goes back from {before} to {status} only "
                                    f"with a reason")
        if not (status and status != before) and not note and not evidence:
            raise InvalidInput({"_schema": ["give a status, a note or evidence"]})
        who, at = _who(actor), iso(now)
        action["status"] = status or before
        action.setdefault("progress", []).append({"at": at, "by": who, "from": before, "to": action["status"],
                                   "note": note, "reason": reason})
        action.setdefault("evidence", []).extend({**e, "by": who, "at": at} for e in evidence)
        action["updated_at"] = at
        self._audit(actor, now, "update_action", self.status, self.status, {
            "action_id": action_id, "action_from": before, "action_to": action["status"], "note": note,
            "reason": reason, "evidence": [e["sha256"] for e in evidence] or None})
        return action

    def _check_action_updater(self, actor: dict) -> None:
        role = actor["role"]
        if role in _STAFF:
            states = STAFF_UPDATES_IN
        elif role in ("supplier", "agency") and actor["id"] == self.business_ref:
            states = BUSINESS_UPDATES_IN
        else:
            raise Forbidden(f"case {self.case_ref} is not referred to {actor['id']}")
        if self.status not in states:
            raise InvalidTransition(f"case {self.case_ref}: a {role} updates plan actions only while "
                                    f"{' or '.join(sorted(states))}, not {self.status}")

    def plan_for_business(self, view: dict) -> dict:
        """Who among staff did what stays with staff: a business sees the role only."""
        def redact(entry):
            by = entry.get("by")
            return {**entry, "by": {"role": by["role"]}} if by and by["role"] in _STAFF else entry

        def action(a):
            return {**a, "progress": [redact(p) for p in a.get("progress", ())],
                    "evidence": [redact(e) for e in a.get("evidence", ())]}
        view["plan"] = [action(a) for a in view.get("plan", ())]
        view["plan_history"] = [{**h, "actions": [action(a) for a in h["actions"]]}
                                for h in view.get("plan_history", ())]
        return view
