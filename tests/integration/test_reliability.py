"""What a crash, a redelivery or a poison message does: nothing is lost, nothing is
applied twice, nothing blocks a queue."""
import json
import uuid

import pytest
from kombu import Connection, Exchange

from shared.contracts.events import CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, iso, make_event, utc_now
from scripts.parties import link_partner
from shared.messaging import DEAD_LETTER_QUEUE
from shared.repository import database
from services.intake.store import GrievanceStore
from tests.integration.conftest import eventually
from tests.integration.helpers import CASE_WORKER, consumer_queues, grievance_event, publisher, unique
from tests.principals import ADMIN, partner

pytestmark = pytest.mark.integration


def test_event_stored_but_never_published_is_relayed_after_restart(stack, rpc):
    """A process that dies between the Mongo write and the publish: the event is in
    the document's outbox, and the sweep publishes it."""
    ref = unique("ILM")
    event = grievance_event(ref, unique("SUP"))
    event["occurred_at"] = "2026-01-01T00:00:00.000Z"   # 'crashed' long ago
    store = GrievanceStore(database("intake"))
    store.insert({"_id": ref, "case_ref": ref, "sealed_text": "v1:x"}, [event])

    case = eventually(lambda: rpc.remediation.get_case({"case_ref": ref}))
    assert case["status"] == "received"
    eventually(lambda: store.load(ref)["outbox"] == [] and store.load(ref)["outbox_pending"] is False)


def test_duplicate_events_are_applied_once(stack, rpc, actors, receiver):
    supplier = unique("SUP")
    path = f"/hooks/{supplier}"
    link_partner(actors(ADMIN), "BRAND-3", supplier)
    actors(partner("BRAND-3")).notifications.register_webhook({
        "url": receiver.url(path), "event_types": ["case.status_changed"]})
    ref = unique("ILM")
    relay = publisher()
    event = grievance_event(ref, supplier)
    relay.publish(event)
    relay.publish(event)            # redelivered: same event id
    case = eventually(lambda: rpc.remediation.get_case({"case_ref": ref}))
    got = receiver.wait(path, lambda got: len(got) >= 1)

    changed = make_event(CASE_STATUS_CHANGED, ref, {
        "from_status": "received", "to_status": "triaged", "case_version": 2, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": supplier, "site_ref": None, "business_ref": None,
        "business_type": None, "actor": CASE_WORKER.actor, "changed_at": iso(utc_now())}, "dup")
    relay.publish(changed)
    relay.publish(changed)
    got = receiver.wait(path, lambda got: len(got) >= 2)
    import time
    time.sleep(1.5)                 # room for a wrongly duplicated delivery to show up
    got = receiver.at(path)
    assert len(got) == 2, [h.json for h in got]
    assert len({h.headers["webhook-id"] for h in got}) == 2
    again = rpc.remediation.get_case({"case_ref": ref})
    assert [a["action"] for a in again["audit"]] == ["open"] and again["version"] == case["version"]


def test_poison_message_is_dead_lettered_and_does_not_block_the_queue(stack, rpc):
    marker = uuid.uuid4().hex
    with Connection(stack.env["AMQP_URI"]) as conn:
        producer = conn.Producer()
        producer.publish({"event_id": marker, "garbage": True}, exchange=Exchange("intake.events", type="topic",
                         durable=True), routing_key=GRIEVANCE_RECEIVED.routing_key, serializer="json",
                         delivery_mode=2, retry=True)

    # The queue keeps flowing: a good event after the poison one is processed.
    ref = unique("ILM")
    publisher().publish(grievance_event(ref, unique("SUP")))
    eventually(lambda: rpc.remediation.get_case({"case_ref": ref}))

    deaths = set()      # the queues it died in: every consumer of grievance.received refuses it

    def dead_lettered():
        with Connection(stack.env["AMQP_URI"]) as conn:
            queue = DEAD_LETTER_QUEUE(conn.channel())
            seen = []
            while (message := queue.get(no_ack=False)) is not None:
                seen.append(message)
            found = [m for m in seen if json.loads(m.body).get("event_id") == marker]
            for m in seen:
                m.requeue() if m not in found else m.ack()
            deaths.update(m.headers["x-death"][0]["queue"] for m in found)
        return deaths == expected
    expected = consumer_queues(GRIEVANCE_RECEIVED)
    assert {q.split("--")[1].split(".")[0] for q in expected} >= {"remediation", "validation"}
    eventually(dead_lettered, timeout=20)
