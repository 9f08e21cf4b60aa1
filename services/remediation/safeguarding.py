"""Safeguarding records (DOMAIN.md "Retaliation"): every retaliation alert is stored
here whatever the webhooks do, linked to its case, or standing alone until the case
opens (the alert travels a faster lane than ``grievance.received``). Pure: callers
pass ``now`` and the deadline policy.

A worker's report of suppressed voice (``voice_suppression.reported``) is recorded
the same way, of ``kind`` "voice_suppression": it is in the lead's queue and on the
case's trail, but does not make the case critical (DOMAIN.md's critical list does
not name it; the lead may still raise the severity at triage).

On the case (``Safeguarded``, mixed into Case): an alert makes it ``critical``,
shortens its running deadlines to the critical policy, and while an alert is open
triage may not lower its severity: refused with InvalidTransition (409), not kept
silently, so the case worker learns why their choice did not stick. ``case.alerts``
lists the open ones: resolving an alert takes it off, and once none is left the
severity may be lowered again.

Unacknowledged alerts: each alert stores ``backup_due_at`` (indexed), SAFEGUARDING_ACK_MINUTES
after it was reported. Acknowledging (or resolving) clears it; when it passes first, the
timer (alerts.notify_unacknowledged) lets the alert raise ``safeguarding.alert_unacknowledged``
in the same revision-guarded write that clears it: that write is the claim, so of two
replicas one raises it, once, and the outbox publishes it after a crash.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.contracts.common import DEADLINE_NAMES, PROTECTIVE_MEASURES
from shared.contracts.events import SAFEGUARDING_ALERT_UNACKNOWLEDGED, iso
from shared.domain import Aggregate
from shared.errors import InvalidInput, InvalidTransition

# Audit actions of safeguarding: staff only, never in a business's or partner's view.
SAFEGUARDING_ACTIONS = frozenset({"safeguarding_alert", "voice_suppression_concern", "acknowledge_alert",
                                  "record_protective_measure", "resolve_alert"})
_SAFEGUARDING = {"id": "safeguarding", "role": "system"}
# The kind of concern each event records.
KINDS = {"retaliation.reported": "retaliation", "voice_suppression.reported": "voice_suppression"}


DEFAULT_ACK_MINUTES = 15.0


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def queue_key(reported_at: str, alert_id: str) -> str:
    """Oldest first, unique, and a valid page cursor (letters, digits and -)."""
    return "".join(ch for ch in reported_at if ch.isalnum()) + "-" + alert_id


@dataclass
class Alert(Aggregate):
    alert_id: str
    case_ref: str
    raised_from: str
    work_area: str | None
    supplier_ref: str | None
    site_ref: str | None
    reported_at: str
    queue_key: str
    kind: str = "retaliation"     # or "voice_suppression" (KINDS)
    status: str = "open"          # open -> resolved (by a safeguarding lead, with a note)
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None
    measures: list = field(default_factory=list)
    backup_due_at: str | None = None      # unacknowledged by then: the backup contact is told
    backup_told_at: str | None = None
    resolved_by: str | None = None
    resolved_at: str | None = None
    resolution: str | None = None
    raised: list = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def record(cls, event: dict, ack_minutes: float = DEFAULT_ACK_MINUTES) -> "Alert":
        d = event["data"]
        return cls(alert_id=d["alert_id"], case_ref=event["case_ref"], raised_from=d["raised_from"],
                   work_area=d["work_area"], supplier_ref=d["supplier_ref"], site_ref=d["site_ref"],
                   reported_at=d["reported_at"], queue_key=queue_key(d["reported_at"], d["alert_id"]),
                   kind=KINDS[event["event_type"]],
                   backup_due_at=iso(_parse(d["reported_at"]) + timedelta(minutes=ack_minutes)))

    def acknowledge(self, actor: dict, now: datetime) -> None:
        """By a named person: the staff account that acts, from its verified token."""
        if self.acknowledged_by is not None:
            raise InvalidTransition(f"alert {self.alert_id} was acknowledged by {self.acknowledged_by} "
                                    f"at {self.acknowledged_at}")
        self.acknowledged_by, self.acknowledged_at = actor["id"], iso(now)
        self.backup_due_at = None

    def resolve(self, actor: dict, now: datetime, resolution: str) -> bool:
        """open -> resolved; resolving acknowledges it too (the lead is on it). False:
        it was resolved before (nothing changes)."""
        if self.status == "resolved":
            return False
        if self.acknowledged_by is None:
            self.acknowledge(actor, now)
        self.status, self.resolved_by, self.resolved_at, self.resolution = "resolved", actor["id"], iso(now), resolution
        self.backup_due_at = None
        return True

    def tell_backup_if_due(self, now: datetime) -> bool:
        """Raise ``safeguarding.alert_unacknowledged`` once, when ``backup_due_at`` has
        passed with nobody acknowledging. False: not due, or done already."""
        if self.backup_due_at is None or self.backup_due_at > iso(now) or self.acknowledged_by is not None:
            return False
        waited = (now - _parse(self.reported_at)).total_seconds() / 60
        self.raised.append((SAFEGUARDING_ALERT_UNACKNOWLEDGED, {
            "alert_id": self.alert_id, "kind": self.kind, "work_area": self.work_area,
            "reported_at": self.reported_at, "minutes_waited": round(max(waited, 0.0), 2)}, self.case_ref))
        self.backup_due_at, self.backup_told_at = None, iso(now)
        return True

    def add_measure(self, actor: dict, now: datetime, measure: str, note: str) -> dict:
        if measure not in PROTECTIVE_MEASURES:
            raise InvalidInput({"measure": [f"must be one of {', '.join(PROTECTIVE_MEASURES)}"]})
        entry = {"measure": measure, "note": note, "by": actor["id"], "at": iso(now)}
        self.measures.append(entry)
        return entry

    def view(self) -> dict:
        return {k: v for k, v in self.to_dict().items() if k != "queue_key"}


class Safeguarded:
    """The case's side of safeguarding (a mixin of Case: uses its fields and trail)."""

    def link_alert(self, alert_id: str, raised_from: str, now: datetime, policy: dict,
                   kind: str = "retaliation") -> bool:
        """Idempotent: False when the alert is on the case already (open, or resolved:
        its entry is on the trail)."""
        if kind == "voice_suppression":
            return self._note_voice_suppression(alert_id, raised_from, now)
        if alert_id in self.alerts or self._on_trail("safeguarding_alert", alert_id):
            return False
        self.alerts.append(alert_id)
        before = self.severity
        self.severity = "critical"
        self._shorten_deadlines(policy["critical"])
        self._audit(_SAFEGUARDING, now, "safeguarding_alert", self.status, self.status,
                    {"alert_id": alert_id, "raised_from": raised_from, "severity_before": before})
        return True

    def _note_voice_suppression(self, alert_id: str, raised_from: str, now: datetime) -> bool:
        """On the trail only: the case keeps its severity and deadlines."""
        if self._on_trail("voice_suppression_concern", alert_id):
            return False
        self._audit(_SAFEGUARDING, now, "voice_suppression_concern", self.status, self.status,
                    {"alert_id": alert_id, "raised_from": raised_from})
        return True

    def _on_trail(self, action: str, alert_id: str) -> bool:
        return any(a["action"] == action and (a.get("detail") or {}).get("alert_id") == alert_id for a in self.audit)

    def audit_safeguarding(self, actor: dict, now: datetime, action: str, detail: dict) -> None:
        self._audit(actor, now, action, self.status, self.status, detail)

    def close_alert(self, actor: dict, now: datetime, alert_id: str, resolution: str) -> bool:
        """A resolved alert leaves the case's open list (on the trail). False: it had left."""
        if alert_id not in self.alerts:
            return False
        self.alerts.remove(alert_id)
        self._audit(actor, now, "resolve_alert", self.status, self.status,
                    {"alert_id": alert_id, "resolution": resolution, "open_alerts": len(self.alerts)})
        return True

    def check_severity(self, severity: str | None) -> None:
        if severity and severity != "critical" and self.alerts:
            raise InvalidTransition(f"case {self.case_ref}: severity stays critical while a retaliation "
                                    f"alert is open ({', '.join(self.alerts)})")

    def _shorten_deadlines(self, critical_days) -> None:
        """Running deadlines (not done) fall due by the critical policy, never later."""
        for name, days in zip(DEADLINE_NAMES, critical_days):
            entry = self.deadlines.get(name)
            if entry and entry["done_at"] is None:
                started = datetime.fromisoformat(entry["started"].replace("Z", "+00:00"))
                entry["due"] = min(entry["due"], iso(started + timedelta(days=days)))
