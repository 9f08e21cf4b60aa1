"""Notifications' use cases: register an endpoint, fan an event out to the endpoints
that want it, send each delivery with at most one sender at a time (a lease taken by
a revision-guarded write), record every attempt, retry what is due on the schedule,
hold an endpoint's deliveries while its circuit is open or it is disabled; and the
endpoint owner's operations: delete, re-enable, replay, rotate the secret, read the log.

``deliveries`` is the service's UnitOfWork over the deliveries collection (its
``repo`` also holds the subscriptions); ``sender`` posts and knows the secrets;
``clock`` tells the time (before planning and after each post).
"""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import eventlet
from eventlet.event import Event

from services.notifications.domain import (
    BUSINESS_EVENT_TYPES, Delivery, Subscription, circuit_after, circuit_gate, new_secret, parse_retry_after,
    plan_deliveries, replay_order, retry_units, shown_to_owner,
)
from shared import metrics
from shared.contracts.events import iso, utc_now
from shared.contracts.common import BUSINESS_ROLES, PARTNER_ROLES, STAFF_ROLES, page_of
from shared.errors import ConcurrentUpdate, InvalidInput, NotFound
from shared.logging import get_logger
from shared.repository import DuplicateKeyError

log = get_logger(__name__)
MAX_PARALLEL_SENDS = 20


def audience_for(actor: dict, event_types: list) -> str:
    """Whom an endpoint of the caller's serves, following its role: a partner's covers
    its supply chain as the party registry says (``chains``), a business's its own cases
    (status changes and deadline reminders, never alerts: a 400 naming ``event_types``),
    a safeguarding lead's every alert and case."""
    audience = ("partner" if actor["role"] in PARTNER_ROLES else
                "business" if actor["role"] in BUSINESS_ROLES else "safeguarding")
    if audience == "business" and set(event_types) - set(BUSINESS_EVENT_TYPES):
        raise InvalidInput({"event_types": [f"a business may subscribe to {', '.join(BUSINESS_EVENT_TYPES)} only"]})
    return audience


def register_webhook(deliveries, sender, p: dict, actor: dict, now: datetime) -> dict:
    """The endpoint belongs to the caller; its audience follows the role (``audience_for``)."""
    audience = audience_for(actor, p["event_types"])
    sub_id = "sub_" + uuid.uuid4().hex
    scheme = p.get("signature_scheme") or "v1"
    secret = new_secret(scheme)
    sub = Subscription(subscription_id=sub_id, partner_id=actor["id"], url=p["url"],
                       event_types=p["event_types"], audience=audience, signature_scheme=scheme,
                       sealed_secret=sender.seal_secret(secret, sub_id), created_at=iso(now),
                       contact_email=p.get("contact_email"))
    deliveries.repo.add_subscription(sub.__dict__)
    sender.forget_subscriptions()
    log.info("webhook_registered", subscription_id=sub_id, partner_id=actor["id"])
    # The secret (v1a: the public key) is shown once, here; it is stored only sealed.
    return {**sub.public_view(), **shown_to_owner(secret)}


def _owned(repo, subscription_id: str, actor: dict) -> dict:
    """The endpoint, if the caller owns it or is staff; 404 otherwise (whether it
    exists is nobody else's business)."""
    sub = repo.subscription(subscription_id)
    if sub is None or (actor["role"] not in STAFF_ROLES and sub["partner_id"] != actor["id"]):
        raise NotFound(f"subscription {subscription_id} not found")
    return sub


def _log_view(doc: dict) -> dict:
    """A delivery as its log shows it: every attempt (time, status code, latency, error
    class, the start of the answer), not the body sent."""
    return {k: v for k, v in Delivery.from_dict(doc).to_dict().items() if k not in ("body", "log_key")}


def list_webhooks(deliveries, p: dict, actor: dict) -> dict:
    """The caller's own endpoints (staff: all), without their sealed secrets."""
    owner = None if actor["role"] in STAFF_ROLES else actor["id"]
    docs, next_id = deliveries.repo.subscriptions_page(owner, p.get("limit", 50), p.get("after"))
    return page_of([Subscription.from_doc(d).public_view() for d in docs], next_id)


def list_deliveries(deliveries, p: dict, actor: dict) -> dict:
    """The delivery log of one endpoint, oldest first, a page at a time."""
    _owned(deliveries.repo, p["subscription_id"], actor)
    docs, next_key = deliveries.repo.deliveries_for(p["subscription_id"], p.get("limit", 50), p.get("after"))
    return page_of([_log_view(d) for d in docs], next_key)


def delete_webhook(deliveries, sender, p: dict, actor: dict) -> dict:
    """Unsubscribe: the endpoint goes, its waiting deliveries are cancelled (its log stays)."""
    _owned(deliveries.repo, p["subscription_id"], actor)
    deliveries.repo.delete_subscription(p["subscription_id"])
    sender.forget_subscriptions()
    log.info("webhook_deleted", subscription_id=p["subscription_id"], by=actor["id"])
    return {"subscription_id": p["subscription_id"], "deleted": True}


def replay_delivery(deliveries, p: dict, actor: dict, now: datetime) -> dict:
    """One delivery again: a new round of the schedule, the same webhook-id."""
    _owned(deliveries.repo, p["subscription_id"], actor)
    doc = deliveries.repo.load(p["delivery_id"])
    if doc is None or doc["subscription_id"] != p["subscription_id"]:
        raise NotFound(f"delivery {p['delivery_id']} not found")
    return _log_view(_replay(deliveries.repo, doc, now) or doc)


def replay_deliveries(deliveries, p: dict, actor: dict, now: datetime) -> dict:
    """Every delivery of the events that happened in [since, until], in their order."""
    _owned(deliveries.repo, p["subscription_id"], actor)
    docs = replay_order(deliveries.repo.between(p["subscription_id"], iso(p["since"]), iso(p["until"])))
    batch = "rp_" + uuid.uuid4().hex
    replayed = [doc["_id"] for i, doc in enumerate(docs) if _replay(deliveries.repo, doc, now, i, batch)]
    log.info("webhook_replayed", subscription_id=p["subscription_id"], deliveries=len(replayed))
    return {"subscription_id": p["subscription_id"], "replayed": replayed}


def _replay(repo, doc: dict, now: datetime, order: int = 0, batch: str | None = None) -> dict | None:
    """Due ``order`` milliseconds after ``now``; the deliveries of one ``batch`` are sent
    one after another in that order (``retry_units``)."""
    delivery = Delivery.from_dict(doc)
    if not delivery.replay(now + timedelta(milliseconds=order), batch):
        return None
    try:
        return repo.replace({**doc, **delivery.to_dict()})
    except ConcurrentUpdate:
        return None    # a sender took it meanwhile: it is being sent


def enable_webhook(deliveries, sender, p: dict, actor: dict, now: datetime) -> dict:
    """Re-enable an endpoint: what it missed while disabled is replayed in the order it
    happened (event time, case version), each with its original webhook-id."""
    repo = deliveries.repo
    _owned(repo, p["subscription_id"], actor)
    repo.update_subscription(p["subscription_id"], {
        "active": True, "disabled_reason": None, "disabled_at": None,
        "failures": 0, "failing_since": None, "circuit_open_until": None})
    sender.forget_subscriptions()
    held = replay_order(repo.held_for(p["subscription_id"]))
    batch = "rp_" + uuid.uuid4().hex
    replayed = [doc["_id"] for i, doc in enumerate(held) if _replay(repo, doc, now, i, batch)]
    log.info("webhook_enabled", subscription_id=p["subscription_id"], replayed=len(replayed), by=actor["id"])
    return {**Subscription.from_doc(repo.subscription(p["subscription_id"])).public_view(), "replayed": replayed}


def rotate_secret(deliveries, sender, p: dict, actor: dict, now: datetime) -> dict:
    """A new secret, shown once; the old one keeps signing beside it until the overlap
    window ends, so receivers can switch without losing a delivery."""
    repo = deliveries.repo
    sub = Subscription.from_doc(_owned(repo, p["subscription_id"], actor))
    secret = new_secret(sub.signature_scheme)
    until = iso(now + timedelta(seconds=sender.secret_overlap))
    repo.update_subscription(sub.subscription_id, {
        "sealed_secret": sender.seal_secret(secret, sub.subscription_id),
        "previous_sealed_secret": sub.sealed_secret, "previous_secret_until": until})
    sender.forget_subscriptions()
    log.info("webhook_secret_rotated", subscription_id=sub.subscription_id, previous_until=until)
    return {"subscription_id": sub.subscription_id, **shown_to_owner(secret), "previous_secret_until": until}


def fan_out(deliveries, sender, event: dict, clock=utc_now, urgent: bool = False, background=None) -> list[str]:
    """One delivery per interested subscription, each sent in its own greenthread.

    Ordinary events: each delivery is stored already claimed by this worker, then
    sent (in ``background`` when given: one slow recipient holds no worker and no other
    recipient); a redelivered event finds it stored and leaves it to its holder or to
    the retry timer once the lease lapses. Alerts: see ``_dispatch_alerts``. A disabled
    endpoint's delivery is stored held, not sent."""
    subs = [Subscription.from_doc(d) for d in sender.subscriptions(deliveries.repo, event["event_type"])]
    chains = sender.chains(deliveries.repo) if any(s.audience == "partner" for s in subs) else {}
    planned = plan_deliveries(subs, event, clock(), sender.lease_seconds, urgent, chains)
    repo = deliveries.repo
    held = [d for d, _ in planned if d.status == "stopped"]     # a disabled endpoint's: kept for its re-enabling
    planned = [(d, sub) for d, sub in planned if d.status == "sending"]
    if urgent:
        sent = _dispatch_alerts(repo, sender, planned, clock, background)   # the alerts first, then the held
        return [d.delivery_id for d in held if _insert(repo, d)] + sent
    held = [d.delivery_id for d in held if _insert(repo, d)]
    sends = [(d, sub, doc) for d, sub in planned if (doc := _insert(repo, d))]
    # Each recipient on its own: with ``background`` this worker does not wait for any.
    pool = background if background is not None else eventlet.GreenPool(max(1, min(len(sends), MAX_PARALLEL_SENDS)))
    for d, sub, doc in sends:
        pool.spawn_n(_send_detached, repo, sender, d, sub, doc, clock)
    if background is None:
        pool.waitall()
    return held + [d.delivery_id for d, _, _ in sends]


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
        pool.spawn_n(_send_detached, repo, sender, d, sub, ready, clock)
    eventlet.sleep(0)   # each send reaches the network before the database is written
    for d, _, ready in stored:
        ready.send(_insert(repo, d))
    if background is None:
        pool.waitall()
    return [d.delivery_id for d, _ in planned]


def _send_detached(repo, sender, delivery: Delivery, sub: Subscription, doc, clock) -> None:
    try:
        _send(repo, sender, delivery, sub, doc, clock)
    except Exception:   # detached: nobody else would hear of it; the retry timer resends
        log.exception("webhook_send_failed", delivery_id=delivery.delivery_id)


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
    endpoint's retries do not hold the others'. A replay's deliveries are one unit,
    sent one after another in their order (``retry_units``)."""
    units = retry_units(deliveries.repo.due_deliveries(iso(clock()), urgent_only=urgent_only))
    pool = eventlet.GreenPool(MAX_PARALLEL_SENDS)

    def send(unit):
        return sum(1 for delivery_id in unit if attempt(deliveries, sender, delivery_id, clock) is not None)
    return sum(pool.imap(send, units))


def attempt(deliveries, sender, delivery_id: str, clock=utc_now) -> str | None:
    """A retry, if it is due and this worker wins the lease. Returns the new status."""
    repo = deliveries.repo
    claimed = claim_due(repo, Delivery, delivery_id, clock(), sender.lease_seconds)
    if claimed is None:
        return None
    delivery, doc = claimed
    sub = repo.subscription(delivery.subscription_id)
    if sub is None or not sub.get("active", True):
        # Deleted meanwhile: cancelled. Disabled: held for the re-enabling.
        delivery.status, delivery.lease_until, delivery.next_attempt_at = (
            "cancelled" if sub is None else "stopped"), None, None
        repo.replace({**doc, **delivery.to_dict()})
        return delivery.status
    return _send(repo, sender, delivery, Subscription.from_doc(sub), doc, clock)


def claim_due(repo, aggregate_cls, doc_id: str, now: datetime, lease_seconds: float):
    """Load a stored send (a delivery, a backup send) and, if it is due, take its lease
    with a guarded write: (it, the stored document), or None when it is gone, not due,
    or another worker holds it."""
    doc = repo.load(doc_id)
    if doc is None:
        return None
    item = aggregate_cls.from_dict(doc)
    if not item.is_due(now):
        return None
    item.claim(now, lease_seconds)
    try:
        return item, repo.replace({**doc, **item.to_dict()})
    except ConcurrentUpdate:
        return None   # another worker holds it


def _insert(repo, delivery: Delivery) -> dict | None:
    try:
        return repo.insert({"_id": delivery.delivery_id, **delivery.to_dict()})
    except DuplicateKeyError:
        return None


def _send(repo, sender, delivery: Delivery, sub: Subscription, doc, clock) -> str:
    """Post a delivery this worker has claimed, then record the attempt on ``doc`` (the
    stored delivery, whose lease this worker holds). An alert's ``doc`` is an Event:
    the delivery is being stored while it is sent; None from it means it was stored
    before (a redelivered alert, resent). While the endpoint's circuit is open the
    delivery is postponed instead, no attempt spent."""
    now = clock()
    held_until = _circuit_holds(repo, sender, sub, now)
    if held_until:
        delivery.postpone(held_until)
        _save(repo, delivery, doc)
        log.info("webhook_postponed", delivery_id=delivery.delivery_id, subscription_id=sub.subscription_id,
                 until=held_until)
        return delivery.status
    answer, duration_ms = sender.post(delivery.url, delivery.delivery_id, sender.secrets_of(sub, now),
                                      delivery.body)
    finished = clock()
    result = delivery.record_attempt(finished, answer.outcome, duration_ms, sender.retry, random.random(),
                                     parse_retry_after(answer.retry_after, finished), answer.excerpt)
    _observe(delivery, finished)
    _save(repo, delivery, doc)
    # The answer's text stays in the delivery log: receivers' bodies are never logged.
    log.info("webhook_attempt", delivery_id=delivery.delivery_id, case_id=delivery.case_ref,
             webhook_type=delivery.webhook_type, outcome=answer.outcome, status=delivery.status,
             attempt=len(delivery.attempts), duration_ms=round(duration_ms, 1), urgent=delivery.urgent)
    _endpoint_after(repo, sender, sub.subscription_id, result, finished)
    return delivery.status


def _save(repo, delivery: Delivery, doc) -> None:
    if isinstance(doc, Event):
        doc = doc.wait()
    if doc is not None:
        repo.replace({**doc, **delivery.to_dict()})
    else:
        log.info("webhook_resent", delivery_id=delivery.delivery_id)   # a redelivered alert


def _circuit_holds(repo, sender, sub: Subscription, now: datetime) -> str | None:
    """When the endpoint's circuit is open: the time to try again (None: send now).
    After the cool-down one sender claims the probe; the others wait another one."""
    gate = circuit_gate(sub, now)
    if gate == "closed":
        return None
    if gate == "open":
        return sub.circuit_open_until
    next_probe = iso(now + timedelta(seconds=sender.circuit.cooldown))
    return None if repo.claim_probe(sub.subscription_id, sub.circuit_open_until, next_probe) else next_probe


def _endpoint_after(repo, sender, subscription_id: str, result: str, now: datetime) -> None:
    """The endpoint's state after an attempt: 410 disables it; failures worth a retry
    count towards its circuit, and failing for the configured period disables it.
    Concurrent attempts may each count from the same read: the count is a health
    signal, not a ledger."""
    if result == "gone":
        _disable(repo, sender, subscription_id, "gone: the endpoint answered 410", now)
        return
    doc = repo.subscription(subscription_id)
    if doc is None:
        return
    sub = Subscription.from_doc(doc)
    changes = circuit_after(sub, result == "retry", now, sender.circuit)
    disable = changes.pop("disable")
    if any(getattr(sub, k) != v for k, v in changes.items()):
        repo.update_subscription(subscription_id, changes)
        if changes["circuit_open_until"] and not sub.circuit_open_until:
            log.warning("webhook_circuit_opened", subscription_id=subscription_id, failures=changes["failures"])
    if disable and sub.active:
        _disable(repo, sender, subscription_id, f"failing since {changes['failing_since']}", now)


def _disable(repo, sender, subscription_id: str, reason: str, now: datetime) -> None:
    """Stop delivering to an endpoint: its waiting deliveries are held until its owner
    re-enables it. The notice is recorded with it (``sent_by`` None: not told yet);
    the backup sweep tells the owner (backup_handlers.tell_disabled_owners), so a
    crash between the two only delays the telling."""
    notice = {"at": iso(now), "reason": reason, "sent_by": None}
    repo.update_subscription(subscription_id, {"active": False, "disabled_reason": reason, "disabled_at": iso(now),
                                               "owner_notice": notice})
    held = repo.stop_pending(subscription_id)
    sender.forget_subscriptions()
    metrics.WEBHOOK_ENDPOINTS_DISABLED.inc()
    log.warning("webhook_endpoint_disabled", subscription_id=subscription_id, reason=reason, held=held)


def _observe(delivery: Delivery, finished: datetime) -> None:
    outcome = {"delivered": "delivered", "failed": "failed"}.get(delivery.status, "retry")
    metrics.WEBHOOK_ATTEMPTS.labels(delivery.webhook_type, outcome, str(delivery.urgent).lower()).inc()
    if delivery.urgent and delivery.status == "delivered" and delivery.event_at:
        reported = datetime.fromisoformat(delivery.event_at.replace("Z", "+00:00"))
        metrics.RETALIATION_ALERT_SECONDS.observe((finished - reported).total_seconds())
