"""The broker, not the code, stops a service from publishing another's events: each
service process connects as its own user (shared/broker_users.py) that may write
only its own exchanges. Publishes use confirms, so a refusal is the broker's answer
to that very publish (ACCESS_REFUSED closes the channel), not a later symptom."""
import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange

from scripts.stack import broker_uris
from shared.auth import SERVICES, issuer_of_process
from shared.contracts.events import VALIDATION_COMPLETED, iso, make_event, utc_now
from shared.outbox import EventPublisher
from tests.integration.conftest import eventually
from tests.integration.helpers import grievance_event, publisher, unique

pytestmark = pytest.mark.integration
VALIDATION_QUEUE = "evt-validation-validation.completed.v1--remediation.on_validation_completed"


def publish_as(uri: str, exchange: str, routing_key: str) -> None:
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish({"probe": True}, exchange=Exchange(exchange, type="topic", passive=True),
                                routing_key=routing_key, serializer="json")


@pytest.fixture(scope="module")
def uris(stack):
    return broker_uris(stack.env)


def test_every_process_runs_as_its_own_broker_user(stack, uris):
    assert set(uris) == set(SERVICES)
    for name in stack.procs:
        assert stack.service_env(name)["AMQP_URI"] == uris[issuer_of_process(name)]


@pytest.mark.parametrize("exchange, routing_key", [
    ("validation.events", VALIDATION_COMPLETED.routing_key),   # another service's events
    ("", "rpc-remediation"),                                   # the default exchange reaches any queue
])
def test_the_broker_refuses_intake_writing_an_exchange_not_its_own(uris, exchange, routing_key):
    with pytest.raises(AccessRefused) as refused:
        publish_as(uris["intake"], exchange, routing_key)
    assert refused.value.reply_code == 403
    assert "ACCESS_REFUSED" in str(refused.value)


def test_only_a_consumer_may_write_the_dead_letter_exchange(uris):
    """Its event queues name ilm.dead-letter (shared/broker_users.py); the gateway
    consumes no events (intake does since it keeps the retention period)."""
    with pytest.raises(AccessRefused) as refused:
        publish_as(uris["gateway"], "ilm.dead-letter", "#")
    assert refused.value.reply_code == 403


def test_a_service_publishes_to_its_own_exchange(uris):
    publish_as(uris["intake"], "intake.events", "probe.unbound")   # confirmed, routed nowhere


def test_a_forged_validation_completed_never_closes_a_case(stack, rpc, uris):
    ref = unique("ILM")
    publisher().publish(grievance_event(ref, unique("SUP")))   # the harness opens a case
    case = eventually(lambda: rpc.remediation.get_case({"case_ref": ref}))
    forged = make_event(VALIDATION_COMPLETED, ref, {
        "round_no": 1, "outcome": "confirmed", "completed_at": iso(utc_now())}, correlation_id="forged")
    with pytest.raises(AccessRefused):
        EventPublisher(uris["remediation"]).publish(forged)
    # Confirms: the refusal answered the publish itself, so nothing was routed.
    with Connection(stack.env["AMQP_URI"]) as conn:
        queue = conn.channel().queue_declare(VALIDATION_QUEUE, passive=True)
        assert queue.message_count == 0
    assert rpc.remediation.get_case({"case_ref": ref})["status"] == case["status"] == "received"
