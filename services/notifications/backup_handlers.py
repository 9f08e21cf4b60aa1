"""The backup channel's use cases (rules in backup.py). ``sends`` is the UnitOfWork over
the backup sends, ``watches`` over the alert watches, ``channel`` the BackupChannel
(or a fake): its recipients, retry schedule, lease, ``deliver`` and ``background``.

Both ways an alert reaches the backup contact end in ``request``: the sends are
stored first (idempotent per source and recipient), then tried in the background so
no alert-lane worker waits on a mail server; the sweep (``send_due``) retries what is
due and takes over a try lost with its process when its lease lapses.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from services.notifications.backup import (
    ENDPOINT_DISABLED, UNACKNOWLEDGED, UNDELIVERED, AlertWatch, plan_sends, received_in_time,
)
from services.notifications.domain import delivery_id
from services.notifications.handlers import claim_due
from shared.contracts.events import RETALIATION_REPORTED, iso, utc_now
from shared.errors import ConcurrentUpdate
from shared.logging import get_logger

log = get_logger(__name__)
SWEEP_BATCH = 100


def request(sends, channel, source: str, reason: str, facts: dict, clock=utc_now,
            emails=None, phones=None) -> list[str]:
    """Store one send per recipient and channel (the backup contacts unless others are
    named), then try each (detached)."""
    emails, phones = (channel.emails, channel.phones) if emails is None else (emails, phones or ())
    planned = plan_sends(source, reason, facts, emails, phones, clock())
    about = {"alert_id": facts.get("alert_id")} if facts.get("alert_id") else {
        "subscription_id": facts.get("subscription_id")}
    if not planned:
        log.warning("backup_contact_missing", reason=reason, **about)
    stored = [s.send_id for s in planned if sends.create(s.send_id, s)]
    for sid in stored:
        channel.background.spawn_n(_attempt_detached, sends, channel, sid, clock)
    log.info("backup_requested", reason=reason, sends=len(stored), **about)
    return stored


def tell_disabled_owners(subscriptions, sends, channel, clock=utc_now, limit: int = SWEEP_BATCH) -> list[str]:
    """Endpoints disabled and not told yet: their owner's contact (the subscription's
    ``contact_email``), or the operator's backup contacts when it named none, are sent
    the notice; then the notice is marked told. The sends are stored first and are
    idempotent per disabling, so a crash in between only repeats the request."""
    told = []
    for doc in subscriptions.untold_disablings(limit):
        notice = doc["owner_notice"]
        facts = {"subscription_id": doc["subscription_id"], "host": urlsplit(doc["url"]).hostname,
                 "why": notice["reason"], "disabled_at": notice["at"]}
        owner = doc.get("contact_email")
        recipients = ([owner], ()) if owner else (channel.emails, channel.phones)
        sent = request(sends, channel, f"disabled:{doc['subscription_id']}:{notice['at']}", ENDPOINT_DISABLED, facts,
                       clock, *recipients)
        subscriptions.update_subscription(doc["subscription_id"], {"owner_notice": {
            **notice, "sent_by": "owner_contact" if owner else "backup_contacts",
            "recipients": len(recipients[0]) + len(recipients[1]), "told_at": iso(clock())}})
        told.append(doc["subscription_id"])
        log.info("webhook_owner_told", subscription_id=doc["subscription_id"], sends=len(sent), owner_contact=bool(owner))
    return told


def on_unacknowledged(sends, channel, event: dict, clock=utc_now) -> list[str]:
    d = event["data"]
    facts = {"alert_id": d["alert_id"], "kind": d["kind"], "reported_at": d["reported_at"],
             "waited": d["minutes_waited"]}
    return request(sends, channel, event["event_id"], UNACKNOWLEDGED, facts, clock)


def watch_alert(watches, event: dict, now: datetime, after_seconds: float) -> bool:
    """After the alert's fan-out: decide at ``now + after_seconds`` whether a
    safeguarding recipient got it. Idempotent (a redelivered alert finds its watch)."""
    d = event["data"]
    watch = AlertWatch(alert_id=d["alert_id"], event_id=event["event_id"], reported_at=d["reported_at"],
                       due_at=iso(now + timedelta(seconds=after_seconds)), waited_seconds=after_seconds)
    return watches.create(d["alert_id"], watch)


def check_watches(watches, deliveries_repo, sends, channel, clock=utc_now, limit: int = SWEEP_BATCH) -> list[str]:
    """Watches whose time has come: received by a safeguarding endpoint in time, or the
    backup contact is told. The sends are stored before the watch is marked, so a
    crash in between only repeats the (idempotent) request."""
    told, due = [], watches.repo.due(iso(clock()), limit)
    safeguarding = [s["subscription_id"] for s in deliveries_repo.subscriptions_for(RETALIATION_REPORTED.name)
                    if s.get("audience") == "safeguarding"] if due else []
    for alert_id in due:
        watch, now = watches.get(alert_id), clock()
        if watch is None or watch.due_at is None or watch.due_at > iso(now):
            continue
        got = [deliveries_repo.load(delivery_id(watch.event_id, sub)) for sub in safeguarding]
        received = received_in_time(got, watch.due_at)
        if not received:
            request(sends, channel, f"{UNDELIVERED}:{alert_id}", UNDELIVERED, watch.facts(), clock)
            told.append(alert_id)
        try:
            watches.change(alert_id, lambda w: w.decide(now, received), skip_unchanged=True)
        except ConcurrentUpdate:
            log.warning("alert_watch_deferred", alert_id=alert_id)
        log.info("alert_watch_decided", alert_id=alert_id, received=received)
    return told


def send_due(sends, channel, clock=utc_now, limit: int = SWEEP_BATCH) -> int:
    """Retry what is due (and take over sends whose lease lapsed)."""
    return sum(1 for sid in sends.repo.due(iso(clock()), limit) if attempt(sends, channel, sid, clock))


def attempt(sends, channel, sid: str, clock=utc_now) -> str | None:
    """One try, if it is due and this worker wins the claim. Returns the new status."""
    claimed = claim_due(sends.repo, sends.aggregate_cls, sid, clock(), channel.lease_seconds)
    if claimed is None:
        return None
    send, doc = claimed
    try:
        channel.deliver(send.channel, send.recipient, send.subject, send.text)
        error = None
    except Exception as exc:     # noqa: BLE001 - any failure is a try to record and retry
        error = type(exc).__name__
    send.record(clock(), error, channel.retry)
    sends.repo.replace({**doc, **send.to_dict()})
    # Never the recipient (a phone number, an address) in the log.
    log.info("backup_attempt", send_id=sid, alert_id=send.alert_id, medium=send.channel, reason=send.reason,
             status=send.status, error=error, attempt=len(send.attempts))
    return send.status


def _attempt_detached(sends, channel, sid: str, clock) -> None:
    try:
        attempt(sends, channel, sid, clock)
    except Exception:   # detached: the sweep tries again when the lease lapses
        log.exception("backup_attempt_failed", send_id=sid)
