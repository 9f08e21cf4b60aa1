"""The alert lane against real endpoints on 127.0.0.1: a recipient that never answers
delays neither the alert to another recipient nor the next alert, and holds no
worker; its own attempt ends at the deadline and is recorded. Waits on events, not
sleeps."""
import time
from datetime import datetime, timezone

import eventlet
import pytest
from eventlet.event import Event

from services.notifications import handlers
from services.notifications.client import Client
from services.notifications.domain import Delivery
from services.notifications.egress import Policy
from tests.fakes import FakeNotificationStore, FakeSender, unit_of_work
from tests.unit.test_handlers_notifications import alert
from tests.unit.test_notifications_egress import Server

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
DEADLINE = 1.5
LEAD = {"id": "lead-1", "role": "safeguarding_lead"}


class RealPostSender(FakeSender):
    """The fake sender's secrets and caches, the real client's HTTP."""

    def __init__(self, store, client):
        super().__init__(store)
        self.client = client

    def post(self, url, delivery_id, secrets, body):
        started = time.perf_counter()
        answer = self.client.exchange(url, {"webhook-id": delivery_id}, body.encode())
        return answer, (time.perf_counter() - started) * 1000


@pytest.fixture
def lane():
    arrived = []
    hung = Event()
    fast = Server(lambda conn, request: (arrived.append(time.monotonic()),
                                         conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")))
    slow = Server(lambda conn, request: (hung.ready() or hung.send(), eventlet.sleep(60)))   # never answers
    store = FakeNotificationStore()
    deliveries = unit_of_work(Delivery, repo=store)
    sender = RealPostSender(store, Client(DEADLINE, Policy(allow_http=True, allow_private=True, ports=None)))
    for server in (slow, fast):    # the slow endpoint first: it is sent to first
        handlers.register_webhook(deliveries, sender, {"url": f"http://127.0.0.1:{server.port}/hook",
                                                       "event_types": ["retaliation.reported"]}, LEAD, NOW)
    pool = eventlet.GreenPool()
    yield store, deliveries, sender, pool, arrived, hung, fast, slow
    for thread in list(pool.coroutines_running):   # sends still waiting on the silent endpoint
        eventlet.kill(thread)
    fast.close()
    slow.close()


def test_a_silent_recipient_delays_neither_other_recipients_nor_the_next_alert(lane):
    store, deliveries, sender, pool, arrived, hung, fast, slow = lane
    started = time.monotonic()
    first = handlers.fan_out(deliveries, sender, alert(), lambda: NOW, urgent=True, background=pool)
    returned = time.monotonic() - started
    hung.wait()                                            # the silent endpoint holds its request
    second = handlers.fan_out(deliveries, sender, alert(), lambda: NOW, urgent=True, background=pool)
    while len(arrived) < 2:
        eventlet.sleep(0.005)
    to_fast = [a - started for a in arrived]
    print(f"worker free after {returned * 1000:.1f} ms; fast endpoint got alerts at "
          f"{to_fast[0] * 1000:.1f} and {to_fast[1] * 1000:.1f} ms; slow endpoint deadline {DEADLINE * 1000:.0f} ms")
    assert returned < 0.2 and to_fast[1] < 0.3            # far inside the silent endpoint's deadline
    assert {store.load(i)["status"] for i in first + second} >= {"sending"}    # stored claimed meanwhile
    pool.waitall()                                          # the silent endpoint's attempts end at the deadline
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + 0.5
    outcomes = sorted(store.load(i)["attempts"][-1]["outcome"] for i in first + second)
    assert outcomes == ["http_204", "http_204", "timeout", "timeout"]


def test_an_endpoint_gets_at_most_its_concurrency_at_once(lane):
    store, deliveries, sender, pool, arrived, hung, fast, slow = lane
    sender.client = Client(DEADLINE, sender.client.policy, concurrency=2)
    for _ in range(4):
        handlers.fan_out(deliveries, sender, alert(), lambda: NOW, urgent=True, background=pool)
    while len(arrived) < 4:
        eventlet.sleep(0.005)
    assert len(slow.requests) == 2          # two in flight; two wait their turn, not the fast endpoint
