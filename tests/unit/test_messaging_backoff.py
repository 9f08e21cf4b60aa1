"""A consumer's pause while a dependency is down (shared/messaging.py's Backoff)."""
from pytest import approx

from shared import messaging
from shared.messaging import FIRST_BACKOFF, MAX_BACKOFF, Backoff


def test_the_pause_doubles_per_outage_noticed_is_capped_and_ends_with_a_success(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(messaging.time, "monotonic", lambda: clock[0])
    backoff = Backoff()
    backoff.failed("ServerSelectionTimeoutError")
    assert backoff.remaining() == approx(FIRST_BACKOFF)
    backoff.failed("ServerSelectionTimeoutError")      # the same outage, other messages
    assert backoff.pause == FIRST_BACKOFF
    pauses = []
    for _ in range(10):
        clock[0] += backoff.remaining()
        backoff.failed("AutoReconnect")
        pauses.append(backoff.pause)
    assert pauses[:3] == [FIRST_BACKOFF * 2, FIRST_BACKOFF * 4, FIRST_BACKOFF * 8] and pauses[-1] == MAX_BACKOFF
    assert backoff.reason == "AutoReconnect"
    backoff.succeeded()
    assert backoff.remaining() == 0 and backoff.reason is None
    backoff.failed("AutoReconnect")
    assert backoff.pause == FIRST_BACKOFF


def test_readyz_names_a_queue_whose_consumer_is_pausing(monkeypatch):
    from shared.ops import OpsServer
    # This process's pauses only: a container of an earlier in-process test may have
    # been killed while pausing, leaving its entry behind.
    monkeypatch.setattr(messaging, "_backoffs", {"evt-q": Backoff()})
    ops = OpsServer("127.0.0.1:0", dead_containers=lambda: [], amqp_uri="amqp://", mongo_ping=lambda: None)
    monkeypatch.setattr(ops, "_broker", lambda: None)
    ready, checks = ops.ready()
    assert ready, checks
    messaging._backoffs["evt-q"].failed("ServerSelectionTimeoutError")
    ops._ready_at = 0.0                # past the readiness cache
    ready, checks = ops.ready()
    assert not ready and checks["consumers"] == {"backing_off": {"evt-q": "ServerSelectionTimeoutError"}}
