"""Safeguarding (issue 11) on in-memory fakes: every retaliation alert is stored and
put on its case whichever event comes first; the case turns critical, its running
deadlines shorten and its severity cannot be lowered; the lead's queue; businesses
never see any of it; an answer reporting threats holds the validation round."""
from datetime import timedelta

import pytest

from services.remediation import alerts, handlers
from services.remediation.domain import Case
from services.remediation.safeguarding import Alert, queue_key
from services.validation import handlers as validation
from services.validation.domain import CaseValidation
from shared.contracts.events import (
    CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, RETALIATION_REPORTED, VALIDATION_ANSWER_SUBMITTED,
    VOICE_SUPPRESSION_REPORTED, iso, make_event,
)
from shared.errors import InvalidInput, InvalidTransition, NotFound
from tests.fakes import FakeRepository, unit_of_work
from tests.unit.test_handlers_remediation_validation import GRIEVANCE, NOW, POLICY, STAFF, SUPPLIER

LEAD = {"id": "lead-ana", "role": "safeguarding_lead"}
PARTNER = {"id": "BRAND-1", "role": "partner"}


class FakeAlertStore(FakeRepository):
    def of_case(self, case_ref):
        return [d for d in self.docs.values() if d["case_ref"] == case_ref]

    def open_queue(self, limit, after):
        return self.page({"status": "open"}, limit, after, key="queue_key")


def alert_event(alert_id: str, case_ref="ILM-1", raised_from="follow_up", at=NOW) -> dict:
    return make_event(RETALIATION_REPORTED, case_ref, {
        "alert_id": alert_id, "raised_from": raised_from, "work_area": "working_conditions",
        "supplier_ref": "SUP-1", "site_ref": "SITE-1", "reported_at": iso(at)}, "c")


@pytest.fixture
def units():
    cases = unit_of_work(Case, consumer="remediation.test")
    return unit_of_work(Alert, repo=FakeAlertStore(), consumer="remediation.test"), cases


def open_case(units, ref="ILM-1", at=NOW):
    a, cases = units
    handlers.open_case(cases, make_event(GRIEVANCE_RECEIVED, ref, GRIEVANCE, "c"), at)
    alerts.link_waiting_alerts(a, cases, ref, at, POLICY)


def referred(units):
    open_case(units)
    cases = units[1]
    handlers.triage(cases, {"case_ref": "ILM-1", "severity": None, "note": None}, STAFF, NOW)
    handlers.refer(cases, {"case_ref": "ILM-1", "business_ref": "SUP-1", "business_type": "supplier"},
                   STAFF, NOW, POLICY)
    return cases


def test_an_alert_on_an_open_case_is_stored_and_makes_it_critical_with_shorter_deadlines(units):
    cases = referred(units)
    assert cases.get("ILM-1").deadlines["acknowledge"]["due"] == iso(NOW + timedelta(days=7))
    later = NOW + timedelta(hours=5)
    alerts.record_alert(units[0], cases, alert_event("a1", at=later), later, POLICY)
    case = cases.get("ILM-1")
    assert units[0].get("a1").status == "open" and case.alerts == ["a1"]
    assert case.severity == "critical"
    assert case.deadlines["acknowledge"]["due"] == iso(NOW + timedelta(days=2))   # from when it started
    assert case.audit[-1]["action"] == "safeguarding_alert"
    assert case.audit[-1]["detail"]["severity_before"] == "normal"


def test_a_redelivered_alert_changes_nothing(units):
    cases = referred(units)
    event = alert_event("a1")
    alerts.record_alert(units[0], cases, event, NOW, POLICY)
    trail = len(cases.get("ILM-1").audit)
    alerts.record_alert(units[0], cases, event, NOW, POLICY)
    assert len(cases.get("ILM-1").audit) == trail and len(units[0].repo.docs) == 1


def test_an_alert_before_its_case_stands_alone_then_is_linked_when_the_case_opens(units):
    alerts.record_alert(units[0], units[1], alert_event("early", raised_from="grievance"), NOW, POLICY)
    assert units[0].get("early").case_ref == "ILM-1" and units[1].get("ILM-1") is None
    open_case(units)
    case = units[1].get("ILM-1")
    assert case.alerts == ["early"] and case.severity == "critical"
    open_case(units)                                     # a redelivered grievance: linked once
    assert units[1].get("ILM-1").alerts == ["early"]


def test_severity_cannot_be_lowered_while_an_alert_is_open(units):
    open_case(units)
    alerts.record_alert(units[0], units[1], alert_event("a1"), NOW, POLICY)
    for severity in ("high", "normal"):
        with pytest.raises(InvalidTransition, match="stays critical while a retaliation alert is open"):
            handlers.triage(units[1], {"case_ref": "ILM-1", "severity": severity, "note": None}, STAFF, NOW)
    assert units[1].get("ILM-1").status == "received"
    view = handlers.triage(units[1], {"case_ref": "ILM-1", "severity": "critical", "note": None}, STAFF, NOW)
    assert view["severity"] == "critical" and view["status"] == "triaged"


def test_without_an_alert_triage_still_sets_any_severity(units):
    open_case(units)
    view = handlers.triage(units[1], {"case_ref": "ILM-1", "severity": "high", "note": None}, STAFF, NOW)
    assert view["severity"] == "high"


def test_the_queue_lists_open_alerts_oldest_first_a_page_at_a_time(units):
    open_case(units)
    for n, alert_id in enumerate(("c3", "a1", "b2")):   # ids out of time order
        at = NOW + timedelta(minutes=[30, 10, 20][n])
        alerts.record_alert(units[0], units[1], alert_event(alert_id, at=at), at, POLICY)
    first = alerts.list_alerts(units[0], {"limit": 2, "after": None})
    assert [a["alert_id"] for a in first["items"]] == ["a1", "b2"] and first["next"]
    rest = alerts.list_alerts(units[0], {"limit": 2, "after": queue_key(iso(NOW + timedelta(minutes=20)), "b2")})
    assert [a["alert_id"] for a in rest["items"]] == ["c3"] and rest["next"] is None


def test_the_lead_acknowledges_once_and_records_measures_on_the_case_trail(units):
    open_case(units)
    alerts.record_alert(units[0], units[1], alert_event("a1"), NOW, POLICY)
    view = alerts.acknowledge_alert(units[0], units[1], {"alert_id": "a1", "note": "calling the worker"}, LEAD, NOW)
    assert view["acknowledged_by"] == "lead-ana" and view["acknowledged_at"] == iso(NOW)
    with pytest.raises(InvalidTransition, match="acknowledged by lead-ana"):
        alerts.acknowledge_alert(units[0], units[1], {"alert_id": "a1", "note": None}, LEAD, NOW)
    view = alerts.record_measure(units[0], units[1], {"alert_id": "a1", "measure": "moved_to_another_site",
                                                      "note": "moved to SITE-2"}, LEAD, NOW)
    assert view["measures"] == [{"measure": "moved_to_another_site", "note": "moved to SITE-2",
                                 "by": "lead-ana", "at": iso(NOW)}]
    trail = [(a["action"], a["actor"]["id"]) for a in units[1].get("ILM-1").audit]
    assert trail[-2:] == [("acknowledge_alert", "lead-ana"), ("record_protective_measure", "lead-ana")]
    with pytest.raises(InvalidInput):
        alerts.record_measure(units[0], units[1], {"alert_id": "a1", "measure": "nothing", "note": "x"}, LEAD, NOW)
    with pytest.raises(NotFound):
        alerts.acknowledge_alert(units[0], units[1], {"alert_id": "nope", "note": None}, LEAD, NOW)


def test_businesses_and_partners_never_see_safeguarding(units):
    cases = referred(units)
    alerts.record_alert(units[0], cases, alert_event("a1"), NOW, POLICY)
    alerts.acknowledge_alert(units[0], cases, {"alert_id": "a1", "note": None}, LEAD, NOW)
    alerts.record_measure(units[0], cases, {"alert_id": "a1", "measure": "police", "note": "filed"}, LEAD, NOW)
    staff = handlers.get_case(cases, {"case_ref": "ILM-1"}, STAFF)
    assert staff["alerts"] == ["a1"]
    for actor, chain in ((SUPPLIER, frozenset()), (PARTNER, frozenset({"SUP-1"}))):
        view = handlers.get_case(cases, {"case_ref": "ILM-1"}, actor, chain)
        text = repr(view)
        assert "alerts" not in view and "a1" not in text and "police" not in text
        assert not {"safeguarding_alert", "acknowledge_alert", "record_protective_measure"} & {
            a["action"] for a in view["audit"]}


# --- validation: an answer reporting threats holds the round ----------------------------

def answer(ref, worker, value, retaliation):
    return make_event(VALIDATION_ANSWER_SUBMITTED, ref, {"worker_key": worker, "answer": value,
                                                         "retaliation": retaliation,
                                                         "submitted_at": iso(NOW)}, "c")


@pytest.fixture
def validations():
    v = unit_of_work(CaseValidation, consumer="validation.test")
    reported = make_event(CASE_STATUS_CHANGED, "ILM-1", {
        "from_status": "remediating", "to_status": "remediation_reported", "case_version": 7,
        "severity": "normal", "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None,
        "business_ref": "SUP-1", "business_type": "supplier", "actor": SUPPLIER, "changed_at": iso(NOW)}, "c")
    for key in ("wk_1", "wk_2", "wk_3"):                     # three affected workers: quorum 2
        v.change_or_create("ILM-1", lambda c: c.add_affected(key, NOW), lambda: CaseValidation("ILM-1"))
    validation.open_round_if_reported(v, reported, NOW)
    v.relay.published.clear()
    return v


def test_a_confirmed_answer_reporting_threats_holds_the_round(validations):
    validation.record_submitted_answer(validations, answer("ILM-1", "wk_1", "confirmed", True), NOW)
    round_ = validations.get("ILM-1").rounds[-1]
    assert round_["status"] == "open" and round_["held"] is True
    assert validations.relay.types() == []                     # no validation.completed: the case stays open
    validation.record_submitted_answer(validations, answer("ILM-1", "wk_2", "confirmed", False), NOW)
    assert validations.get("ILM-1").rounds[-1]["status"] == "open"


def test_a_held_round_still_completes_not_resolved(validations):
    validation.record_submitted_answer(validations, answer("ILM-1", "wk_1", "confirmed", True), NOW)
    validation.record_submitted_answer(validations, answer("ILM-1", "wk_2", "not_resolved", False), NOW)
    assert validations.get("ILM-1").rounds[-1]["status"] == "not_resolved"
    assert validations.relay.types() == ["validation.completed"]


def test_a_confirmed_answer_without_threats_completes_as_before(validations):
    validation.record_submitted_answer(validations, answer("ILM-1", "wk_1", "confirmed", False), NOW)
    validation.record_submitted_answer(validations, answer("ILM-1", "wk_2", "confirmed", False), NOW)
    assert validations.get("ILM-1").rounds[-1]["status"] == "confirmed"


# --- suppression of voice: the lead's queue and the trail, not a critical case ----------

def voice_event(alert_id: str, case_ref="ILM-1", raised_from="follow_up", at=NOW) -> dict:
    return make_event(VOICE_SUPPRESSION_REPORTED, case_ref, {
        "alert_id": alert_id, "raised_from": raised_from, "work_area": "working_conditions",
        "supplier_ref": "SUP-1", "site_ref": "SITE-1", "reported_at": iso(at)}, "c")


def test_a_voice_suppression_concern_is_queued_and_on_the_trail_without_making_the_case_critical(units):
    cases = referred(units)
    alerts.record_alert(units[0], cases, voice_event("v1"), NOW, POLICY)
    later = NOW + timedelta(minutes=1)
    alerts.record_alert(units[0], cases, alert_event("a1", at=later), later, POLICY)
    queue = alerts.list_alerts(units[0], {"limit": 10, "after": None})["items"]
    assert [(a["alert_id"], a["kind"]) for a in queue] == [("v1", "voice_suppression"), ("a1", "retaliation")]
    case = cases.get("ILM-1")
    assert case.alerts == ["a1"]                           # only retaliation holds the severity
    concern = [a for a in case.audit if a["action"] == "voice_suppression_concern"]
    assert [a["detail"] for a in concern] == [{"alert_id": "v1", "raised_from": "follow_up"}]


def test_a_concern_alone_leaves_severity_and_deadlines_as_they_were(units):
    open_case(units)
    cases = units[1]
    before = cases.get("ILM-1")
    alerts.record_alert(units[0], cases, voice_event("v1"), NOW, POLICY)
    alerts.record_alert(units[0], cases, voice_event("v1"), NOW, POLICY)     # redelivered: once
    after = cases.get("ILM-1")
    assert after.severity == before.severity == "normal" and after.deadlines == before.deadlines
    assert [a["action"] for a in after.audit].count("voice_suppression_concern") == 1
    view = handlers.triage(cases, {"case_ref": "ILM-1", "severity": "high", "note": None}, STAFF, NOW)
    assert view["severity"] == "high"                       # no lock: the lead decides
    alerts.acknowledge_alert(units[0], cases, {"alert_id": "v1", "note": "called the worker"}, LEAD, NOW)
    assert units[0].get("v1").acknowledged_by == "lead-ana"


def test_a_concern_before_its_case_is_put_on_the_trail_when_the_case_opens(units):
    alerts.record_alert(units[0], units[1], voice_event("early", raised_from="grievance"), NOW, POLICY)
    open_case(units)
    open_case(units)
    case = units[1].get("ILM-1")
    assert case.severity == "normal" and case.alerts == []
    assert [a["detail"]["alert_id"] for a in case.audit if a["action"] == "voice_suppression_concern"] == ["early"]


def test_businesses_and_partners_never_see_a_voice_suppression_concern(units):
    cases = referred(units)
    alerts.record_alert(units[0], cases, voice_event("v1"), NOW, POLICY)
    for actor, chain in ((SUPPLIER, frozenset()), (PARTNER, frozenset({"SUP-1"}))):
        view = handlers.get_case(cases, {"case_ref": "ILM-1"}, actor, chain)
        assert "v1" not in repr(view) and "voice_suppression" not in repr(view)
