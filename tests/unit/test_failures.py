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
from shared.failures import RETRY_AFTER_SECONDS, as_unavailable, is_transient

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
