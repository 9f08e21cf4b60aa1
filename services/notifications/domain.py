"""Partner webhooks: who gets what, what a payload may contain, how it is signed,
when a failed delivery is retried, when an endpoint's circuit opens. Pure: no I/O,
callers pass ``now`` (and the random draw of the jitter).

Signatures follow Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256>``
over ``"{webhook-id}.{webhook-timestamp}.{body}"`` with the endpoint's ``whsec_``
secret; during a rotation's overlap window both secrets sign (two space-separated
``v1,`` signatures), so a receiver holding either verifies. An endpoint registered
with ``signature_scheme: v1a`` is signed with an Ed25519 key instead (``v1a,<base64
signature>``, the scheme's asymmetric variant): its owner gets only the public key
(``whpk_``), so no shared secret exists outside this service. Payloads are built from an allow-list per event type: a field added to an
event later never reaches a partner by accident, and nothing identifying a worker
(worker key, channel, language, text) is on the list.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.domain import Aggregate
from shared.contracts.events import CASE_DEADLINE_ESCALATED, CASE_STATUS_CHANGED, RETALIATION_REPORTED, iso
from shared.contracts.webhooks import ALLOWED_FIELDS

SECRET_PREFIX = "whsec_"
SIGNING_KEY_PREFIX, PUBLIC_KEY_PREFIX = "whsk_", "whpk_"   # v1a (Ed25519): kept here / given to the owner
SIGNATURE_SCHEMES = ("v1", "v1a")
TOLERANCE_SECONDS = 300   # receivers reject timestamps further off than this

# The event facts a partner's chain is matched against: the business, its supplier, the site.
SCOPED_BY = ("supplier_ref", "business_ref", "site_ref")
# What a business may subscribe its own endpoints to: never retaliation alerts.
BUSINESS_EVENT_TYPES = (CASE_STATUS_CHANGED.name, CASE_DEADLINE_ESCALATED.name)


def new_secret(scheme: str = "v1") -> str:
    """What signs an endpoint's deliveries: an HMAC secret, or an Ed25519 private key."""
    if scheme == "v1a":
        return SIGNING_KEY_PREFIX + _b64(Ed25519PrivateKey.generate().private_bytes_raw())
    return SECRET_PREFIX + _b64(secrets.token_bytes(32))


def shown_to_owner(secret: str) -> dict:
    """Shown once, at registration or rotation: the HMAC secret itself, or for v1a only
    the public key that verifies (the private key never leaves the service)."""
    if secret.startswith(SIGNING_KEY_PREFIX):
        key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(secret[len(SIGNING_KEY_PREFIX):]))
        return {"public_key": PUBLIC_KEY_PREFIX + _b64(key.public_key().public_bytes_raw())}
    return {"secret": secret}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret)


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    signed = f"{msg_id}.{timestamp}.{body}".encode("utf-8")
    if secret.startswith(SIGNING_KEY_PREFIX):
        key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(secret[len(SIGNING_KEY_PREFIX):]))
        return "v1a," + _b64(key.sign(signed))
    return "v1," + _b64(hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest())


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: str) -> str:
    """One signature (``v1,`` or ``v1a,``) per secret that signs now, space-separated."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


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


# --- retries --------------------------------------------------------------------

# Seconds before each attempt, the first being the immediate one: the schedule partners
# know from the most used webhook services (about 27.5 hours in all).
DEFAULT_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
_HTTP = re.compile(r"^http_(\d{3})$")


@dataclass(frozen=True)
class RetryPolicy:
    schedule: tuple = DEFAULT_SCHEDULE
    jitter: float = 0.1              # each wait moves by up to this share, either way
    retry_after_cap: float = 3600    # the longest ``Retry-After`` honoured

    def delay(self, attempts_made: int, draw: float) -> float | None:
        """Seconds until the next try after ``attempts_made`` tries, None when the
        schedule is spent. ``draw`` in [0, 1) places the jitter."""
        if attempts_made >= len(self.schedule):
            return None
        return max(0.0, self.schedule[attempts_made] * (1 + self.jitter * (2 * draw - 1)))


def status_code_of(outcome: str) -> int | None:
    match = _HTTP.match(outcome)
    return int(match.group(1)) if match else None


def verdict(outcome: str) -> str:
    """What an attempt's outcome means: ``delivered`` (2xx), ``gone`` (410: the endpoint
    is disabled), ``final`` (another 4xx: the receiver refuses this request, a retry
    would be refused too), ``retry`` (timeouts, connection errors, 429, 5xx, a refused
    address that may resolve elsewhere later)."""
    code = status_code_of(outcome)
    if code is None:
        return "retry"
    if 200 <= code < 300:
        return "delivered"
    if code == 410:
        return "gone"
    if code == 429 or code >= 500:
        return "retry"
    return "final"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None when
    absent or unreadable (the schedule decides then)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


# --- circuit breaking ---------------------------------------------------------------

@dataclass(frozen=True)
class CircuitPolicy:
    failures: int = 5                    # consecutive failures that open the circuit
    cooldown: float = 60                 # seconds it stays open before one probe
    disable_after: float = 5 * 86400     # failing this long disables the endpoint


def circuit_gate(sub: "Subscription", now: datetime) -> str:
    """``closed``: send. ``open``: reschedule to ``circuit_open_until``. ``probe``: the
    cool-down is over; one sender (the one that claims it) tries."""
    if not sub.circuit_open_until:
        return "closed"
    return "open" if sub.circuit_open_until > iso(now) else "probe"


def circuit_after(sub: "Subscription", failed: bool, now: datetime, policy: CircuitPolicy) -> dict:
    """The subscription's circuit fields after an attempt (``failed``: an outcome worth
    a retry: the endpoint did not answer usefully), and ``disable`` when it has been
    failing for ``policy.disable_after``."""
    if not failed:
        return {"failures": 0, "failing_since": None, "circuit_open_until": None, "disable": False}
    failures, since = sub.failures + 1, sub.failing_since or iso(now)
    opens = failures >= policy.failures
    started = datetime.fromisoformat(since.replace("Z", "+00:00"))
    return {"failures": failures, "failing_since": since,
            "circuit_open_until": iso(now + timedelta(seconds=policy.cooldown)) if opens else None,
            "disable": (now - started).total_seconds() >= policy.disable_after}


@dataclass
class Subscription:
    subscription_id: str
    partner_id: str
    url: str
    event_types: list
    audience: str            # "partner" (its supply chain), "business" (its own cases), "safeguarding" (all)
    sealed_secret: str
    created_at: str
    active: bool = True      # False: disabled; its deliveries are held until it is re-enabled
    disabled_reason: str | None = None
    disabled_at: str | None = None
    previous_sealed_secret: str | None = None   # still signs until previous_secret_until
    previous_secret_until: str | None = None
    failures: int = 0                            # consecutive, for the circuit
    failing_since: str | None = None
    circuit_open_until: str | None = None
    signature_scheme: str = "v1"                 # or "v1a" (Ed25519; SIGNATURE_SCHEMES)
    contact_email: str | None = None             # told when the endpoint is disabled (backup.py)
    owner_notice: dict | None = None             # {at, reason, sent_by, recipients}: the disabling, told

    def wants(self, event: dict, chain: frozenset = frozenset()) -> bool:
        """Whether ``event`` is for this endpoint (active or not: a disabled endpoint's
        deliveries are kept for its re-enabling). ``chain``: the partner's supply chain
        as the registry last published it (the ``chains`` projection); a partner names
        none of it itself. Deadline escalations: level 1 to the business, 2 and 3 to
        the partners of its chain."""
        kind = event["event_type"]
        if kind not in self.event_types:
            return False
        if self.audience == "safeguarding":
            return True
        level = event["data"].get("level") if kind == CASE_DEADLINE_ESCALATED.name else None
        if self.audience == "business":
            # Never a retaliation alert (DOMAIN.md "Never"), whatever it subscribed to.
            return (kind in BUSINESS_EVENT_TYPES and event["data"].get("business_ref") == self.partner_id
                    and level in (None, 1))
        concerned = {event["data"].get(k) for k in SCOPED_BY} - {None}
        if kind == RETALIATION_REPORTED.name and self.partner_id in concerned:
            return False    # never the accused, whatever the registry says
        return level != 1 and bool(concerned & chain)

    def signing_secrets(self, now: datetime) -> list[str]:
        """The sealed secrets that sign at ``now``: the current one, and the previous
        one during its overlap window."""
        if self.previous_sealed_secret and (self.previous_secret_until or "") > iso(now):
            return [self.sealed_secret, self.previous_sealed_secret]
        return [self.sealed_secret]

    def __post_init__(self):
        self.active = bool(self.active)   # nx-27017 may hand back a $set boolean as 1

    @classmethod
    def from_doc(cls, doc: dict) -> "Subscription":
        # Only known fields: subscriptions stored by earlier versions named suppliers.
        return cls(**{f.name: doc[f.name] for f in fields(cls) if f.name in doc})

    def public_view(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in ("sealed_secret", "previous_sealed_secret")}


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
    # pending -> sending -> delivered | pending (retry) | failed; stopped: held while its
    # endpoint is disabled; cancelled: its endpoint was deleted. Failed and stopped ones
    # are replayable (a new round of the schedule, the same webhook-id).
    status: str = "pending"
    attempts: list = field(default_factory=list)
    next_attempt_at: str | None = None
    lease_until: str | None = None
    case_version: int = 0    # re-enabling replays in the order of (event time, case version)
    round_from: int = 0      # attempts made before the current round (a replay starts a new one)
    log_key: str = ""        # the delivery log's order: creation time, then id
    replay_batch: str | None = None   # replayed together: sent one after another, in order (retry_units)
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

    def record_attempt(self, now: datetime, outcome: str, duration_ms: float, policy: RetryPolicy,
                       draw: float = 0.5, retry_after: float | None = None, response: str = "") -> str:
        """Record one try and decide the next (see ``verdict``); returns the verdict.
        ``retry_after``: seconds the receiver asked us to wait (429/503), honoured up to
        the policy's cap in place of the schedule's wait. ``response``: the start of the
        receiver's answer, already truncated (kept in the delivery log, never logged)."""
        result = verdict(outcome)
        self.attempts.append({"at": iso(now), "ok": result == "delivered", "outcome": outcome,
                              "status_code": status_code_of(outcome),
                              "error": None if status_code_of(outcome) else outcome,
                              "duration_ms": round(duration_ms, 1), "response": response})
        self.lease_until, self.next_attempt_at = None, None
        if result == "delivered":
            self.status = "delivered"
        elif result == "gone":
            self.status = "stopped"
        elif result == "final":
            self.status = "failed"
        else:
            wait = policy.delay(len(self.attempts) - self.round_from, draw)
            if wait is not None and retry_after is not None:
                wait = min(retry_after, policy.retry_after_cap)
            if wait is None:
                self.status = "failed"
            else:
                self.status, self.next_attempt_at = "pending", iso(now + timedelta(seconds=wait))
        return result

    def postpone(self, until: str) -> None:
        """Not tried now (its endpoint's circuit is open): due again at ``until``, no
        attempt spent."""
        self.status, self.next_attempt_at, self.lease_until = "pending", until, None

    def replay(self, now: datetime, batch: str | None = None) -> bool:
        """A new round of the schedule from now, with the same webhook-id. Not while a
        send is in flight. ``batch``: the replay it belongs to (sent in order)."""
        if self.status == "sending":
            return False
        self.status, self.next_attempt_at, self.lease_until = "pending", iso(now), None
        self.round_from = len(self.attempts)
        self.replay_batch = batch
        return True


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
                                next_attempt_at=iso(now), case_version=event["data"].get("case_version") or 0)
            delivery.log_key = re.sub(r"\D", "", iso(now)) + "-" + delivery.delivery_id
            if sub.active:
                delivery.claim(now, lease_seconds)
            else:
                delivery.status = "stopped"   # held for the endpoint's re-enabling
            planned.append((delivery, sub))
    return planned


def replay_order(held: list[dict]) -> list[dict]:
    """What a re-enabled endpoint missed, in the order it happened: per case, by case
    version."""
    return sorted(held, key=lambda d: (d.get("event_at") or "", d.get("case_version") or 0, d["_id"]))


def retry_order(due: list[dict]) -> list[dict]:
    """Alerts first: a retaliation alert waiting for retry goes before case updates."""
    return sorted(due, key=lambda d: (not d.get("urgent"), d.get("next_attempt_at") or ""))


def retry_units(due: list[dict]) -> list[list[str]]:
    """The due deliveries as units of sending: each on its own, except those of one
    replay (an endpoint re-enabled, a time range replayed), which go one after another
    in the order they were replayed, so the endpoint receives them in that order."""
    units, batches = [], {}
    for doc in retry_order(due):
        batch = doc.get("replay_batch")
        if batch is None:
            units.append([doc["_id"]])
        elif batch in batches:
            batches[batch].append(doc["_id"])
        else:
            batches[batch] = [doc["_id"]]
            units.append(batches[batch])
    return units
