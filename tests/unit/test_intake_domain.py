"""Intake's rules: severity/retaliation classification, case references, contact
normalisation, and the events a grievance raises (each checked against its contract)."""
import json
import re
from datetime import datetime, timezone

import pytest

from services.intake.domain import (
    _REF_ALPHABET, Grievance, classify, contact_identifier, mentions_retaliation, new_case_ref,
)
from shared.contracts.events import (
    GRIEVANCE_RECEIVED, RETALIATION_REPORTED, VALIDATION_ANSWER_SUBMITTED, WORKER_MESSAGE_RECEIVED, iso, make_event,
)
from shared.errors import InvalidInput

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
WORKER_KEY = "wk_" + "a" * 32
CASE_REF = "ILM-TEST0001"
QUIET_TEXT = "The dormitory toilets have been broken for two weeks."


def report(**overrides) -> dict:
    base = {
        "channel": "hotline", "language": "th", "work_area": "living_eating_conditions",
        "text": QUIET_TEXT, "contact": None, "supplier_ref": "SUP-1", "site_ref": "SITE-1",
        "agency_ref": None, "forced_labour_indicators": [], "retaliation": False,
        "consent_to_share_identity": False,
    }
    return {**base, **overrides}


def receive(**overrides) -> Grievance:
    return Grievance.receive(report(**overrides), CASE_REF, WORKER_KEY, "v1:sealed-text", None, NOW)


def validate_all(g: Grievance) -> list[dict]:
    """Every raised event must pass its contract schema."""
    return [make_event(contract, g.case_ref, data, "corr-1") for contract, data in g.raised]


# --- classify ----------------------------------------------------------------------

def test_quiet_report_in_an_ordinary_area_is_normal():
    assert classify(report()) == ("normal", False)
    assert classify(report(work_area="working_conditions")) == ("normal", False)


@pytest.mark.parametrize("area", ["labour_recruitment", "employer_employee_relations"])
def test_high_risk_work_areas_are_high(area):
    assert classify(report(work_area=area)) == ("high", False)


def test_explicit_retaliation_flag_is_critical_even_with_quiet_text():
    assert classify(report(retaliation=True)) == ("critical", True)


@pytest.mark.parametrize("text", [
    "My supervisor threatened me after I called the hotline.",
    "They said I will be DEPORTED if I talk to anyone.",
    "I was fired for complaining about the overtime.",
    "They deducted 2000 baht from my pay because I reported it.",
    "The agency will blacklist me.",
    "หัวหน้าขู่ว่าจะไล่ออก",                     # Thai: the boss threatened to dismiss me
    "นายจ้างหักเงินเดือนฉัน",                    # Thai: the employer deducted my wages
    "သူဌေးက ခြိမ်းခြောက်တယ်",                   # Burmese: the boss threatens
])
def test_retaliation_words_make_it_critical_and_flag_retaliation(text):
    assert mentions_retaliation(text)
    assert classify(report(text=text)) == ("critical", True)


def test_retaliation_in_a_high_area_is_still_critical():
    assert classify(report(work_area="labour_recruitment", retaliation=True)) == ("critical", True)


@pytest.mark.parametrize("indicators", [["debt_bondage"], ["retention_of_identity_documents"],
                                        ["withholding_of_wages", "isolation"]])
def test_any_forced_labour_indicator_is_critical_but_not_retaliation(indicators):
    assert classify(report(forced_labour_indicators=indicators)) == ("critical", False)


@pytest.mark.parametrize("text", [
    "Children are made to work on the night shift.",
    "There is violence in the dormitory every week.",
    "Underage workers in the packing line.",
])
def test_critical_words_without_retaliation(text):
    assert classify(report(text=text)) == ("critical", False)


def test_mentions_retaliation_handles_empty_text():
    assert mentions_retaliation(None) is False
    assert mentions_retaliation("") is False
    assert mentions_retaliation(QUIET_TEXT) is False


# --- case references ---------------------------------------------------------------

def test_case_ref_format_and_uniqueness():
    pattern = re.compile(r"^ILM-[" + re.escape(_REF_ALPHABET) + r"]{8}$")
    refs = [new_case_ref() for _ in range(1000)]
    assert all(pattern.match(r) for r in refs), [r for r in refs if not pattern.match(r)][:5]
    assert len(set(refs)) == 1000
    # no characters that are confused when read out over a phone
    assert not set("01OIL") & set("".join(r[4:] for r in refs))


# --- contact identifier ------------------------------------------------------------

@pytest.mark.parametrize("phone", ["+66 81 234 5678", "+66-81-234-5678", "(+66) 812345678",
                                   "+66812345678", " +66 (81) 234-5678 "])
def test_same_phone_in_different_formats_gives_the_same_identifier(phone):
    assert contact_identifier({"phone": phone}) == "phone:66812345678"


def test_contact_identifier_preference_and_normalisation():
    assert contact_identifier(None) is None
    assert contact_identifier({}) is None
    assert contact_identifier({"name": "Somchai"}) is None
    assert contact_identifier({"whatsapp": "+95 9 123 456 789"}) == "whatsapp:959123456789"
    # phone wins over the other handles
    assert contact_identifier({"email": "a@b.org", "phone": "+66 81 234 5678"}) == "phone:66812345678"
    assert contact_identifier({"email": "  Worker@Example.ORG "}) == "email:worker@example.org"
    assert contact_identifier({"line_id": "SomChai_99"}) == "line_id:somchai_99"
    assert contact_identifier({"line_id": "x", "messenger_id": "y"}) == "line_id:x"
    assert contact_identifier({"messenger_id": "Y"}) == "messenger_id:y"
    # different people stay different
    assert contact_identifier({"phone": "+66 81 234 5678"}) != contact_identifier({"phone": "+66 81 234 5679"})


# --- the grievance and its events --------------------------------------------------

def test_receive_raises_grievance_received_matching_the_contract():
    g = receive(work_area="labour_recruitment", contact={"phone": "+66 81 234 5678"})
    assert g.severity == "high" and g.retaliation is False
    assert [c for c, _ in g.raised] == [GRIEVANCE_RECEIVED]
    data = g.raised[0][1]
    assert data == {
        "worker_key": WORKER_KEY, "channel": "hotline", "language": "th",
        "work_area": "labour_recruitment", "forced_labour_indicators": [], "severity": "high",
        "retaliation": False, "supplier_ref": "SUP-1", "site_ref": "SITE-1", "agency_ref": None,
        "received_at": iso(NOW),
    }
    (event,) = validate_all(g)
    assert event["event_type"] == "grievance.received" and event["case_ref"] == CASE_REF
    # no free text or contact in the event
    body = json.dumps(event)
    assert QUIET_TEXT not in body and "812345678" not in body and "v1:sealed-text" not in body
    assert g.sealed_text == "v1:sealed-text" and g.received_at == iso(NOW)


def test_receive_with_retaliation_raises_a_minimal_alert():
    text = "My supervisor threatened to deport me for reporting."
    g = receive(text=text)
    assert g.severity == "critical" and g.retaliation is True
    assert [c for c, _ in g.raised] == [GRIEVANCE_RECEIVED, RETALIATION_REPORTED]
    alert = g.raised[1][1]
    assert "worker_key" not in alert and "text" not in alert
    assert WORKER_KEY not in json.dumps(alert) and text not in json.dumps(alert)
    assert alert["raised_from"] == "grievance"
    assert alert["supplier_ref"] == "SUP-1" and alert["site_ref"] == "SITE-1"
    assert alert["work_area"] == "living_eating_conditions"
    assert alert["reported_at"] == iso(NOW)
    assert re.fullmatch(r"[0-9a-f]{32}", alert["alert_id"])
    events = validate_all(g)
    assert events[1]["event_type"] == "retaliation.reported"


def test_retaliation_flag_alone_raises_the_alert():
    g = receive(retaliation=True)
    assert [c for c, _ in g.raised] == [GRIEVANCE_RECEIVED, RETALIATION_REPORTED]
    validate_all(g)


def test_alert_ids_are_unique():
    ids = {receive(retaliation=True).raised[1][1]["alert_id"] for _ in range(50)}
    assert len(ids) == 50


def test_anonymous_report_without_refs_still_passes_the_contract():
    g = receive(supplier_ref=None, site_ref=None, retaliation=True,
                forced_labour_indicators=["debt_bondage"])
    events = validate_all(g)
    assert events[0]["data"]["forced_labour_indicators"] == ["debt_bondage"]
    assert events[1]["data"]["supplier_ref"] is None


def test_contract_catches_a_bad_domain_event():
    """The check above can fail: a data body the contract does not know is refused."""
    g = receive()
    g.raised[0][1]["text"] = QUIET_TEXT
    with pytest.raises(InvalidInput) as exc:
        validate_all(g)
    assert "text" in exc.value.errors


def test_validation_answer_is_raised_with_the_worker_key():
    g = receive()
    g.raised.clear()
    assert g.submit_validation_answer("confirmed", None, False, None, NOW) is False
    assert g.raised == [(VALIDATION_ANSWER_SUBMITTED, {
        "worker_key": WORKER_KEY, "answer": "confirmed", "retaliation": False,
        "submitted_at": iso(NOW), "round_no": None}),
        (WORKER_MESSAGE_RECEIVED, {"kind": "validation_answer", "received_at": iso(NOW)})]   # the timeline's: no words
    assert g.validation_answers == [{"answer": "confirmed", "sealed_text": None,
                                     "retaliation": False, "at": iso(NOW)}]
    validate_all(g)


def test_validation_answer_reporting_a_threat_raises_an_alert():
    g = receive()
    g.raised.clear()
    text = "Nothing was paid and the manager threatened me after the visit."
    assert g.submit_validation_answer("not_resolved", "v1:sealed", False, text, NOW) is True
    assert [c for c, _ in g.raised] == [VALIDATION_ANSWER_SUBMITTED, RETALIATION_REPORTED, WORKER_MESSAGE_RECEIVED]
    answer, alert, _ = (d for _, d in g.raised)
    assert answer["retaliation"] is True and answer["answer"] == "not_resolved"
    assert alert["raised_from"] == "validation_answer"
    assert "worker_key" not in alert and text not in json.dumps(alert)
    assert g.validation_answers[-1]["retaliation"] is True
    assert g.validation_answers[-1]["sealed_text"] == "v1:sealed"
    validate_all(g)


def test_validation_answer_flagged_by_staff_raises_an_alert():
    g = receive()
    g.raised.clear()
    assert g.submit_validation_answer("confirmed", None, True, None, NOW) is True
    assert [c for c, _ in g.raised] == [VALIDATION_ANSWER_SUBMITTED, RETALIATION_REPORTED, WORKER_MESSAGE_RECEIVED]
    validate_all(g)


def test_round_trip_through_dict():
    g = receive(retaliation=True, contact={"phone": "+66 81 234 5678"})
    g.submit_validation_answer("confirmed", None, False, None, NOW)
    data = g.to_dict()
    assert "raised" not in data
    back = Grievance.from_dict({"_id": CASE_REF, "_rev": 3, **data})
    assert back.to_dict() == data
    assert back.raised == []
