"""shared/failures.py: an outage of a dependency is transient (no attempt spent, 503
at a door); a failure that repeats itself is not (attempts, then the DLQ)."""
import socket

import pytest
from amqp.exceptions import ConnectionForced, RecoverableConnectionError
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError
from pymongo.errors import (
    AutoReconnect, ConnectionFailure, DuplicateKeyError, NetworkTimeout, OperationFailure,
    ServerSelectionTimeoutError,
)

from shared.errors import (
    ConcurrentUpdate, Forbidden, InvalidInput, InvalidTransition, NotFound, PoisonMessage, ServiceUnavailable,
)
from shared.failures import (
    DEAD_LETTER, DEFER, RETRY, RETRY_AFTER_SECONDS, as_unavailable, disposition, is_transient,
)

OUTAGES = {
    "store unreachable": ServerSelectionTimeoutError("127.0.0.1:27017: connection refused"),
    "store connection lost": ConnectionFailure("closed"),
    "store timed out": NetworkTimeout("timed out"),
    "store primary stepped down": AutoReconnect("not primary"),
    "broker connection closed": ConnectionForced("CONNECTION_FORCED"),
    "broker unreachable (amqp)": RecoverableConnectionError("connection already closed"),
    "broker unreachable (kombu)": OperationalError("[Errno 111] Connection refused"),
    "socket refused": ConnectionRefusedError(111, "Connection refused"),
    "socket reset": ConnectionResetError(104, "reset by peer"),
    "socket timeout": socket.timeout("timed out"),
    "DNS": socket.gaierror(-2, "Name or service not known"),
    "another service": ServiceUnavailable("did not answer"),
    "another service's store": RemoteError("ServerSelectionTimeoutError", "127.0.0.1:27017: refused"),
}
REPEATS = {
    "contract violation": InvalidInput({"case_ref": ["missing"]}),
    "poison": PoisonMessage("unreadable"),
    "domain refusal (state)": InvalidTransition("closed -> referred"),
    "domain refusal (role)": Forbidden("supplier may not triage"),
    "unknown document": NotFound("ILM-X"),
    "handler bug": KeyError("severity"),
    "handler bug (type)": TypeError("unsupported operand"),
    "store refuses the write": DuplicateKeyError("E11000"),
    "store refuses the query": OperationFailure("bad operator"),
    "contention exhausted": ConcurrentUpdate("ILM-X"),
    "missing file": FileNotFoundError("keys.env"),
    "another service's bug": RemoteError("KeyError", "severity"),
}


@pytest.mark.parametrize("exc", OUTAGES.values(), ids=OUTAGES.keys())
def test_an_outage_is_transient_and_answered_503_with_retry_after(exc):
    assert is_transient(exc)
    answer = as_unavailable(exc)
    assert answer.http_status == 503 and answer.retry_after == RETRY_AFTER_SECONDS


@pytest.mark.parametrize("exc", REPEATS.values(), ids=REPEATS.keys())
def test_a_failure_that_repeats_itself_is_not_transient_and_keeps_its_answer(exc):
    assert not is_transient(exc)
    assert as_unavailable(exc) is exc


def test_an_outage_under_a_domain_error_is_still_an_outage():
    try:
        try:
            raise ServerSelectionTimeoutError("down")
        except ServerSelectionTimeoutError as cause:
            raise RuntimeError("could not load the case") from cause
    except RuntimeError as exc:
        assert is_transient(exc)


def test_a_503_with_its_own_retry_after_is_answered_as_it_is():
    exc = ServiceUnavailable("busy", retry_after=30)
    assert as_unavailable(exc) is exc


# --- what an event consumer does with each (shared/messaging.py ReliableEventHandler._settle)

@pytest.mark.parametrize("exc", list(OUTAGES.values()), ids=list(OUTAGES))
def test_an_outage_defers_the_event_whatever_its_attempts(exc):
    assert disposition(exc, 1, 5) == disposition(exc, 5, 5) == DEFER


@pytest.mark.parametrize("exc", [PoisonMessage("bad"), InvalidInput({"x": ["bad"]}), InvalidTransition("no"),
                                 Forbidden("no"), NotFound("gone")])
def test_a_deterministic_refusal_is_dead_lettered_on_its_first_try(exc):
    assert disposition(exc, 1, 5) == DEAD_LETTER


def test_a_bug_is_retried_until_its_attempts_are_spent():
    bug = KeyError("severity")
    assert [disposition(bug, n, 5) for n in range(1, 6)] == [RETRY] * 4 + [DEAD_LETTER]
    assert disposition(ConcurrentUpdate("ILM-1"), 2, 5) == RETRY    # contention, not an outage


class Stub:
    """What ReliableEventHandler._settle touches: the queue consumer, the wait queue's
    publisher, the pause; records what it was told to do."""

    def __init__(self, max_attempts=5):
        from shared.messaging import Backoff, ReliableEventHandler
        self.handler = object.__new__(ReliableEventHandler)
        h, self.done = self.handler, []
        h.backoff, h.max_attempts = Backoff(), max_attempts
        h.contract = type("C", (), {"name": "case.status_changed"})()
        h.queue = type("Q", (), {"name": "evt-q"})()
        h.wait_queue = type("W", (), {"name": "evt-q.retry.v2", "exchange": "svc.retry"})()
        h.queue_consumer = type("QC", (), {"ack_message": lambda _, m: self.done.append("ack")})()
        h.retry_publisher = type("P", (), {"publish": lambda _, body, **kw: self.done.append(
            ("wait", kw["headers"]["x-ilm-attempts"], kw["expiration"]))})()

    def settle(self, exc, attempts):
        done = self.done
        message = type("M", (), {"headers": {"x-ilm-attempts": attempts},
                                 "channel": type("Ch", (), {"connection": True})(),
                                 "reject": lambda _, requeue: done.append(("reject", requeue))})()
        event = {"event_id": "e1", "case_ref": "ILM-1"}
        self.handler._settle(message, b"{}", event, None, None if exc is None else (type(exc), exc, None))
        return self.done


def test_the_consumer_retries_a_bug_with_growing_waits_then_dead_letters_it():
    from shared.messaging import retry_delay
    assert Stub().settle(KeyError("x"), 1) == [("wait", 2, retry_delay(1)), "ack"]
    assert Stub().settle(KeyError("x"), 3) == [("wait", 4, retry_delay(3))]  + ["ack"]
    assert retry_delay(1) < retry_delay(2) < retry_delay(3) <= retry_delay(10) == 5.0
    assert Stub().settle(KeyError("x"), 5) == [("reject", False)]           # out of attempts: the DLQ
    assert Stub().settle(NotFound("gone"), 1) == [("reject", False)]       # at once, no retry


def test_the_consumer_waits_out_an_outage_with_its_attempts_unchanged_and_pauses_the_queue():
    stub = Stub()
    assert stub.settle(ServerSelectionTimeoutError("down"), 3) == [("wait", 3, stub.handler.backoff.pause), "ack"]
    assert stub.handler.backoff.remaining() > 0 and stub.handler.backoff.reason == "ServerSelectionTimeoutError"
    assert stub.settle(None, 3)[-1] == "ack" and stub.handler.backoff.remaining() == 0   # a success ends the pause
