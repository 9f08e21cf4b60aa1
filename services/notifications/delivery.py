"""Webhook delivery: fan an event out to the subscriptions that want it, then send
each delivery with at-most-one sender at a time (a lease taken by a revision-guarded
write), record every attempt, and leave failures for the retry timer."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import eventlet
import requests
from nameko.extensions import DependencyProvider

from services.notifications.domain import (
    Delivery, Subscription, body_of, delivery_id, payload_for, sign,
)
from shared import metrics
from shared.config import settings
from shared.contracts.events import iso, utc_now
from shared.crypto import SealedBox
from shared.errors import ConcurrentUpdate
from shared.logging import get_logger
from shared.store import DuplicateKeyError

log = get_logger(__name__)
USER_AGENT = "ILM-Webhooks/1"
# Process-wide (both lanes of a notifications process): event type -> (read at, list).
_SUBSCRIPTIONS: dict = {}


class WebhookSender(DependencyProvider):
    """HTTP client and the key that opens endpoints' signing secrets."""

    def setup(self):
        self.box = SealedBox(settings().webhook_secrets_key)
        self._secrets: dict = {}
        self.session = requests.Session()
        self.session.trust_env = False   # no proxy/netrc lookups per request (profiled)
        adapter = requests.adapters.HTTPAdapter(pool_connections=20, pool_maxsize=50, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def get_dependency(self, worker_ctx):
        return self

    def seal_secret(self, secret: str, subscription_id: str) -> str:
        return self.box.seal(secret, subscription_id)

    def secret_of(self, sub: dict) -> str:
        key = (sub["subscription_id"], sub["sealed_secret"])
        if key not in self._secrets:
            self._secrets[key] = self.box.open(sub["sealed_secret"], sub["subscription_id"])
        return self._secrets[key]

    def subscriptions(self, store, event_type: str) -> list[dict]:
        """Subscriptions wanting ``event_type``, cached for SUBSCRIPTION_CACHE_SECONDS:
        one database read per event type and interval instead of one per event, so
        a flood of events does not load the store the alert lane also needs."""
        cached = _SUBSCRIPTIONS.get(event_type)
        if cached and time.monotonic() - cached[0] < settings().subscription_cache_seconds:
            return cached[1]
        subs = store.subscriptions_for(event_type)
        _SUBSCRIPTIONS[event_type] = (time.monotonic(), subs)
        return subs

    @staticmethod
    def forget_subscriptions() -> None:
        _SUBSCRIPTIONS.clear()

    def post(self, url: str, delivery_id_: str, secret: str, body: str) -> tuple[bool, str, float]:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json", "user-agent": USER_AGENT,
            "webhook-id": delivery_id_, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, delivery_id_, timestamp, body),
        }
        started = time.perf_counter()
        try:
            response = self.session.post(url, data=body.encode("utf-8"), headers=headers,
                                         timeout=settings().webhook_timeout, allow_redirects=False)
            ok, outcome = 200 <= response.status_code < 300, f"http_{response.status_code}"
        except requests.RequestException as exc:
            ok, outcome = False, type(exc).__name__
        return ok, outcome, (time.perf_counter() - started) * 1000


def fan_out(store, sender: WebhookSender, event: dict, urgent: bool = False) -> list[str]:
    """One delivery per interested subscription, sent concurrently.

    Ordinary events: the delivery is inserted already claimed by this worker, then
    sent; a redelivered event finds it there and leaves it to its holder or to the
    retry timer once the lease lapses. Alerts: sent first and recorded after, so a
    loaded database never delays them; a crash in between re-sends on redelivery
    with the same ``webhook-id``, which receivers deduplicate on."""
    body = body_of(payload_for(event))
    now = utc_now()
    deliveries = []
    for doc in sender.subscriptions(store, event["event_type"]):
        sub = Subscription(**{k: v for k, v in doc.items() if not k.startswith("_")})
        if sub.wants(event):
            delivery = Delivery(delivery_id=delivery_id(event["event_id"], sub.subscription_id),
                                subscription_id=sub.subscription_id, event_id=event["event_id"],
                                case_ref=event["case_ref"], webhook_type=event["event_type"], url=sub.url,
                                body=body, urgent=urgent, created_at=iso(now), event_at=event["occurred_at"],
                                next_attempt_at=iso(now))
            delivery.claim(now, settings().webhook_timeout + 10)
            deliveries.append((delivery, doc))
    if urgent:
        sends = [(d, sub, None) for d, sub in deliveries]
    else:
        sends = [(d, sub, doc) for d, sub in deliveries if (doc := _insert(store, d))]
    pool = eventlet.GreenPool(max(1, min(len(sends), 20)))
    list(pool.starmap(lambda d, sub, doc: _send(store, sender, d, sub, doc), sends))
    return [d.delivery_id for d, _, _ in sends]


def _insert(store, delivery: Delivery) -> dict | None:
    try:
        return store.insert({"_id": delivery.delivery_id, **delivery.to_dict()})
    except DuplicateKeyError:
        return None


def attempt(store, sender: WebhookSender, delivery_id_: str) -> str | None:
    """A retry, if this worker wins the lease. Returns the new status."""
    doc = store.load(delivery_id_)
    now = utc_now()
    if doc is None or not _is_due(doc, iso(now)):
        return None
    delivery = Delivery.from_dict(doc)
    delivery.claim(now, lease_seconds=settings().webhook_timeout + 10)
    try:
        doc = store.replace({**doc, **delivery.to_dict()})
    except ConcurrentUpdate:
        return None   # another worker holds it
    return _send(store, sender, delivery, store.subscription(delivery.subscription_id), doc)


def _send(store, sender: WebhookSender, delivery: Delivery, sub: dict, doc: dict | None) -> str:
    """Post a delivery this worker has claimed, then record the attempt on ``doc``
    (the stored delivery), or insert it when it was sent before being stored."""
    cfg = settings()
    ok, outcome, duration_ms = sender.post(delivery.url, delivery.delivery_id, sender.secret_of(sub), delivery.body)
    finished = utc_now()
    delivery.record_attempt(finished, ok, outcome, duration_ms, cfg.webhook_max_attempts, cfg.webhook_retry_base)
    _observe(delivery, finished)
    if doc is not None:
        store.replace({**doc, **delivery.to_dict()})
    elif _insert(store, delivery) is None:
        log.info("webhook_resent", delivery_id=delivery.delivery_id)   # a redelivered alert
    log.info("webhook_attempt", delivery_id=delivery.delivery_id, case_id=delivery.case_ref,
             webhook_type=delivery.webhook_type, outcome=outcome, status=delivery.status,
             attempt=len(delivery.attempts), duration_ms=round(duration_ms, 1), urgent=delivery.urgent)
    return delivery.status


def _observe(delivery: Delivery, finished: datetime) -> None:
    outcome = {"delivered": "delivered", "failed": "failed"}.get(delivery.status, "retry")
    metrics.WEBHOOK_ATTEMPTS.labels(delivery.webhook_type, outcome, str(delivery.urgent).lower()).inc()
    if delivery.urgent and delivery.status == "delivered" and delivery.event_at:
        reported = datetime.fromisoformat(delivery.event_at.replace("Z", "+00:00"))
        metrics.RETALIATION_ALERT_SECONDS.observe((finished - reported).total_seconds())


def _is_due(doc: dict, now_iso: str) -> bool:
    if doc["status"] == "pending":
        return (doc.get("next_attempt_at") or "") <= now_iso
    return doc["status"] == "sending" and (doc.get("lease_until") or "") <= now_iso


def retry_due(store, sender: WebhookSender, urgent_only: bool = False) -> int:
    due = store.due_deliveries(iso(datetime.now(timezone.utc)), urgent_only=urgent_only)
    # Alerts first: a retaliation alert waiting for retry goes before case updates.
    due.sort(key=lambda d: (not d.get("urgent"), d.get("next_attempt_at") or ""))
    return sum(1 for d in due if attempt(store, sender, d["_id"]) is not None)
