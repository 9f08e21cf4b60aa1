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
silently, so the case worker learns why their choice did not stick.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.contracts.common import DEADLINE_NAMES, PROTECTIVE_MEASURES
from shared.contracts.events import iso
from shared.domain import Aggregate
from shared.errors import InvalidInput, InvalidTransition

# Audit actions of safeguarding: staff only, never in a business's or partner's view.
SAFEGUARDING_ACTIONS = frozenset({"safeguarding_alert", "voice_suppression_concern", "acknowledge_alert",
                                  "record_protective_measure"})
_SAFEGUARDING = {"id": "safeguarding", "role": "system"}
# The kind of concern each event records.
KINDS = {"retaliation.reported": "retaliation", "voice_suppression.reported": "voice_suppression"}


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
    status: str = "open"          # open until resolved (resolution: not built yet)
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None
    measures: list = field(default_factory=list)
    raised: list = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def record(cls, event: dict) -> "Alert":
        d = event["data"]
        return cls(alert_id=d["alert_id"], case_ref=event["case_ref"], raised_from=d["raised_from"],
                   work_area=d["work_area"], supplier_ref=d["supplier_ref"], site_ref=d["site_ref"],
                   reported_at=d["reported_at"], queue_key=queue_key(d["reported_at"], d["alert_id"]),
                   kind=KINDS[event["event_type"]])

    def acknowledge(self, actor: dict, now: datetime) -> None:
        """By a named person: the staff account that acts, from its verified token."""
        if self.acknowledged_by is not None:
            raise InvalidTransition(f"alert {self.alert_id} was acknowledged by {self.acknowledged_by} "
                                    f"at {self.acknowledged_at}")
        self.acknowledged_by, self.acknowledged_at = actor["id"], iso(now)

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
        """Idempotent: False when the alert is on the case already."""
        if kind == "voice_suppression":
            return self._note_voice_suppression(alert_id, raised_from, now)
        if alert_id in self.alerts:
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
        if any(a["action"] == "voice_suppression_concern" and a["detail"].get("alert_id") == alert_id
               for a in self.audit):
            return False
        self._audit(_SAFEGUARDING, now, "voice_suppression_concern", self.status, self.status,
                    {"alert_id": alert_id, "raised_from": raised_from})
        return True

    def audit_safeguarding(self, actor: dict, now: datetime, action: str, detail: dict) -> None:
        self._audit(actor, now, action, self.status, self.status, detail)

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
