"""Intake while its store is down: every report is answered 503 with Retry-After
(never a 500, never a wait of seconds), and once the store is back every
accepted report is published. The container's store is an embedded Mongo server of
this test's own, stopped and started here."""
import json
import time
import uuid

import pytest
import requests
from kombu import Connection, Queue
from nameko.events import get_event_exchange

from scripts.stack import wait_for
from services.intake.service import IntakeService
from shared.config import settings
from shared.contracts.events import GRIEVANCE_RECEIVED
from shared.failures import RETRY_AFTER_SECONDS
from tests.interface.intake.test_http import REPORT
from tests.principals import signing_key


@pytest.fixture
def published(interface_amqp_uri):
    """The case references of the grievance.received events intake publishes."""
    with Connection(interface_amqp_uri) as conn:
        queue = Queue(f"test-outage-{uuid.uuid4().hex[:8]}", exchange=get_event_exchange("intake", {}),
                      routing_key=GRIEVANCE_RECEIVED.routing_key, exclusive=True)(conn.channel())
        queue.declare()
        refs = set()

        def received():
            while (message := queue.get(no_ack=True)) is not None:
                refs.add(json.loads(message.body)["case_ref"])
            return refs
        yield received


def test_reports_while_the_store_is_down_are_answered_503_then_accepted_and_published(
        own_mongo, container_factory, make_config, published):
    # The bound on the answer: pymongo waits for a store in 0.5 s steps, so a timeout
    # under one step gives up on it after one (it gave up after 5 s before).
    assert settings().mongo_timeout < 0.5
    config = make_config(mongo_uri=own_mongo.uri, actor_signing_key=signing_key("intake"))
    container_factory(IntakeService, config).start()
    url = f"http://{config['WEB_SERVER_ADDRESS']}/grievances"
    accepted = [requests.post(url, json=REPORT, timeout=10).json()["case_ref"]]

    own_mongo.stop()
    while_down = [requests.post(url, json=REPORT, timeout=10) for _ in range(3)]
    for answer in while_down:
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["type"] == "https://ilm.example/problems/unavailable"

    own_mongo.start()
    for _ in range(2):
        answer = wait_for(lambda: (r := requests.post(url, json=REPORT, timeout=10)).status_code == 201 and r,
                          20, "intake accepting again")
        accepted.append(answer.json()["case_ref"])
    wait_for(lambda: published() >= set(accepted), 20, "every accepted report published")
    assert published() == set(accepted)


def test_a_chat_message_while_the_store_is_down_is_refused_for_redelivery_then_cased_once(
        own_mongo, container_factory, make_config, published):
    """LINE redelivers a webhook its endpoint did not answer 2xx: intake must answer a
    message it could not store with an error (never a 200 that loses it), and the
    redelivered copy (the same webhookEventId) opens exactly one case."""
    from scripts.provider_webhooks import line_text
    secret = "line-secret-for-the-outage-test"
    config = make_config(mongo_uri=own_mongo.uri, actor_signing_key=signing_key("intake"),
                         channels={"LINE_CHANNEL_SECRET": secret, "LINE_CHANNEL_TOKEN": "token",
                                   "LINE_API_BASE": "http://127.0.0.1:9"})      # replies go nowhere: not tested here
    container_factory(IntakeService, config).start()
    url = f"http://{config['WEB_SERVER_ADDRESS']}/channels/line"
    headers, body = line_text(secret, "U" + "7" * 32, "My employer kept my passport and my wages.")

    own_mongo.stop()
    refused = requests.post(url, data=body, headers=headers, timeout=10)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)

    own_mongo.start()
    taken = wait_for(lambda: (r := requests.post(url, data=body, headers=headers, timeout=10)).status_code == 200
                     and r, 20, "intake taking the redelivered message")
    assert taken.status_code == 200
    assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 200   # LINE again: no new case
    wait_for(lambda: published() or None, 20, "the case published")
    time.sleep(1)                          # a second case would be published by now (relay interval)
    assert len(published()) == 1
