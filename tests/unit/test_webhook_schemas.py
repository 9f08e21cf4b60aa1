"""The webhook payload schemas published in the gateway's OpenAPI document (``webhooks``,
OpenAPI 3.1) describe exactly what notifications sends: every webhook type is there,
a real payload validates against its schema, and the schema admits no worker fact."""
import jsonschema
import pytest

from services.gateway.service import GatewayService
from services.notifications.domain import payload_for
from shared.contracts.events import (
    CASE_DEADLINE_ESCALATED, CASE_STATUS_CHANGED, RETALIATION_REPORTED, WEBHOOK_EVENT_TYPES, make_event,
)
from shared.openapi import build
from tests.unit.test_notifications_domain import ALERT_DATA, NOW, STATUS_DATA, iso

ESCALATION_DATA = {**{k: STATUS_DATA[k] for k in ("severity", "work_area", "supplier_ref", "site_ref",
                                                  "business_ref", "business_type")},
                   "deadline": "acknowledge", "level": 2, "due": iso(NOW), "escalated_at": iso(NOW)}
EVENTS = {CASE_STATUS_CHANGED: STATUS_DATA, RETALIATION_REPORTED: ALERT_DATA, CASE_DEADLINE_ESCALATED: ESCALATION_DATA}
WORKER_FACTS = {"worker_key", "worker_keys", "channel", "language", "text", "contact", "retaliation", "actor"}


@pytest.fixture(scope="module")
def document():
    return build(GatewayService, "ILM", "1")


def schema_of(document, webhook_type):
    ref = document["webhooks"][webhook_type]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return {**document["components"]["schemas"][ref.rsplit("/", 1)[1]], "components": document["components"]}


def resolver(document):
    return jsonschema.validators.RefResolver.from_schema(document)


@pytest.mark.parametrize("contract", list(EVENTS), ids=lambda c: c.name)
def test_a_real_payload_validates_against_its_published_schema(document, contract):
    payload = payload_for(make_event(contract, "ILM-TEST0001", EVENTS[contract], "corr-1"))
    schema = schema_of(document, contract.name)
    jsonschema.validate(payload, schema, resolver=resolver(document))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**payload, "type": "something.else"}, schema, resolver=resolver(document))


def test_every_webhook_type_is_published_with_its_headers_and_no_worker_fact(document):
    assert set(document["webhooks"]) == set(WEBHOOK_EVENT_TYPES)
    for name, hook in document["webhooks"].items():
        headers = {p["name"] for p in hook["post"]["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        data_ref = schema_of(document, name)["properties"]["data"]["$ref"].rsplit("/", 1)[1]
        assert not set(document["components"]["schemas"][data_ref]["properties"]) & WORKER_FACTS
