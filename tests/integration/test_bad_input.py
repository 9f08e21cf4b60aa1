"""Bad input over HTTP and RPC gets a clear error naming the field, and stores
nothing: no grievance, no case, no event."""
import json

import pytest
import requests

from shared.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from shared.repository import database
from tests.integration.conftest import eventually
from tests.integration.helpers import post_grievance, report, unique
from tests.principals import partner, supplier, worker

pytestmark = pytest.mark.integration


def counts():
    return (database("intake")["grievances"].count_documents({}),
            database("remediation")["cases"].count_documents({}))


@pytest.mark.parametrize("body,field", [
    ({"language": "th", "work_area": "working_conditions", "text": "x"}, "channel"),
    ({**report("SUP-X"), "work_area": "weather"}, "work_area"),
    ({**report("SUP-X"), "language": "Thai!!"}, "language"),
    ({**report("SUP-X"), "text": ""}, "text"),
    ({**report("SUP-X"), "contact": {"name": "only a name"}}, "contact"),
    ({**report("SUP-X"), "contact": {"phone": "call me maybe"}}, "contact.phone"),
    ({**report("SUP-X"), "supplier_ref": "bad ref with spaces"}, "supplier_ref"),
    ({**report("SUP-X"), "forced_labour_indicators": ["made_up"]}, "forced_labour_indicators.0"),
    ({**report("SUP-X"), "favourite_colour": "blue"}, "favourite_colour"),
])
def test_http_rejects_bad_grievance_naming_the_field(stack, body, field):
    before = counts()
    response = post_grievance(stack, body)
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"], response.json()
    assert field in response.json()["detail"]
    assert counts() == before


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
def test_http_rejects_malformed_json(stack, raw):
    before = counts()
    response = requests.post(f"{stack.intake_url}/grievances", data=raw, timeout=10,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["type"].endswith("/invalid-input")
    assert counts() == before


def test_http_rejects_oversized_body(stack):
    response = post_grievance(stack, report("SUP-X", text="x" * 70_000))
    assert response.status_code == 413 and response.json()["status"] == 413


def test_validation_answer_needs_the_receipt_and_bad_answer_is_400(stack):
    """A supplier knows the reference (it is in its own view) but not the receipt: its
    "confirmed" is refused, exactly as for a reference that does not exist."""
    created = post_grievance(stack, report(unique("SUP"))).json()
    guess = {"receipt": "1234-1234-1234-1234-1234", "answer": "confirmed"}
    wrong = requests.post(f"{stack.intake_url}/grievances/{created['case_ref']}/validation-answers",
                          json=guess, timeout=10)
    unknown = requests.post(f"{stack.intake_url}/grievances/ILM-NOSUCHREF/validation-answers", json=guess, timeout=10)
    assert wrong.status_code == unknown.status_code == 401
    assert {**wrong.json(), "instance": None} == {**unknown.json(), "instance": None}
    assert requests.post(f"{stack.intake_url}/grievances/{created['case_ref']}/validation-answers",
                         json={"answer": "confirmed"}, timeout=10).status_code == 400   # no receipt at all
    bad = requests.post(f"{stack.intake_url}/grievances/ILM-NOSUCHREF/validation-answers",
                        json={"receipt": created["receipt"], "answer": "kind of"}, timeout=10)
    assert bad.status_code == 400 and "answer" in bad.json()["errors"]


def test_rpc_rejects_bad_payload_and_forbidden_steps_without_changing_the_case(stack, rpc, actors):
    response = post_grievance(stack, report(unique("SUP")))
    ref = response.json()["case_ref"]
    cmd = {"case_ref": ref}
    case = eventually(lambda: rpc.remediation.get_case(cmd))
    supplier_rpc = actors(supplier("SUP-1"))

    with pytest.raises(InvalidInput) as claimed:        # an actor in the payload is not who acts
        rpc.remediation.triage({"case_ref": ref, "actor": {"id": "x", "role": "boss"}})
    assert "actor" in claimed.value.errors
    with pytest.raises(InvalidInput) as bad_severity:
        rpc.remediation.triage({**cmd, "severity": "apocalyptic"})
    assert "severity" in bad_severity.value.errors
    with pytest.raises(InvalidInput) as bad_plan:
        supplier_rpc.remediation.submit_plan({**cmd, "actions": [{"type": "back_pay"}]})
    assert {"actions.0.description", "actions.0.owner", "actions.0.due_date"} <= set(bad_plan.value.errors)
    with pytest.raises(Forbidden):                        # only the worker withdraws
        rpc.remediation.withdraw({**cmd, "reason": "staff decided"})
    with pytest.raises(InvalidTransition):
        rpc.remediation.accept_plan(cmd)                       # received: no plan to accept
    with pytest.raises(Forbidden):
        supplier_rpc.remediation.acknowledge(cmd)             # not referred to SUP-1
    with pytest.raises(Forbidden):
        supplier_rpc.remediation.triage(cmd)
    with pytest.raises(NotFound):
        rpc.remediation.get_case({"case_ref": "ILM-NOSUCHREF"})
    with pytest.raises(Forbidden):                        # staff never answer for the worker
        rpc.validation.submit_answer({**cmd, "answer": "confirmed"})
    with pytest.raises(InvalidTransition):
        actors(worker(ref, case["worker_key"])).validation.submit_answer({**cmd, "answer": "confirmed"})

    after = rpc.remediation.get_case(cmd)
    assert after["status"] == "received" and after["version"] == case["version"]
    assert after["audit"] == case["audit"]


def test_rpc_rejects_bad_webhook_registration(actors):
    brand = actors(partner("BRAND-9"))
    with pytest.raises(InvalidInput) as exc:
        brand.notifications.register_webhook({"url": "not a url", "event_types": ["case.exploded"]})
    assert {"url", "event_types.0"} <= set(exc.value.errors)
    with pytest.raises(InvalidInput) as scope:   # the chain comes from the registry, not the partner
        brand.notifications.register_webhook({"url": "https://brand.example/hook",
                                              "event_types": ["case.status_changed"], "supplier_refs": ["SUP-1"]})
    assert "supplier_refs" in scope.value.errors
    subs = database("notifications")["subscriptions"].find({"partner_id": "BRAND-9"})
    assert list(subs) == []


def test_error_body_is_json_with_no_stack_trace(stack):
    response = post_grievance(stack, {"channel": "sms"})
    assert "Traceback" not in response.text
    json.loads(response.text)
