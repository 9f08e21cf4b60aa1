"""Events that arrive while the consumer's store is down are an outage, not poison:
none spends its attempts or reaches the dead-letter queue, the consumer pauses (and
says so), and once the store is back each event is applied once. Remediation's
container runs on an embedded Mongo server of this test's own, stopped here."""
import uuid

import pymongo
import pytest
from kombu import Connection, Queue
from nameko.standalone.events import event_dispatcher
from prometheus_client import REGISTRY

from scripts.stack import wait_for
from services.remediation.service import RemediationService
from shared.config import SETTINGS_KEY
from shared.contracts.events import GRIEVANCE_RECEIVED, make_event
from shared.messaging import DEAD_LETTER_EXCHANGE, backing_off
from tests.interface.remediation.test_service import GRIEVANCE
from tests.principals import signing_key

EVENTS = 10


def failed_tries() -> float:
    """Tries at grievance.received that failed, whatever became of them."""
    return sum(REGISTRY.get_sample_value("ilm_events_consumed_total", {
        "event_type": GRIEVANCE_RECEIVED.name, "outcome": outcome}) or 0
        for outcome in ("deferred", "retried", "dead_lettered"))


@pytest.fixture
def dead_letters(interface_amqp_uri):
    """What is dead-lettered from a queue, in a copy of this test's own."""
    with Connection(interface_amqp_uri) as conn:
        def watch(queue_name):
            queue = Queue(f"test-dead-{uuid.uuid4().hex[:8]}", exchange=DEAD_LETTER_EXCHANGE,
                          routing_key=queue_name, exclusive=True)(conn.channel())
            queue.declare()
            return lambda: queue.queue_declare(passive=True).message_count
        yield watch


def test_events_arriving_while_the_store_is_down_wait_and_are_applied_once_it_is_back(
        own_mongo, container_factory, make_config, interface_amqp_uri, dead_letters):
    # Two attempts: the old behaviour would dead-letter every event at its second try.
    config = make_config(mongo_uri=own_mongo.uri, actor_signing_key=signing_key("remediation"),
                         event_max_attempts=2)
    container = container_factory(RemediationService, config)
    container.start()
    queue = next(e.queue.name for e in container.entrypoints if e.method_name == "on_grievance_received")
    dead = dead_letters(queue)
    refs = [f"ILM-OUT{uuid.uuid4().hex[:5].upper()}" for _ in range(EVENTS)]
    tried = failed_tries()

    own_mongo.stop()
    dispatch = event_dispatcher(config)
    for ref in refs:
        dispatch(GRIEVANCE_RECEIVED.source, GRIEVANCE_RECEIVED.routing_key,
                 make_event(GRIEVANCE_RECEIVED, ref, GRIEVANCE, "outage"))
    # Every event met the outage more often than it has attempts.
    wait_for(lambda: failed_tries() - tried >= 2 * EVENTS, 30, "each event tried twice")
    assert dead() == 0
    assert backing_off()[queue] == "ServerSelectionTimeoutError"

    own_mongo.start()
    cases = pymongo.MongoClient(own_mongo.uri)[config[SETTINGS_KEY].mongo_db_prefix + "remediation"]["cases"]
    wait_for(lambda: cases.count_documents({"_id": {"$in": refs}}) == EVENTS, 30, "every case opened")
    for case in cases.find({"_id": {"$in": refs}}):
        assert [a["action"] for a in case["audit"]] == ["open"]
    wait_for(lambda: queue not in backing_off(), 10, "the consumer carrying on")
    assert dead() == 0
