"""Transactional outbox: events are stored in the document whose change raised them
(shared/repository.py, same write) and published from there.

``EventPublisher`` publishes one event with publisher confirms and ``mandatory`` (an
event no queue accepted stays in the outbox). ``OutboxRelay`` is shared by every
unit of work of a service container: it relays a document's events right after its
write and, on a timer of its own, sweeps every repository registered with it for
events that a crashed or failed request path left behind. A relayed event may be
published twice; consumers are idempotent by event id (shared/idempotency.py).
"""
from __future__ import annotations

import itertools
import time
from datetime import timedelta
from functools import partial

import eventlet
from nameko.amqp.publish import Publisher
from nameko.constants import PERSISTENT
from nameko.extensions import SharedExtension
from nameko.standalone.events import get_event_exchange

from shared import metrics
from shared.config import settings_of
from shared.contracts.events import CATALOGUE, iso, utc_now
from shared.errors import ConcurrentUpdate
from shared.failures import is_transient
from shared.logging import get_logger

log = get_logger(__name__)
PAUSE_SECONDS = 5.0      # after the broker failed to answer, the request path leaves events to the sweep


def event_exchange(source: str):
    return get_event_exchange(source, {})


# --- the outbox fields of a document ---------------------------------------------

def pending_outbox(repo, older_than_seconds: float, limit: int = 200) -> list[dict]:
    """Documents holding events the request path has had time to publish itself."""
    cutoff = iso(utc_now() - timedelta(seconds=older_than_seconds))
    # The limit counts old documents, not pending ones: under load the first pending
    # documents can all be fresh (their request path is publishing them), and an old
    # stuck event behind them would never be swept (a test's "<= 1" had hidden it).
    # Pending documents are the ones in flight, so reading past the fresh ones is cheap.
    # Whole documents: the relay writes them back.
    old = (d for d in repo.col.find({"outbox_pending": True})
           if any(e["occurred_at"] <= cutoff for e in d.get("outbox", [])))
    return list(itertools.islice(old, limit))


def clear_outbox(repo, doc_id: str, event_ids: set[str], known: dict | None = None) -> None:
    """Remove relayed events. ``known`` is the document as last written, which saves
    a read in the common case; on a concurrent write (which may have appended new
    events, which must stay) it reloads and retries."""
    doc = known
    for _ in range(20):
        doc = doc or repo.load(doc_id)
        if doc is None:
            return
        remaining = [e for e in doc.get("outbox", []) if e["event_id"] not in event_ids]
        if len(remaining) == len(doc.get("outbox", [])):
            return
        new = dict(doc, _rev=doc["_rev"] + 1, outbox=remaining, outbox_pending=bool(remaining))
        if repo.col.replace_one({"_id": doc_id, "_rev": doc["_rev"]}, new).matched_count == 1:
            return
        doc = None
    raise ConcurrentUpdate(doc_id)


# --- publishing --------------------------------------------------------------------

class EventPublisher:
    """Publishes validated event envelopes to their source's exchange."""

    def __init__(self, amqp_uri: str):
        self.publisher = Publisher(amqp_uri, use_confirms=True, delivery_mode=PERSISTENT, mandatory=True)
        self.unreachable_at = float("-inf")    # monotonic time the broker last failed to answer

    def publish(self, event: dict) -> None:
        contract = CATALOGUE[f"{event['event_type']}.v{event['version']}"]
        exchange = event_exchange(contract.source)
        self.publisher.publish(
            event, exchange=exchange, routing_key=contract.routing_key, declare=[exchange],
            message_id=event["event_id"],
            headers={"nameko.correlation_id": event["correlation_id"]},
        )
        metrics.EVENTS_PUBLISHED.labels(contract.name).inc()

    def relay(self, repo, doc: dict) -> bool:
        """Publish ``doc``'s pending events; on failure leave them for the sweep.
        True when every event went out."""
        sent = set()
        try:
            for event in doc.get("outbox", []):
                self.publish(event)
                sent.add(event["event_id"])
        except Exception as exc:  # broker down, unroutable...: the sweep retries
            if is_transient(exc):
                self.unreachable_at = time.monotonic()
            metrics.EVENTS_PUBLISH_FAILED.labels(event["event_type"]).inc()
            log.warning("outbox_publish_deferred", case_id=doc["_id"], error=type(exc).__name__)
        if sent:
            clear_outbox(repo, doc["_id"], sent, known=doc)
        return len(sent) == len(doc.get("outbox", []))

    def sweep(self, repos, grace_seconds: float) -> int:
        relayed = 0
        for repo in repos:
            for doc in pending_outbox(repo, grace_seconds):
                relayed += self.relay(repo, doc)
        if relayed:
            log.info("outbox_swept", documents=relayed)
        return relayed


class OutboxRelay(SharedExtension):
    """One per service container: the publisher, the repositories that hold an
    outbox, and the sweep over all of them every OUTBOX_RELAY_INTERVAL seconds."""

    def __init__(self):
        self.repos: list = []
        self._sweeper = None

    def setup(self):
        cfg = settings_of(self.container)
        self.interval, self.grace = cfg.outbox_relay_interval, cfg.outbox_grace_seconds
        self.publisher = EventPublisher(self.container.config["AMQP_URI"])

    def register(self, repo) -> None:
        if all(r is not repo for r in self.repos):
            self.repos.append(repo)

    def start(self):
        self._sweeper = self.container.spawn_managed_thread(self._sweep_forever)

    def stop(self):
        if self._sweeper is not None:
            self._sweeper.kill()

    kill = stop

    def relay(self, repo, doc: dict) -> None:
        """Publish ``doc``'s events now, in a greenthread of their own: the caller (a
        worker's report, a command) answers as soon as its write is stored, because the
        outbox already makes the events durable. While the broker was found unreachable
        in the last PAUSE_SECONDS the events are left to the sweep, so an outage does
        not pile up connection attempts (each of which waits out the connect retries)."""
        if time.monotonic() - self.publisher.unreachable_at < PAUSE_SECONDS:
            return
        self.container.spawn_managed_thread(partial(self._relay_now, repo, doc), identifier="outbox_relay")

    def _relay_now(self, repo, doc: dict) -> None:
        try:
            self.publisher.relay(repo, doc)
        except Exception as exc:  # noqa: BLE001 - clearing the outbox failed (store down): the sweep retries
            log.warning("outbox_relay_failed", case_id=doc["_id"], error_type=type(exc).__name__)

    def sweep(self) -> int:
        return self.publisher.sweep(self.repos, self.grace)

    def _sweep_forever(self):
        while True:
            eventlet.sleep(self.interval)
            try:
                self.sweep()
            except Exception as exc:  # noqa: BLE001 - the store or broker is down: next round
                log.warning("outbox_sweep_failed", error=type(exc).__name__)
