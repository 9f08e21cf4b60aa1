"""Notifications' use cases: register an endpoint, fan an event out to the endpoints
that want it, send each delivery with at most one sender at a time (a lease taken by
a revision-guarded write), record every attempt, retry what is due.

``deliveries`` is the service's UnitOfWork over the deliveries collection (its
``repo`` also holds the subscriptions); ``sender`` posts and knows the secrets;
``clock`` tells the time (before planning and after each post).
"""
from __future__ import annotations

import uuid
from datetime import datetime

import eventlet
from eventlet.event import Event

from services.notifications.domain import (
    Delivery, Subscription, new_secret, plan_deliveries, retry_order,
)
from shared import metrics
from shared.contracts.events import iso, utc_now
from shared.contracts.common import PARTNER_ROLES
from shared.errors import ConcurrentUpdate, NotFound
from shared.logging import get_logger
from shared.repository import DuplicateKeyError

log = get_logger(__name__)
MAX_PARALLEL_SENDS = 20


def register_webhook(deliveries, sender, p: dict, actor: dict, now: datetime) -> dict:
    """The endpoint belongs to the caller: a partner's covers its supply chain as the
    party registry says (``chains``), a safeguarding lead's every alert and case (the
    audience follows the role)."""
    audience = "partner" if actor["role"] in PARTNER_ROLES else "safeguarding"
    sub_id = "sub_" + uuid.uuid4().hex
    secret = new_secret()
    sub = Subscription(subscription_id=sub_id, partner_id=actor["id"], url=p["url"],
                       event_types=p["event_types"], audience=audience,
                       sealed_secret=sender.seal_secret(secret, sub_id), created_at=iso(now))
    deliveries.repo.add_subscription(sub.__dict__)
    sender.forget_subscriptions()
    log.info("webhook_registered", subscription_id=sub_id, partner_id=actor["id"])
    # The secret is shown once, here; it is stored only sealed.
    return {**sub.public_view(), "secret": secret}


def list_deliveries(deliveries, p: dict, actor: dict) -> list[dict]:
    """Staff see any endpoint's deliveries; a partner only its own endpoints'."""
    sub = deliveries.repo.subscription(p["subscription_id"])
    if sub is None or (actor["role"] in PARTNER_ROLES and sub["partner_id"] != actor["id"]):
        raise NotFound(f"subscription {p['subscription_id']} not found")
    return [{k: v for k, v in Delivery.from_dict(d).to_dict().items() if k != "body"}
            for d in deliveries.repo.deliveries_for(p["subscription_id"])]


def fan_out(deliveries, sender, event: dict, clock=utc_now, urgent: bool = False, background=None) -> list[str]:
    """One delivery per interested subscription, each sent in its own greenthread.

    Ordinary events: each delivery is stored already claimed by this worker, then
    sent; a redelivered event finds it stored and leaves it to its holder or to the
    retry timer once the lease lapses. Alerts: see ``_dispatch_alerts``."""
    subs = [Subscription.from_doc(d) for d in sender.subscriptions(deliveries.repo, event["event_type"])]
    chains = sender.chains(deliveries.repo) if any(s.audience == "partner" for s in subs) else {}
    planned = plan_deliveries(subs, event, clock(), sender.lease_seconds, urgent, chains)
    repo = deliveries.repo
    if urgent:
        return _dispatch_alerts(repo, sender, planned, clock, background)
    sends = [(d, sub, doc) for d, sub in planned if (doc := _insert(repo, d))]
    pool = eventlet.GreenPool(max(1, min(len(sends), MAX_PARALLEL_SENDS)))
    list(pool.starmap(lambda d, sub, doc: _send(repo, sender, d, sub, doc, clock), sends))
    return [d.delivery_id for d, _, _ in sends]


def _dispatch_alerts(repo, sender, planned, clock, background=None) -> list[str]:
    """Every recipient's send starts at once, and the database is written meanwhile:
    neither a loaded store nor any recipient delays another. With ``background`` (a
    GreenPool outliving the worker) the worker returns once the deliveries are stored
    claimed, without waiting for any recipient, so a slow endpoint holds no alert-lane
    worker; if the process dies mid-send, the retry timer takes the delivery over when
    its lease lapses (same ``webhook-id``, which receivers deduplicate on)."""
    pool = background if background is not None else eventlet.GreenPool()
    stored = [(d, sub, Event()) for d, sub in planned]
    for d, sub, ready in stored:
        pool.spawn_n(_send_alert, repo, sender, d, sub, ready, clock)
    eventlet.sleep(0)   # each send reaches the network before the database is written
    for d, _, ready in stored:
        ready.send(_insert(repo, d))
    if background is None:
        pool.waitall()
    return [d.delivery_id for d, _ in planned]


def _send_alert(repo, sender, delivery: Delivery, sub: Subscription, ready: Event, clock) -> None:
    try:
        _send(repo, sender, delivery, sub, ready, clock)
    except Exception:   # detached: nobody else would hear of it; the retry timer resends
        log.exception("webhook_alert_send_failed", delivery_id=delivery.delivery_id)


def project_chain(deliveries, sender, event: dict) -> bool:
    """Keep a partner's chain as the registry published it: the newest version wins,
    so a redelivered or overtaken event changes nothing."""
    data = event["data"]
    refs = sorted({*data["suppliers"], *data["sites"], *data["agencies"]})
    applied = deliveries.repo.save_chain(data["partner_ref"], data["chain_version"], refs)
    sender.forget_chains()
    log.info("chain_projected" if applied else "chain_outdated", partner_id=data["partner_ref"],
             chain_version=data["chain_version"])
    return applied


def retry_due(deliveries, sender, clock=utc_now, urgent_only: bool = False) -> int:
    """Due deliveries are retried concurrently (started in retry order): one slow
    endpoint's retries do not hold the others'."""
    due = retry_order(deliveries.repo.due_deliveries(iso(clock()), urgent_only=urgent_only))
    pool = eventlet.GreenPool(MAX_PARALLEL_SENDS)
    return sum(1 for status in pool.imap(lambda d: attempt(deliveries, sender, d["_id"], clock), due)
               if status is not None)


def attempt(deliveries, sender, delivery_id: str, clock=utc_now) -> str | None:
    """A retry, if it is due and this worker wins the lease. Returns the new status."""
    repo = deliveries.repo
    doc = repo.load(delivery_id)
    if doc is None:
        return None
    delivery, now = Delivery.from_dict(doc), clock()
    if not delivery.is_due(now):
        return None
    delivery.claim(now, sender.lease_seconds)
    try:
        doc = repo.replace({**doc, **delivery.to_dict()})
    except ConcurrentUpdate:
        return None   # another worker holds it
    sub = repo.subscription(delivery.subscription_id)
    return _send(repo, sender, delivery, Subscription.from_doc(sub), doc, clock)


def _insert(repo, delivery: Delivery) -> dict | None:
    try:
        return repo.insert({"_id": delivery.delivery_id, **delivery.to_dict()})
    except DuplicateKeyError:
        return None


def _send(repo, sender, delivery: Delivery, sub: Subscription, doc, clock) -> str:
    """Post a delivery this worker has claimed, then record the attempt on ``doc`` (the
    stored delivery, whose lease this worker holds). An alert's ``doc`` is an Event:
    the delivery is being stored while it is sent; None from it means it was stored
    before (a redelivered alert, resent)."""
    ok, outcome, duration_ms = sender.post(delivery.url, delivery.delivery_id, sender.secret_of(sub), delivery.body)
    finished = clock()
    delivery.record_attempt(finished, ok, outcome, duration_ms, sender.max_attempts, sender.retry_base)
    _observe(delivery, finished)
    if isinstance(doc, Event):
        doc = doc.wait()
    if doc is not None:
        repo.replace({**doc, **delivery.to_dict()})
    else:
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
