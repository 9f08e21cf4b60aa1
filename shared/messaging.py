"""Reliable events over RabbitMQ: outbox relay (publisher side) and a consumer
entrypoint with validation, bounded retries and a dead-letter path.

Publisher side: services never publish directly from a request. They store events
in the aggregate's outbox in the same write as the state change (shared.store);
``EventRelay`` then publishes them with publisher confirms and ``mandatory`` (an
event no queue accepted stays in the outbox) and removes them. ``OutboxSweep`` is
a timer that relays whatever a crashed or failed request path left behind, so a
state change and its event never diverge. A relayed event may be published twice:
consumers are idempotent by event id.

Consumer side: ``on_event(CONTRACT)`` binds a durable queue (named by nameko after
source, versioned routing key, service and method) to the source's event exchange.
The message is acked only after the handler has stored its work. A body that fails
its contract, or a handler raising a deterministic error, is dead-lettered at once;
other errors are retried ``EVENT_MAX_ATTEMPTS`` times with back-off, then
dead-lettered to ``ilm.dead-letter.v1`` for an operator to inspect and replay.
"""
from __future__ import annotations

import eventlet
from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher, get_connection
from nameko.constants import PERSISTENT
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from nameko.timer import timer

from shared import metrics
from shared.config import settings
from shared.context import RequestContext
from shared.contracts.events import CATALOGUE, EventContract, parse_event
from shared.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, PoisonMessage
from shared.logging import bind, get_logger

log = get_logger(__name__)

DEAD_LETTER_EXCHANGE = Exchange("ilm.dead-letter", type="topic", durable=True)
DEAD_LETTER_QUEUE = Queue("ilm.dead-letter.v1", exchange=DEAD_LETTER_EXCHANGE, routing_key="#",
                          durable=True)
ATTEMPTS_HEADER = "x-ilm-attempts"
# Failures that will fail the same way every time: retrying only delays the DLQ.
DETERMINISTIC = (PoisonMessage, InvalidInput, InvalidTransition, Forbidden, NotFound)


def event_exchange(source: str) -> Exchange:
    return get_event_exchange(source, {})


# --- publisher side --------------------------------------------------------------

class EventRelay(DependencyProvider):
    """Publishes outbox events with confirms, then clears them from the document."""

    def setup(self):
        self.publisher = Publisher(settings().amqp_uri, use_confirms=True,
                                   delivery_mode=PERSISTENT, mandatory=True)

    def get_dependency(self, worker_ctx):
        return self

    def publish(self, event: dict) -> None:
        contract = CATALOGUE[f"{event['event_type']}.v{event['version']}"]
        exchange = event_exchange(contract.source)
        self.publisher.publish(
            event, exchange=exchange, routing_key=contract.routing_key, declare=[exchange],
            message_id=event["event_id"],
            headers={"nameko.correlation_id": event["correlation_id"]},
        )
        metrics.EVENTS_PUBLISHED.labels(contract.name).inc()

    def relay(self, store, doc: dict) -> bool:
        """Publish ``doc``'s pending events; on failure leave them for the sweep."""
        sent = set()
        try:
            for event in doc.get("outbox", []):
                self.publish(event)
                sent.add(event["event_id"])
        except Exception as exc:  # broker down, unroutable...: the sweep retries
            metrics.EVENTS_PUBLISH_FAILED.labels(event["event_type"]).inc()
            log.warning("outbox_publish_deferred", case_id=doc["_id"], error=repr(exc))
        if sent:
            store.clear_outbox(doc["_id"], sent, known=doc)
        return len(sent) == len(doc.get("outbox", []))

    def sweep(self, store) -> int:
        relayed = 0
        for doc in store.pending_outbox(settings().outbox_grace_seconds):
            if self.relay(store, doc):
                relayed += 1
        if relayed:
            log.info("outbox_swept", documents=relayed)
        return relayed


class EventSourcingService:
    """Base of the services that raise events (subclasses add ``store``): the
    correlation context, the outbox relay, and the sweep that publishes what a
    crashed or failed request path left in an outbox."""

    ctx = RequestContext()
    relay = EventRelay()

    @timer(interval=settings().outbox_relay_interval)
    def relay_outbox(self):
        self.relay.sweep(self.store)


# --- consumer side ---------------------------------------------------------------

def queue_arguments() -> dict:
    return {"x-queue-type": "quorum"} if settings().queue_type == "quorum" else {}


def declare_dead_letter_path(amqp_uri: str) -> None:
    queue = Queue(DEAD_LETTER_QUEUE.name, exchange=DEAD_LETTER_EXCHANGE, routing_key="#", durable=True,
                  queue_arguments=queue_arguments())
    with get_connection(amqp_uri) as conn:
        channel = conn.channel()
        DEAD_LETTER_EXCHANGE(channel).declare()
        queue(channel).declare()


class ReliableEventHandler(EventHandler):

    def __init__(self, contract: EventContract, **kwargs):
        self.contract = contract
        super().__init__(contract.source, contract.routing_key, **kwargs)

    def setup(self):
        super().setup()
        plain = self.queue
        arguments = {"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
                     "x-dead-letter-routing-key": plain.name, **queue_arguments()}
        self.queue = Queue(plain.name, exchange=plain.exchange, routing_key=plain.routing_key,
                           durable=True, auto_delete=False, queue_arguments=arguments)
        declare_dead_letter_path(settings().amqp_uri)
        self.retry_publisher = Publisher(settings().amqp_uri, use_confirms=True,
                                         delivery_mode=PERSISTENT)

    def handle_message(self, body, message):
        try:
            event = parse_event(self.contract, body)
        except InvalidInput as exc:
            metrics.EVENTS_CONSUMED.labels(self.contract.name, "rejected").inc()
            log.error("event_rejected", queue=self.queue.name, error=str(exc))
            self._dead_letter(message)
            return
        context_data = self.unpack_message_headers(message)
        context_data.setdefault("correlation_id", event["correlation_id"])
        self.container.spawn_worker(
            self, (event,), {}, context_data=context_data,
            handle_result=lambda worker_ctx, result=None, exc_info=None:
                self._settle(message, body, event, result, exc_info))

    def _settle(self, message, body, event, result, exc_info):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            metrics.EVENTS_CONSUMED.labels(self.contract.name, "ok").inc()
            return result, exc_info
        bind(case_id=event["case_ref"], event_id=event["event_id"])
        exc = exc_info[1]
        attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 1))
        if isinstance(exc, DETERMINISTIC) or attempts >= settings().event_max_attempts:
            log.error("event_dead_lettered", queue=self.queue.name, attempts=attempts,
                      error=repr(exc))
            metrics.EVENTS_CONSUMED.labels(self.contract.name, "dead_lettered").inc()
            self._dead_letter(message)
        else:
            # Republish a copy (confirmed) before acking the original: a crash in
            # between duplicates the event, which consumers tolerate; never loses it.
            eventlet.sleep(min(0.2 * 2 ** attempts, 5.0))
            headers = dict(message.headers or {}, **{ATTEMPTS_HEADER: attempts + 1})
            self.retry_publisher.publish(body, exchange=Exchange(""), routing_key=self.queue.name,
                                         headers=headers, message_id=event["event_id"])
            log.warning("event_retry", queue=self.queue.name, attempts=attempts, error=repr(exc))
            metrics.EVENTS_CONSUMED.labels(self.contract.name, "retried").inc()
            self.queue_consumer.ack_message(message)
        return result, exc_info

    @staticmethod
    def _dead_letter(message):
        if message.channel.connection:
            message.reject(requeue=False)


def on_event(contract: EventContract, **kwargs):
    """Entrypoint decorator: the method receives the validated event envelope."""
    return ReliableEventHandler.decorator(contract, **kwargs)
