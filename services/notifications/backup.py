"""The backup contact channel (issue 14 "Urgent alerts", the rule is issue 11's): when
a safeguarding alert waits unacknowledged (``safeguarding.alert_unacknowledged`` from
remediation), or a retaliation alert reaches no safeguarding webhook recipient within
ALERT_BACKUP_AFTER_SECONDS, the backup contacts are told by e-mail and SMS. Pure: no
I/O, callers pass ``now``.

What a message says: that an alert waits, its id, its kind, when it was reported and
how long it waited. Never anything of the worker, nor the case's words: the contact
opens the safeguarding queue to act.

Each message to each recipient is a ``BackupSend``, its id derived from what asked for
it and the recipient, so asking twice (a redelivered event, two replicas) stores it
once; it is claimed for each try (a lease), and retried on BACKUP_RETRY_SCHEDULE.
``AlertWatch`` is the durable question "did a safeguarding recipient get this alert
in time?", asked once its ``due_at`` has passed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.notifications.domain import RetryPolicy
from shared.contracts.events import iso
from shared.domain import Aggregate

UNACKNOWLEDGED, UNDELIVERED, ENDPOINT_DISABLED = "unacknowledged", "undelivered", "endpoint_disabled"


def compose(reason: str, facts: dict) -> tuple[str, str]:
    """(subject, text) of a backup message from the alert's facts: alert_id, kind,
    reported_at, and ``waited`` (minutes when unacknowledged, seconds when undelivered);
    or of an endpoint's disabling: subscription_id, host, why, disabled_at."""
    if reason == ENDPOINT_DISABLED:
        subject = f"ILM webhooks: your endpoint {facts['subscription_id']} was disabled"
        text = (f"ILM webhooks: the endpoint {facts['subscription_id']} at {facts['host']} was disabled at "
                f"{facts['disabled_at']} ({facts['why']}). Deliveries to it are held, not lost: fix it, then "
                f"re-enable it (POST /v1/webhooks/{facts['subscription_id']}/enable) and what it missed is "
                f"replayed in order, each with its original id.")
        return subject, text
    kind = facts["kind"].replace("_", " ")
    if reason == UNACKNOWLEDGED:
        subject = f"ILM safeguarding: {kind} alert {facts['alert_id']} waits unacknowledged"
        why = f"it has waited {facts['waited']:g} minutes and no safeguarding lead has acknowledged it"
    else:
        subject = f"ILM safeguarding: {kind} alert {facts['alert_id']} reached no safeguarding recipient"
        why = f"it reached no safeguarding webhook recipient within {facts['waited']:g} seconds"
    text = (f"ILM backup contact: {kind} alert {facts['alert_id']} (reported {facts['reported_at']}) waits "
            f"unacknowledged: {why}. Please open the safeguarding queue and acknowledge it.")
    return subject, text


def send_id(source: str, channel: str, recipient: str) -> str:
    return "bk_" + hashlib.sha256(f"{source}:{channel}:{recipient}".encode()).hexdigest()[:32]


@dataclass
class BackupSend(Aggregate):
    send_id: str
    source: str              # what asked: an event id, "undelivered:<alert id>" or "disabled:<sub>:<at>"
    reason: str              # UNACKNOWLEDGED | UNDELIVERED | ENDPOINT_DISABLED
    alert_id: str | None     # the alert's; None for an endpoint's disabling (subscription_id)
    channel: str             # "email" | "sms"
    recipient: str           # a backup contact's address or number (staff, not a worker)
    subject: str
    text: str
    created_at: str
    status: str = "pending"  # pending -> sending -> sent | pending (retry) | failed
    attempts: list = field(default_factory=list)
    next_attempt_at: str | None = None
    lease_until: str | None = None
    subscription_id: str | None = None
    raised: list = field(default_factory=list, repr=False, compare=False)

    def is_due(self, now: datetime) -> bool:
        if self.status == "pending":
            return (self.next_attempt_at or "") <= iso(now)
        return self.status == "sending" and (self.lease_until or "") <= iso(now)

    def claim(self, now: datetime, lease_seconds: float) -> None:
        self.status, self.lease_until = "sending", iso(now + timedelta(seconds=lease_seconds))

    def record(self, now: datetime, error: str | None, policy: RetryPolicy) -> None:
        """One try: sent, or the next try on the schedule, or failed when it is spent."""
        self.attempts.append({"at": iso(now), "ok": error is None, "error": error})
        self.lease_until, self.next_attempt_at = None, None
        if error is None:
            self.status = "sent"
            return
        wait = policy.delay(len(self.attempts), 0.5)
        if wait is None:
            self.status = "failed"
        else:
            self.status, self.next_attempt_at = "pending", iso(now + timedelta(seconds=wait))


def plan_sends(source: str, reason: str, facts: dict, emails, phones, now: datetime) -> list[BackupSend]:
    subject, text = compose(reason, facts)
    return [BackupSend(send_id=send_id(source, channel, to), source=source, reason=reason,
                       alert_id=facts.get("alert_id"), subscription_id=facts.get("subscription_id"), channel=channel,
                       recipient=to, subject=subject, text=text, created_at=iso(now), next_attempt_at=iso(now))
            for channel, recipients in (("email", emails), ("sms", phones)) for to in recipients]


@dataclass
class AlertWatch(Aggregate):
    """A retaliation alert the alert lane fanned out: at ``due_at`` it is decided
    whether a safeguarding recipient received it by then (``received``) or the backup
    contact is told (``backup``)."""
    alert_id: str
    event_id: str
    reported_at: str
    due_at: str | None
    waited_seconds: float
    outcome: str | None = None
    decided_at: str | None = None
    raised: list = field(default_factory=list, repr=False, compare=False)

    def decide(self, now: datetime, received: bool) -> bool:
        """False: not due, or decided already (by another replica)."""
        if self.due_at is None or self.due_at > iso(now):
            return False
        self.outcome, self.decided_at, self.due_at = ("received" if received else "backup"), iso(now), None
        return True

    def facts(self) -> dict:
        return {"alert_id": self.alert_id, "kind": "retaliation", "reported_at": self.reported_at,
                "waited": self.waited_seconds}


def received_in_time(deliveries: list[dict | None], by: str) -> bool:
    """Whether any of these deliveries (to safeguarding endpoints) succeeded by ``by``."""
    return any(a["ok"] and a["at"] <= by for d in deliveries if d for a in d.get("attempts") or ())
