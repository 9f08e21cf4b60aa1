"""Intake while the broker is unreachable (issue 16): a report is stored with its
events in the outbox and answered at once, never after the publisher's connection
retries; when the network comes back the sweep publishes what waited. The broker is
cut with a TCP proxy between intake's container and RabbitMQ (only this container's
link: the machine's RabbitMQ and the other tests are untouched)."""
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from kombu import Connection, Queue

from scripts.stack import wait_for
from scripts.tcp_proxy import TcpProxy
from services.intake.service import IntakeService
from shared.config import SETTINGS_KEY
from shared.contracts.events import GRIEVANCE_RECEIVED
from shared.outbox import event_exchange
from shared.repository import database
from tests.conftest import RUN_ID
from tests.principals import signing_key

REPORT = {"channel": "hotline", "language": "th", "work_area": "working_conditions",
          "text": "No overtime pay since May.", "supplier_ref": "SUP-OUTAGE"}


@pytest.fixture
def proxied(container_factory, make_config, interface_amqp_uri):
    broker = urlsplit(interface_amqp_uri)
    proxy = TcpProxy(broker.hostname, broker.port or 5672)
    netloc = f"{broker.username}:{broker.password}@{proxy.host}:{proxy.port}"
    config = make_config(amqp_uri=urlunsplit(broker._replace(netloc=netloc)), actor_signing_key=signing_key("intake"),
                         outbox_relay_interval=0.2, outbox_grace_seconds=0.5)
    listen(interface_amqp_uri)
    container = container_factory(IntakeService, config)
    container.start()
    yield f"http://{config['WEB_SERVER_ADDRESS']}", database("intake", config[SETTINGS_KEY])["grievances"], proxy
    # The container goes while the link is up: a consumer whose broker vanished
    # reconnects forever (kombu's ensure_connection, no retry limit), and nameko's
    # kill() waits for that consumer, so closing the proxy first could hang the run.
    proxy.restore()
    container.kill()
    proxy.close()


def listen(amqp_uri: str) -> None:
    """A queue bound to intake's reports, as remediation's would be (events are
    published ``mandatory``: one nobody would receive stays in the outbox)."""
    with Connection(amqp_uri) as conn:
        exchange = event_exchange("intake")
        Queue(f"test-outage-{RUN_ID}", exchange, routing_key=GRIEVANCE_RECEIVED.routing_key, durable=False,
              auto_delete=False)(conn.default_channel).declare()


def report(url: str) -> tuple[int, float, str]:
    started = time.monotonic()
    answer = requests.post(f"{url}/grievances", json=REPORT, timeout=30)
    return answer.status_code, time.monotonic() - started, answer.json().get("case_ref")


def test_reports_are_answered_at_once_while_the_broker_is_cut_and_published_after(proxied):
    url, grievances, proxy = proxied
    status, _, first = report(url)
    assert status == 201
    wait_for(lambda: not grievances.find_one({"_id": first})["outbox_pending"], 10, "the first report's events")

    proxy.cut()
    answers = [report(url) for _ in range(10)]
    assert [status for status, _, _ in answers] == [201] * 10
    slowest = max(seconds for _, seconds, _ in answers)
    # The publisher's connection retries took about 5 s a report; a loaded machine needs slack.
    assert slowest < 2.5, f"a report waited {slowest:.2f} s for the broker"
    refs = [ref for _, _, ref in answers]
    assert all(grievances.find_one({"_id": ref})["outbox_pending"] for ref in refs)   # stored, waiting

    proxy.restore()
    wait_for(lambda: not any(grievances.find_one({"_id": ref})["outbox_pending"] for ref in refs), 30,
             "the sweep to publish what waited")
