"""Safeguarding across the real processes (issue 11): a reprisal reported in a
follow-up at intake, with the receipt, turns the case critical; the safeguarding
lead finds the alert in the queue at the gateway, acknowledges it and records a
protective measure, both on the case's trail; the business sees none of it; a
'confirmed' validation answer reporting threats leaves the case open."""
import time

import pytest
import requests

from services.remediation.domain import days_between
from shared.config import settings

from tests.integration.conftest import eventually
from tests.integration.helpers import key_for, post_grievance, report, unique

pytestmark = pytest.mark.integration
POLICY = settings().deadlines
SAFEGUARDING_ACTIONS = {"safeguarding_alert", "acknowledge_alert", "record_protective_measure"}


def queue(api) -> list[dict]:
    """Every open alert, page after page (other tests add theirs)."""
    items, after = [], None
    while True:
        page = api.ok("GET", "/v1/safeguarding/alerts", params={"limit": 200, **({"after": after} if after else {})})
        items += page["items"]
        if not (after := page["next"]):
            return items


def worker_says(stack, ref, receipt, path, body) -> dict:
    response = requests.post(f"{stack.intake_url}/grievances/{ref}/{path}", json={**body, "receipt": receipt},
                             timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def test_a_reprisal_reaches_the_case_and_the_safeguarding_lead_never_the_business(stack, staff):
    cw, lead = staff["case_worker"], staff["safeguarding_lead"]
    supplier = unique("SUP")
    staff["admin"].ok("POST", "/v1/parties", {"ref": supplier, "kind": "supplier", "name": supplier})
    business = key_for(staff, stack, supplier, "supplier")
    created = post_grievance(stack, report(supplier))
    assert created.status_code == 201 and created.json()["retaliation_alert"] is False
    ref, receipt = created.json()["case_ref"], created.json()["receipt"]
    case = f"/v1/cases/{ref}"
    eventually(lambda: cw.call("GET", case).status_code == 200)

    started = time.monotonic()
    said = worker_says(stack, ref, receipt, "follow-ups", {"text": "The agent said we will be blacklisted."})
    assert said["retaliation_alert"] is True
    critical = eventually(lambda: (c := cw.ok("GET", case))["alerts"] and c)
    print(f"follow-up to critical case with its safeguarding record: {1000 * (time.monotonic() - started):.0f} ms")
    assert critical["severity"] == "critical"
    alert_id = critical["alerts"][0]

    lowered = cw.call("POST", f"{case}/triage", {"severity": "normal"})
    assert lowered.status_code == 409 and "stays critical" in lowered.text
    cw.ok("POST", f"{case}/triage", {})
    cw.ok("POST", f"{case}/referral", {"business_ref": supplier, "business_type": "supplier"})
    due = cw.ok("GET", case)["deadlines"]["acknowledge"]
    assert days_between(due["started"], due["due"]) == POLICY["critical"][0]    # not the normal 7

    # The lead's queue: the alert is there, oldest first; case workers read it, may not act.
    listed = queue(lead)
    assert [a["alert_id"] for a in listed if a["case_ref"] == ref] == [alert_id]
    assert [a["reported_at"] for a in listed] == sorted(a["reported_at"] for a in listed)
    assert alert_id in [a["alert_id"] for a in queue(cw)]
    alert_path = f"/v1/safeguarding/alerts/{alert_id}"
    assert cw.call("POST", f"{alert_path}/acknowledgement", {}).status_code == 403
    acked = lead.ok("POST", f"{alert_path}/acknowledgement", {"note": "called the worker back"})
    assert acked["acknowledged_by"].startswith("safeguarding-lead-")
    measured = lead.call("POST", f"{alert_path}/measures", {"measure": "moved_to_another_site",
                                                            "note": "moved to another site"})
    assert measured.status_code == 201 and measured.json()["measures"][0]["measure"] == "moved_to_another_site"
    trail = cw.ok("GET", case)["audit"]
    assert {"acknowledge_alert", "record_protective_measure"} <= {a["action"] for a in trail}
    # The worker's message is on the staff timeline: when and what kind, never the words.
    said_at = eventually(lambda: [a for a in cw.ok("GET", case)["audit"] if a["action"] == "worker_message"])
    assert [a["detail"] for a in said_at] == [{"kind": "follow_up"}] and "blacklisted" not in repr(said_at)

    # The business: its case view and list show nothing of it, and the queue is closed to it.
    for view in (business.ok("GET", case), *business.ok("GET", "/v1/cases")["items"]):
        assert "alerts" not in view and not SAFEGUARDING_ACTIONS & {a["action"] for a in view["audit"]}
        assert "worker_message" not in {a["action"] for a in view["audit"]}      # the worker wrote again: staff's
        assert alert_id not in repr(view) and "moved to another site" not in repr(view)
    for verb, path in (("GET", "/v1/safeguarding/alerts"), ("POST", f"{alert_path}/acknowledgement")):
        assert business.call(verb, path, {} if verb == "POST" else None).status_code == 403

    # A 'confirmed' answer reporting threats holds the round: the case stays open.
    business.ok("POST", f"{case}/acknowledgement", {})
    business.ok("POST", f"{case}/plan", {"actions": [{
        "type": "back_pay", "description": "Pay the overtime", "owner": "HR", "due_date": "2026-12-15"}]})
    cw.ok("POST", f"{case}/plan-acceptance", {})
    business.ok("POST", f"{case}/remediation-reports", {"summary": "Paid", "evidence": ["slip.pdf"]})
    eventually(lambda: cw.ok("GET", case)["status"] == "validating")
    said = worker_says(stack, ref, receipt, "validation-answers",
                       {"answer": "confirmed", "text": "Paid, but they threatened us for reporting."})
    assert said["retaliation_alert"] is True
    rounds = eventually(lambda: (r := cw.ok("GET", f"{case}/validation")["rounds"])[-1]["held"] and r)
    assert rounds[-1]["status"] == "open"
    held = eventually(lambda: len((c := cw.ok("GET", case))["alerts"]) == 2 and c)
    assert held["status"] == "validating"
    eventually(lambda: {"kind": "validation_answer"} in [a["detail"] for a in cw.ok("GET", case)["audit"]
                                                         if a["action"] == "worker_message"])


def test_a_confiscated_phone_reaches_the_leads_queue_and_the_trail_but_not_the_business(stack, staff):
    """Suppression of voice (issue 10): a follow-up saying the phones were taken raises
    voice_suppression.reported; the lead finds it in the queue (kind voice_suppression),
    the case's trail records it, the case keeps its severity, the business sees none of it."""
    cw, lead = staff["case_worker"], staff["safeguarding_lead"]
    supplier = unique("SUP")
    staff["admin"].ok("POST", "/v1/parties", {"ref": supplier, "kind": "supplier", "name": supplier})
    business = key_for(staff, stack, supplier, "supplier")
    created = post_grievance(stack, report(supplier))
    ref, receipt = created.json()["case_ref"], created.json()["receipt"]
    case = f"/v1/cases/{ref}"
    eventually(lambda: cw.call("GET", case).status_code == 200)
    severity = cw.ok("GET", case)["severity"]

    said = worker_says(stack, ref, receipt, "follow-ups", {"text": "หัวหน้ายึดโทรศัพท์ของพวกเราทุกคน"})
    assert said["retaliation_alert"] is False
    concern = eventually(lambda: [a for a in queue(lead) if a["case_ref"] == ref])
    assert [(a["kind"], a["raised_from"]) for a in concern] == [("voice_suppression", "follow_up")]
    trail = eventually(lambda: [a for a in cw.ok("GET", case)["audit"] if a["action"] == "voice_suppression_concern"])
    assert trail[0]["detail"]["alert_id"] == concern[0]["alert_id"]
    after = cw.ok("GET", case)
    assert after["severity"] == severity and after["alerts"] == []

    cw.ok("POST", f"{case}/triage", {})
    cw.ok("POST", f"{case}/referral", {"business_ref": supplier, "business_type": "supplier"})
    view = business.ok("GET", case)
    assert concern[0]["alert_id"] not in repr(view) and "voice_suppression" not in repr(view)
