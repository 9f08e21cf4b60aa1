"""Consuming events reliably: ``@on_event(CONTRACT)`` binds a durable queue (named by
nameko after source, versioned routing key, service and method) to the source's
event exchange, validates each body against its contract, and acks only after the
handler has stored its work.

- A body that fails its contract, or a handler raising a deterministic error, is
  dead-lettered at once to ``ilm.dead-letter.v1`` for an operator to inspect and
  replay.
- A transient failure (shared/failures.py: the store or the broker did not answer)
  spends no attempt: the message waits out a pause in the wait queue (below) and
  the queue's consumer backs off,
  holding the messages it has (its prefetch: no new ones come) for a pause that
  doubles up to ``MAX_BACKOFF`` while the dependency stays down; ``/readyz`` names
  the queue meanwhile. The first success ends the pause.
- Other errors are retried ``EVENT_MAX_ATTEMPTS`` times with growing delays. The delay
  is spent in the queue's wait queue (``<queue>.retry.v2``: per-message TTL, dead-lettered
  back to the queue), never in a worker slot: a failing event does not occupy a
  worker while it waits. The copy goes to the wait queue and back through the
  service's own exchange ``<service>.retry`` (direct, keyed by queue name), never
  the default exchange, which reaches every queue: a service's broker user may
  write only its own exchanges (shared/broker_users.py).

Publishing is the outbox's job (shared/outbox.py).
"""
from __future__ import annotations

import time

import eventlet
from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher, get_connection
from nameko.constants import PERSISTENT
from nameko.events import EventHandler

from shared import broker_users, metrics
from shared.config import settings_of
from shared.contracts.events import EventContract, parse_event
from shared.errors import InvalidInput
from shared.failures import DEAD_LETTER, DEFER, disposition
from shared.logging import bind, get_logger

log = get_logger(__name__)

DEAD_LETTER_EXCHANGE = Exchange(broker_users.DEAD_LETTER_EXCHANGE, type="topic", durable=True)
DEAD_LETTER_QUEUE = Queue(broker_users.DEAD_LETTER_QUEUE, exchange=DEAD_LETTER_EXCHANGE, routing_key="#",
                          durable=True)
ATTEMPTS_HEADER = "x-ilm-attempts"
RETRY_SUFFIX = broker_users.RETRY_SUFFIX
MAX_RETRY_DELAY = 5.0
FIRST_BACKOFF, MAX_BACKOFF = 0.2, 10.0


def retry_delay(attempts: int) -> float:
    return min(0.2 * 2 ** attempts, MAX_RETRY_DELAY)


class Backoff:
    """A queue's pause while a dependency is down: closed until ``until``; each outage
    noticed while open doubles the next pause (capped), a success resets it."""

    def __init__(self):
        self.until, self.pause, self.reason = 0.0, 0.0, None

    def remaining(self) -> float:
        return max(0.0, self.until - time.monotonic())

    def failed(self, reason: str) -> None:
        if self.remaining() == 0.0:     # the outage's messages fail together: one step each pause
            self.pause = min(max(self.pause * 2, FIRST_BACKOFF), MAX_BACKOFF)
            self.until = time.monotonic() + self.pause
        self.reason = reason

    def succeeded(self) -> None:
        self.until, self.pause, self.reason = 0.0, 0.0, None


_backoffs: dict[str, Backoff] = {}     # queue name -> its consumer's pause, in this process


def backing_off() -> dict[str, str]:
    """Queues whose consumer is pausing for a dependency, with the error that paused it."""
    return {queue: b.reason for queue, b in _backoffs.items() if b.reason}


def retry_exchange(service_name: str) -> Exchange:
    return Exchange(broker_users.retry_exchange_name(service_name), type="direct", durable=True)


def queue_arguments(queue_type: str) -> dict:
    return {"x-queue-type": "quorum"} if queue_type == "quorum" else {}


def declare(amqp_uri: str, *entities) -> None:
    with get_connection(amqp_uri) as conn:
        channel = conn.channel()
        for entity in entities:
            entity(channel).declare()


class ReliableEventHandler(EventHandler):

    def __init__(self, contract: EventContract, **kwargs):
        self.contract = contract
        super().__init__(contract.source, contract.routing_key, **kwargs)

    def setup(self):
        super().setup()
        cfg = settings_of(self.container)
        self.max_attempts = cfg.event_max_attempts
        amqp_uri = self.container.config["AMQP_URI"]
        typed = queue_arguments(cfg.queue_type)
        plain = self.queue
        self.queue = Queue(plain.name, exchange=plain.exchange, routing_key=plain.routing_key,
                           durable=True, auto_delete=False, queue_arguments={
                               "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name,
                               "x-dead-letter-routing-key": plain.name, **typed})
        # The retry exchange carries a copy to the wait queue (keyed by its name) and,
        # when its TTL expires, back to the queue (keyed by the queue's name).
        retry = retry_exchange(self.container.service_name)
        back = Queue(plain.name, exchange=retry, routing_key=plain.name, durable=True, auto_delete=False,
                     queue_arguments=self.queue.queue_arguments)
        self.wait_queue = Queue(plain.name + RETRY_SUFFIX, exchange=retry, routing_key=plain.name + RETRY_SUFFIX,
                                durable=True, auto_delete=False, queue_arguments={
                                    "x-dead-letter-exchange": retry.name,
                                    "x-dead-letter-routing-key": plain.name, **typed})
        dead_letters = Queue(DEAD_LETTER_QUEUE.name, exchange=DEAD_LETTER_EXCHANGE, routing_key="#",
                             durable=True, queue_arguments=typed)
        declare(amqp_uri, DEAD_LETTER_EXCHANGE, dead_letters, back, self.wait_queue)
        self.retry_publisher = Publisher(amqp_uri, use_confirms=True, delivery_mode=PERSISTENT)
        self.backoff = _backoffs.setdefault(self.queue.name, Backoff())

    def stop(self):
        _backoffs.pop(self.queue.name, None)
        super().stop()

    def kill(self):
        _backoffs.pop(self.queue.name, None)     # a killed consumer pauses nothing (readyz must not say so)
        super().kill()

    def handle_message(self, body, message):
        if self.backoff.remaining():
            # Held unacked (it counts against the prefetch) until the pause ends; in a
            # managed thread, so stopping the container ends the wait and the broker
            # redelivers the message.
            self.container.spawn_managed_thread(lambda: self._after_pause(body, message))
        else:
            self._process(body, message)

    def _after_pause(self, body, message):
        while self.backoff.remaining():
            eventlet.sleep(self.backoff.remaining())
        self._process(body, message)

    def _process(self, body, message):
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
            self.backoff.succeeded()
            self.queue_consumer.ack_message(message)
            metrics.EVENTS_CONSUMED.labels(self.contract.name, "ok").inc()
            return result, exc_info
        bind(case_id=event["case_ref"], event_id=event["event_id"])
        exc = exc_info[1]
        attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 1))
        decided = disposition(exc, attempts, self.max_attempts)
        if decided == DEFER:
            self.backoff.failed(type(exc).__name__)
            log.warning("event_deferred", queue=self.queue.name, error=type(exc).__name__,
                        pause=self.backoff.pause)
            metrics.EVENTS_CONSUMED.labels(self.contract.name, "deferred").inc()
            # Waits out the pause with its attempts unchanged. Not requeued: a quorum
            # queue counts redeliveries towards its delivery limit and would drop it.
            self._wait(message, body, event, attempts, self.backoff.pause)
            return result, exc_info
        if decided == DEAD_LETTER:
            log.error("event_dead_lettered", queue=self.queue.name, attempts=attempts,
                      error=type(exc).__name__, detail=str(exc)[:200])
            metrics.EVENTS_CONSUMED.labels(self.contract.name, "dead_lettered").inc()
            self._dead_letter(message)
        else:
            log.warning("event_retry", queue=self.queue.name, attempts=attempts, error=type(exc).__name__)
            metrics.EVENTS_CONSUMED.labels(self.contract.name, "retried").inc()
            self._wait(message, body, event, attempts + 1, retry_delay(attempts))
        return result, exc_info

    def _wait(self, message, body, event, attempts, delay):
        """A copy waits ``delay`` seconds in the wait queue (confirmed) before the
        original is acked: a crash in between duplicates the event, which consumers
        tolerate."""
        headers = dict(message.headers or {}, **{ATTEMPTS_HEADER: attempts})
        self.retry_publisher.publish(body, exchange=self.wait_queue.exchange, routing_key=self.wait_queue.name,
                                     headers=headers, message_id=event["event_id"], expiration=delay)
        self.queue_consumer.ack_message(message)

    @staticmethod
    def _dead_letter(message):
        if message.channel.connection:
            message.reject(requeue=False)


def on_event(contract: EventContract, **kwargs):
    """Entrypoint decorator: the method receives the validated event envelope."""
    return ReliableEventHandler.decorator(contract, **kwargs)
