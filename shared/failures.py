"""Which failures are transient: the one place that tells an outage from a poison message,
and what an event consumer does with each (``disposition``).

A transient failure is a dependency that did not answer (the store, the broker, a
name lookup, another service): the same work succeeds once it answers again, so it
must never spend an event's attempts nor reach the dead-letter queue, and an HTTP
door answers it with 503 + Retry-After. Everything else (contract violations,
domain refusals, handler bugs) fails the same way on every try.

``ConcurrentUpdate`` exhaustion is not transient: it is contention on one document,
not an outage, and its attempts (retried with growing delays) bound a bug that
collides forever.
"""
from __future__ import annotations

import socket

from amqp.exceptions import ConnectionError as AmqpConnectionError, RecoverableChannelError
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, ServerSelectionTimeoutError

from shared.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, PoisonMessage, ServiceUnavailable

# ServerSelectionTimeoutError, NetworkTimeout and AutoReconnect are ConnectionFailures;
# named for the reader. Not all of OSError: a missing file fails the same way each time.
TRANSIENT = (ConnectionFailure, ServerSelectionTimeoutError, NetworkTimeout, AutoReconnect,
             AmqpConnectionError, RecoverableChannelError, OperationalError,
             ConnectionError, TimeoutError, socket.gaierror, socket.herror, ServiceUnavailable)
# An outage another service met, as its RPC caller receives it (by class name only).
REMOTE_TRANSIENT = frozenset(cls.__name__ for cls in TRANSIENT)
RETRY_AFTER_SECONDS = 5     # what a door tells a client to wait while a dependency is down


def is_transient(exc: BaseException) -> bool:
    """True when ``exc``, or an error it was raised from, is an outage of a dependency."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, TRANSIENT) or (isinstance(exc, RemoteError) and exc.exc_type in REMOTE_TRANSIENT):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def as_unavailable(exc: BaseException) -> BaseException:
    """A transient error as the 503 a door answers (with Retry-After); others unchanged."""
    if isinstance(exc, ServiceUnavailable) and getattr(exc, "retry_after", None) is not None:
        return exc
    if is_transient(exc):
        own = isinstance(exc, ServiceUnavailable)
        return ServiceUnavailable(str(exc) if own else "a service this door depends on is not answering",
                                  RETRY_AFTER_SECONDS)
    return exc


# Failures that will fail the same way every time: retrying only delays the dead letter.
DETERMINISTIC = (PoisonMessage, InvalidInput, InvalidTransition, Forbidden, NotFound)
DEFER, RETRY, DEAD_LETTER = "defer", "retry", "dead_letter"


def disposition(exc: BaseException, attempts: int, max_attempts: int) -> str:
    """What an event consumer does with an event whose handler raised ``exc`` on its
    ``attempts``-th try: DEFER (an outage: wait it out, attempts unchanged), RETRY
    (maybe a bug that passes: try again later), or DEAD_LETTER (fails the same way
    each time, or out of attempts)."""
    if is_transient(exc):
        return DEFER
    if isinstance(exc, DETERMINISTIC) or attempts >= max_attempts:
        return DEAD_LETTER
    return RETRY
