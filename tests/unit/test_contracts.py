"""Contracts: schema loading names the bad field (nested ones flattened), unknown
fields are refused, events are validated on the way out and on the way in, every
routing key carries its version, InvalidInput survives nameko's RPC serialisation,
and intake's HTTP bodies are checked."""
import json
from datetime import date, datetime, timezone

import pytest
from nameko.exceptions import deserialize, serialize

from services.intake.schemas import CaseRefPath, GrievanceReport, ValidationAnswer
from shared.contracts.common import Actor, load
from shared.contracts.events import (
    CASE_STATUS_CHANGED, CATALOGUE, GRIEVANCE_RECEIVED, RETALIATION_REPORTED, VALIDATION_COMPLETED,
    WEBHOOK_EVENT_TYPES, iso, make_event, parse_event,
)
from shared.contracts.rpc import RegisterWebhook, SubmitAnswer, SubmitPlan, Triage, Withdraw
from shared.errors import EXPECTED, Forbidden, InvalidInput, InvalidTransition, NotFound
from shared.auth import Principal
from shared.rpc import command

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
ACTOR = {"id": "SUP-1", "role": "supplier"}
ACTION = {"type": "back_pay", "description": "pay the difference", "owner": "HR",
          "due_date": "2026-12-01"}


def errors_of(schema, data, **kw) -> dict:
    with pytest.raises(InvalidInput) as exc:
        load(schema, data, **kw)
    return exc.value.errors


def plan(**kw):
    return {"case_ref": "ILM-TEST0001", "actions": [ACTION], **kw}


# --- load ----------------------------------------------------------------------------

def test_load_returns_typed_values():
    loaded = load(SubmitPlan(), plan())
    assert loaded["actions"][0]["due_date"] == date(2026, 12, 1)
    assert loaded["actions"][0]["amount"] is None          # load_default


@pytest.mark.parametrize("data", [None, [], "text", 3])
def test_load_refuses_a_non_object(data):
    assert errors_of(SubmitPlan(), data) == {"_schema": ["expected a JSON object"]}


def test_missing_required_fields_are_named():
    errors = errors_of(SubmitPlan(), {})
    assert set(errors) == {"case_ref", "actions"}


def test_no_payload_names_its_actor():
    # Who acts comes only from the signed token (shared/rpc.py): an actor field is refused.
    assert set(errors_of(SubmitPlan(), plan(actor=ACTOR))) == {"actor"}
    assert set(errors_of(SubmitAnswer(), {"case_ref": "ILM-1A", "answer": "confirmed",
                                          "worker_key": "wk_" + "0" * 32})) == {"worker_key"}


def test_nested_errors_are_flattened_with_list_indices():
    bad = plan(actions=[ACTION, {**ACTION, "type": "bribe"}, {**ACTION, "due_date": "tomorrow",
                                                                "currency": "baht"}])
    errors = errors_of(SubmitPlan(), bad)
    assert set(errors) == {"actions.1.type", "actions.2.due_date", "actions.2.currency"}
    assert all(isinstance(v, list) and v for v in errors.values())


def test_unknown_fields_are_refused_at_every_level():
    errors = errors_of(SubmitPlan(), plan(priority="urgent", actions=[{**ACTION, "colour": "red"}]))
    assert set(errors) == {"priority", "actions.0.colour"}
    assert errors["priority"] == ["Unknown field."]


def test_list_length_is_checked():
    assert set(errors_of(SubmitPlan(), plan(actions=[]))) == {"actions"}


def test_bad_ref_is_refused():
    assert set(errors_of(Triage(), {"case_ref": "ILM/../x"})) == {"case_ref"}


def test_partial_load_allows_missing_fields_but_still_checks_given_ones():
    assert load(Actor(), {"id": "x"}, partial=True) == {"id": "x"}
    assert set(errors_of(Actor(), {"role": "king"}, partial=True)) == {"role"}


def test_withdraw_needs_a_reason():
    assert set(errors_of(Withdraw(), {"case_ref": "ILM-1A"})) == {"reason"}


def test_submit_answer_checks_the_answer():
    assert load(SubmitAnswer(), {"case_ref": "ILM-1A", "answer": "confirmed"})
    assert set(errors_of(SubmitAnswer(), {"case_ref": "ILM-1A", "answer": "maybe"})) == {"answer"}


def test_register_webhook():
    ok = load(RegisterWebhook(), {"url": "http://localhost:9000/hook", "event_types": ["case.status_changed"]})
    assert "supplier_refs" not in ok
    # a partner cannot name its supply chain: the party registry says what it is
    assert set(errors_of(RegisterWebhook(), {"url": "https://a.org", "event_types": ["case.status_changed"],
                                             "supplier_refs": ["SUP-1"]})) == {"supplier_refs"}
    errors = errors_of(RegisterWebhook(), {"url": "ftp://x/y", "event_types": ["grievance.received"]})
    assert set(errors) == {"url", "event_types.0"}
    assert set(errors_of(RegisterWebhook(), {"url": "https://a.org", "event_types": []})) == {"event_types"}
    # whose endpoint it is, and its audience, come from the token
    assert set(errors_of(RegisterWebhook(), {"url": "https://a.org", "event_types": ["case.status_changed"],
                                             "partner_id": "BRAND-1", "audience": "safeguarding"})) == \
        {"partner_id", "audience"}


# --- events --------------------------------------------------------------------------

STATUS = {
    "from_status": None, "to_status": "received", "case_version": 1, "severity": "normal",
    "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None,
    "business_ref": None, "business_type": None, "actor": {"id": "system", "role": "system"},
    "changed_at": iso(NOW),
}


def test_make_event_builds_a_complete_envelope():
    event = make_event(CASE_STATUS_CHANGED, "ILM-TEST0001", STATUS, "corr-1", event_id="evt-1")
    assert event["event_id"] == "evt-1"
    assert event["event_type"] == "case.status_changed" and event["version"] == 1
    assert event["source"] == "remediation" and event["correlation_id"] == "corr-1"
    assert event["case_ref"] == "ILM-TEST0001"
    assert event["occurred_at"].endswith("Z")
    assert event["data"] == {**STATUS, "deadline_met": None, "validation": None,   # optional facts default to None
                             "remedy_actions": None}
    other = make_event(CASE_STATUS_CHANGED, "ILM-TEST0001", STATUS, "corr-1")
    assert other["event_id"] != event["event_id"] and len(other["event_id"]) == 32


@pytest.mark.parametrize("change,field", [
    ({"to_status": "done"}, "to_status"),
    ({"case_version": "three"}, "case_version"),
    ({"actor": {"id": "x", "role": "god"}}, "actor.role"),
    ({"worker_key": "wk_" + "a" * 32}, "worker_key"),        # unknown: no identity in this event
])
def test_make_event_rejects_bad_data_naming_the_field(change, field):
    with pytest.raises(InvalidInput) as exc:
        make_event(CASE_STATUS_CHANGED, "ILM-TEST0001", {**STATUS, **change}, "corr-1")
    assert set(exc.value.errors) == {field}


def test_make_event_rejects_missing_data_fields():
    data = dict(STATUS)
    del data["severity"]
    with pytest.raises(InvalidInput) as exc:
        make_event(CASE_STATUS_CHANGED, "ILM-TEST0001", data, "corr-1")
    assert "severity" in exc.value.errors


def test_make_event_rejects_a_bad_case_ref():
    with pytest.raises(InvalidInput) as exc:
        make_event(CASE_STATUS_CHANGED, "not a ref!", STATUS, "corr-1")
    assert set(exc.value.errors) == {"case_ref"}


def test_retaliation_contract_refuses_identity_and_text():
    data = {"alert_id": "a" * 32, "raised_from": "grievance", "work_area": None,
            "supplier_ref": None, "site_ref": None, "reported_at": iso(NOW)}
    make_event(RETALIATION_REPORTED, "ILM-TEST0001", data, "c")
    for extra in ({"worker_key": "wk_" + "a" * 32}, {"text": "he threatened me"}):
        with pytest.raises(InvalidInput) as exc:
            make_event(RETALIATION_REPORTED, "ILM-TEST0001", {**data, **extra}, "c")
        assert set(exc.value.errors) == set(extra)


def test_parse_event_round_trip_through_json():
    event = make_event(VALIDATION_COMPLETED, "ILM-TEST0001",
                       {"round_no": 2, "outcome": "confirmed", "completed_at": iso(NOW)}, "corr-1")
    parsed = parse_event(VALIDATION_COMPLETED, json.loads(json.dumps(event)))
    assert parsed == event


def test_parse_event_rejects_the_wrong_type_or_version():
    event = make_event(VALIDATION_COMPLETED, "ILM-TEST0001",
                       {"round_no": 1, "outcome": "confirmed", "completed_at": iso(NOW)}, "corr-1")
    with pytest.raises(InvalidInput) as exc:
        parse_event(CASE_STATUS_CHANGED, event)
    assert exc.value.errors == {"event_type": ["expected case.status_changed.v1"]}
    with pytest.raises(InvalidInput) as exc:
        parse_event(VALIDATION_COMPLETED, {**event, "version": 2})
    assert set(exc.value.errors) == {"event_type"}


def test_parse_event_rejects_a_bad_envelope_or_body():
    event = make_event(VALIDATION_COMPLETED, "ILM-TEST0001",
                       {"round_no": 1, "outcome": "confirmed", "completed_at": iso(NOW)}, "corr-1")
    missing = {k: v for k, v in event.items() if k != "correlation_id"}
    with pytest.raises(InvalidInput) as exc:
        parse_event(VALIDATION_COMPLETED, missing)
    assert set(exc.value.errors) == {"correlation_id"}
    with pytest.raises(InvalidInput) as exc:
        parse_event(VALIDATION_COMPLETED, {**event, "data": {**event["data"], "round_no": 0}})
    assert set(exc.value.errors) == {"round_no"}
    with pytest.raises(InvalidInput) as exc:
        parse_event(VALIDATION_COMPLETED, {**event, "extra": 1})
    assert set(exc.value.errors) == {"extra"}


def test_catalogue_routing_keys_carry_the_version():
    assert len(CATALOGUE) == 18
    for key, contract in CATALOGUE.items():
        assert key == contract.routing_key
        assert key == f"{contract.name}.v{contract.version}"
        assert key.endswith(f".v{contract.version}")
        assert contract.source in ("intake", "remediation", "validation")
    assert GRIEVANCE_RECEIVED.routing_key == "grievance.received.v1"
    assert [c.name for c in CATALOGUE.values() if c.urgent] == ["retaliation.reported"]
    names = {c.name for c in CATALOGUE.values()}
    assert set(WEBHOOK_EVENT_TYPES) <= names


# --- errors over RPC -----------------------------------------------------------------

def test_invalid_input_survives_nameko_serialisation():
    errors = {"actions.0.type": ["Must be one of: back_pay."], "case_ref": ["Missing data."]}
    wire = json.loads(json.dumps(serialize(InvalidInput(errors))))   # the JSON serializer
    back = deserialize(wire)
    assert type(back) is InvalidInput
    assert back.errors == errors
    assert "actions.0.type" in str(back)


def test_invalid_input_from_a_plain_message():
    exc = InvalidInput("bad things")
    assert exc.errors == {"_schema": ["bad things"]}
    assert deserialize(serialize(exc)).errors == {"_schema": ["bad things"]}


@pytest.mark.parametrize("cls", [NotFound, InvalidTransition, Forbidden])
def test_other_caller_errors_keep_their_class(cls):
    back = deserialize(json.loads(json.dumps(serialize(cls("case ILM-X: nope")))))
    assert type(back) is cls and "nope" in str(back)


def test_http_statuses():
    assert [e.http_status for e in EXPECTED] == [400, 404, 409, 403, 401, 429, 503, 413, 415]


# --- the @command decorator ------------------------------------------------------------

class _Caller:
    def __init__(self, principal):
        self._principal = principal

    def principal(self, roles):
        return self._principal.require(roles)


class _Service:
    def __init__(self, principal=Principal("SUP-1", "supplier")):
        self.calls = []
        self.caller = _Caller(principal)

    @command(SubmitPlan, allow=("supplier",))
    def submit_plan(self, payload, actor):
        self.calls.append((payload, actor))
        return "ok"

    @command(Withdraw, allow=("worker",))
    def withdraw(self, payload, actor):
        return actor


def test_command_validates_before_the_method_runs():
    svc = _Service()
    with pytest.raises(InvalidInput) as exc:
        svc.submit_plan(plan(actions=[{**ACTION, "type": "bribe"}]))
    assert set(exc.value.errors) == {"actions.0.type"}
    assert svc.calls == []
    assert svc.submit_plan(plan()) == "ok"
    payload, actor = svc.calls[0]
    assert payload["actions"][0]["due_date"] == date(2026, 12, 1)   # the loaded payload
    assert actor == {"id": "SUP-1", "role": "supplier"}             # from the token, not the payload


def test_command_refuses_a_role_it_does_not_allow_before_reading_the_payload():
    svc = _Service(Principal("cw-1", "case_worker"))
    with pytest.raises(Forbidden):
        svc.submit_plan({"anything": "at all"})
    assert svc.calls == []


def test_a_worker_acts_on_their_own_case_only():
    svc = _Service(Principal("wk_1", "worker", case_ref="ILM-MINE"))
    assert svc.withdraw({"case_ref": "ILM-MINE", "reason": "settled"})["case_ref"] == "ILM-MINE"
    with pytest.raises(Forbidden):
        svc.withdraw({"case_ref": "ILM-OTHER", "reason": "settled"})


def test_command_registers_an_rpc_with_the_expected_errors():
    (entrypoint,) = _Service.submit_plan.nameko_entrypoints
    assert type(entrypoint).__name__ == "Rpc"
    assert entrypoint.expected_exceptions == EXPECTED
    assert _Service.submit_plan.__name__ == "submit_plan"
    assert _Service.submit_plan.allowed_roles == {"supplier"}


# --- intake's HTTP schemas -------------------------------------------------------------

REPORT = {"channel": "hotline", "language": "th", "work_area": "working_conditions",
          "text": "No overtime pay for three months."}


def test_grievance_report_defaults():
    loaded = load(GrievanceReport(), REPORT)
    assert loaded["contact"] is None and loaded["supplier_ref"] is None
    assert loaded["forced_labour_indicators"] == [] and loaded["retaliation"] is False
    assert loaded["consent_to_share_identity"] is False
    assert load(GrievanceReport(), {**REPORT, "language": "my-MM"})["language"] == "my-MM"
    contact = {"phone": "+66 (81) 234-5678", "email": "w@example.org"}
    assert load(GrievanceReport(), {**REPORT, "contact": contact})["contact"] == contact


@pytest.mark.parametrize("change,field", [
    ({"text": None}, "text"),
    ({"text": ""}, "text"),
    ({"text": "x" * 10_001}, "text"),
    ({"channel": "fax"}, "channel"),
    ({"language": "Thai"}, "language"),
    ({"language": "th_TH"}, "language"),
    ({"work_area": "office"}, "work_area"),
    ({"contact": {"phone": "call me maybe"}}, "contact.phone"),
    ({"contact": {"whatsapp": "12"}}, "contact.whatsapp"),
    ({"contact": {"email": "not-an-email"}}, "contact.email"),
    ({"contact": {"phone": "+66812345678", "address": "dorm 3"}}, "contact.address"),
    ({"forced_labour_indicators": ["bad_food"]}, "forced_labour_indicators.0"),
    ({"supplier_ref": "SUP 1"}, "supplier_ref"),
    ({"worker_name": "Somchai"}, "worker_name"),
])
def test_grievance_report_names_the_bad_field(change, field):
    data = {**REPORT, **change}
    if change.get("text", "") is None:
        del data["text"]                                 # missing text
    assert set(errors_of(GrievanceReport(), data)) == {field}


def test_contact_without_a_reachable_handle_is_refused():
    errors = errors_of(GrievanceReport(), {**REPORT, "contact": {"name": "Somchai"}})
    assert len(errors) == 1
    (key, messages), = errors.items()
    assert key == "contact"
    assert "phone" in messages[0] and "email" in messages[0]
    assert set(errors_of(GrievanceReport(), {**REPORT, "contact": {}})) == {key}


def test_validation_answer_and_case_ref_path():
    r = "1234-5678-9012-3456-7890"
    assert load(ValidationAnswer(), {"receipt": r, "answer": "not_resolved"}) == {
        "receipt": r, "answer": "not_resolved", "text": None, "retaliation": False,
        "voice_suppression": False}
    assert set(errors_of(ValidationAnswer(), {"answer": "confirmed"})) == {"receipt"}
    assert set(errors_of(ValidationAnswer(), {"receipt": r, "answer": "yes"})) == {"answer"}
    assert set(errors_of(ValidationAnswer(), {"receipt": r, "answer": "confirmed", "text": ""})) == {"text"}
    assert load(CaseRefPath(), {"case_ref": "ILM-ABCD2345"}) == {"case_ref": "ILM-ABCD2345"}
    assert set(errors_of(CaseRefPath(), {"case_ref": "../etc"})) == {"case_ref"}
