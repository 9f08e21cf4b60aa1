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


def fan_out(deliveries, sender, event: dict, clock=utc_now, urgent: bool = False) -> list[str]:
    """One delivery per interested subscription, sent concurrently.

    Ordinary events: each delivery is stored already claimed by this worker, then
    sent; a redelivered event finds it stored and leaves it to its holder or to the
    retry timer once the lease lapses. Alerts: sent first and stored after, so a
    loaded database never delays them; a crash in between re-sends on redelivery
    with the same ``webhook-id``, which receivers deduplicate on."""
    subs = [Subscription.from_doc(d) for d in sender.subscriptions(deliveries.repo, event["event_type"])]
    chains = sender.chains(deliveries.repo) if any(s.audience == "partner" for s in subs) else {}
    planned = plan_deliveries(subs, event, clock(), sender.lease_seconds, urgent, chains)
    repo = deliveries.repo
    if urgent:
        sends = [(d, sub, None) for d, sub in planned]
    else:
        sends = [(d, sub, doc) for d, sub in planned if (doc := _insert(repo, d))]
    pool = eventlet.GreenPool(max(1, min(len(sends), MAX_PARALLEL_SENDS)))
    list(pool.starmap(lambda d, sub, doc: _send(repo, sender, d, sub, doc, clock), sends))
    return [d.delivery_id for d, _, _ in sends]


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
    due = retry_order(deliveries.repo.due_deliveries(iso(clock()), urgent_only=urgent_only))
    return sum(1 for d in due if attempt(deliveries, sender, d["_id"], clock) is not None)


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


def _send(repo, sender, delivery: Delivery, sub: Subscription, doc: dict | None, clock) -> str:
    """Post a delivery this worker has claimed, then record the attempt on ``doc`` (the
    stored delivery, whose lease this worker holds), or store it now when it was sent
    before being stored (an alert)."""
    ok, outcome, duration_ms = sender.post(delivery.url, delivery.delivery_id, sender.secret_of(sub), delivery.body)
    finished = clock()
    delivery.record_attempt(finished, ok, outcome, duration_ms, sender.max_attempts, sender.retry_base)
    _observe(delivery, finished)
    if doc is not None:
        repo.replace({**doc, **delivery.to_dict()})
    elif _insert(repo, delivery) is None:
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
