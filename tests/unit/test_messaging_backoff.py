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
