"""Partner webhooks: who gets what, what a payload may contain, how it is signed,
when a failed delivery is retried. Pure: no I/O, callers pass ``now``.

Signatures follow Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256>``
over ``"{webhook-id}.{webhook-timestamp}.{body}"`` with the endpoint's ``whsec_``
secret. Payloads are built from an allow-list per event type: a field added to an
event later never reaches a partner by accident, and nothing identifying a worker
(worker key, channel, language, text) is on the list.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta

from shared.domain import Aggregate
from shared.contracts.events import CASE_DEADLINE_ESCALATED, CASE_STATUS_CHANGED, RETALIATION_REPORTED, iso

SECRET_PREFIX = "whsec_"
MAX_BACKOFF_SECONDS = 3600
TOLERANCE_SECONDS = 300   # receivers reject timestamps further off than this

# Webhook type -> envelope/data fields a partner may see.
ALLOWED_FIELDS = {
    CASE_STATUS_CHANGED.name: ("from_status", "to_status", "case_version", "severity", "work_area",
                               "supplier_ref", "site_ref", "business_ref", "business_type", "changed_at"),
    CASE_DEADLINE_ESCALATED.name: ("deadline", "level", "due", "escalated_at", "severity", "work_area",
                                   "supplier_ref", "site_ref", "business_ref", "business_type"),
    RETALIATION_REPORTED.name: ("alert_id", "raised_from", "work_area", "supplier_ref", "site_ref",
                                "reported_at"),
}

# The event facts a partner's chain is matched against: the business, its supplier, the site.
SCOPED_BY = ("supplier_ref", "business_ref", "site_ref")


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret)


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    mac = hmac.new(_secret_bytes(secret), f"{msg_id}.{timestamp}.{body}".encode("utf-8"), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def verify(secret: str, headers: dict, body: str, now: datetime) -> bool:
    """What a partner's receiver does (and what our tests do with what arrived)."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, timestamp = lower["webhook-id"], int(lower["webhook-timestamp"])
        signatures = lower["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in signatures)


def webhook_type_of(event: dict) -> str:
    return event["event_type"]


def payload_for(event: dict) -> dict:
    """The partner-facing body: case reference, status and allow-listed facts only."""
    allowed = ALLOWED_FIELDS[event["event_type"]]
    data = {k: event["data"][k] for k in allowed if k in event["data"]}
    data["case_ref"] = event["case_ref"]
    return {"type": event["event_type"], "version": event["version"],
            "timestamp": event["occurred_at"], "data": data}


def delivery_id(event_id: str, subscription_id: str) -> str:
    """Stable per (event, endpoint): the ``webhook-id`` receivers deduplicate on."""
    return "msg_" + hashlib.sha256(f"{event_id}:{subscription_id}".encode()).hexdigest()[:32]


def backoff(attempts_made: int, base_seconds: float) -> float:
    return min(base_seconds * 2 ** (attempts_made - 1), MAX_BACKOFF_SECONDS)


@dataclass
class Subscription:
    subscription_id: str
    partner_id: str
    url: str
    event_types: list
    audience: str            # "partner" (its supply chain) or "safeguarding" (everything)
    sealed_secret: str
    created_at: str
    active: bool = True

    def wants(self, event: dict, chain: frozenset = frozenset()) -> bool:
        """``chain``: the partner's supply chain as the registry last published it
        (the ``chains`` projection); a partner names none of it itself."""
        if not self.active or event["event_type"] not in self.event_types:
            return False
        if self.audience == "safeguarding":
            return True
        concerned = {event["data"].get(k) for k in SCOPED_BY} - {None}
        if event["event_type"] == RETALIATION_REPORTED.name and self.partner_id in concerned:
            return False    # never the accused, whatever the registry says
        return bool(concerned & chain)

    @classmethod
    def from_doc(cls, doc: dict) -> "Subscription":
        # Only known fields: subscriptions stored by earlier versions named suppliers.
        return cls(**{f.name: doc[f.name] for f in fields(cls) if f.name in doc})

    def public_view(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "sealed_secret"}


@dataclass
class Delivery(Aggregate):
    delivery_id: str
    subscription_id: str
    event_id: str
    case_ref: str
    webhook_type: str
    url: str
    body: str                # fixed at creation: every retry sends the same bytes
    urgent: bool
    created_at: str
    event_at: str = ""       # when the event happened: alert latency is measured from it
    status: str = "pending"  # pending -> sending -> delivered | pending (retry) | failed
    attempts: list = field(default_factory=list)
    next_attempt_at: str | None = None
    lease_until: str | None = None
    raised: list = field(default_factory=list, repr=False, compare=False)

    def claim(self, now: datetime, lease_seconds: float) -> None:
        """Take the delivery for one send: nobody else sends it until the lease
        lapses (a sender that crashed mid-send is replaced by the retry timer)."""
        self.status = "sending"
        self.lease_until = iso(now + timedelta(seconds=lease_seconds))

    def is_due(self, now: datetime) -> bool:
        """Waiting for its retry time, or held by a sender whose lease lapsed."""
        if self.status == "pending":
            return (self.next_attempt_at or "") <= iso(now)
        return self.status == "sending" and (self.lease_until or "") <= iso(now)

    def record_attempt(self, now: datetime, ok: bool, outcome: str, duration_ms: float,
                       max_attempts: int, retry_base: float) -> None:
        self.attempts.append({"at": iso(now), "ok": ok, "outcome": outcome,
                              "duration_ms": round(duration_ms, 1)})
        self.lease_until = None
        if ok:
            self.status, self.next_attempt_at = "delivered", None
        elif len(self.attempts) >= max_attempts:
            self.status, self.next_attempt_at = "failed", None
        else:
            self.status = "pending"
            self.next_attempt_at = iso(now + timedelta(seconds=backoff(len(self.attempts), retry_base)))


def body_of(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def plan_deliveries(subscriptions: list[Subscription], event: dict, now: datetime, lease_seconds: float,
                    urgent: bool = False, chains: dict | None = None) -> list[tuple[Delivery, Subscription]]:
    """One delivery per subscription that wants ``event``, already claimed by the
    worker that will send it. Its id is stable per (event, endpoint), so the same
    event fanned out twice yields the same deliveries. ``chains``: partner -> the
    refs of its supply chain."""
    body = body_of(payload_for(event))
    planned = []
    for sub in subscriptions:
        if sub.wants(event, (chains or {}).get(sub.partner_id, frozenset())):
            delivery = Delivery(delivery_id=delivery_id(event["event_id"], sub.subscription_id),
                                subscription_id=sub.subscription_id, event_id=event["event_id"],
                                case_ref=event["case_ref"], webhook_type=event["event_type"], url=sub.url,
                                body=body, urgent=urgent, created_at=iso(now), event_at=event["occurred_at"],
                                next_attempt_at=iso(now))
            delivery.claim(now, lease_seconds)
            planned.append((delivery, sub))
    return planned


def retry_order(due: list[dict]) -> list[dict]:
    """Alerts first: a retaliation alert waiting for retry goes before case updates."""
    return sorted(due, key=lambda d: (not d.get("urgent"), d.get("next_attempt_at") or ""))
