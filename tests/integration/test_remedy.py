"""Remedy through the gateway across the real processes (issue 11): staff return a
plan with reasons, the business learns them and resubmits, staff accept; the business
reports an action's progress with evidence; staff record what the worker is owed, the
business pays against the line id (an over-payment is refused), and the totals per
case and per business follow; no business view carries a worker key."""
import pytest

from tests.integration.conftest import eventually
from tests.integration.helpers import key_for, post_grievance, report, unique

pytestmark = pytest.mark.integration
ACTION = {"type": "back_pay", "description": "Pay the unpaid overtime", "owner": "HR", "due_date": "2027-01-15"}
PDF = {"file_name": "payslips-june.pdf", "sha256": "0f" * 32, "media_type": "application/pdf"}


def test_return_resubmit_accept_progress_and_the_ledger(stack, staff):
    cw = staff["case_worker"]
    supplier = unique("SUP")
    business = key_for(staff, stack, supplier, "supplier")
    other = key_for(staff, stack, unique("SUP"), "supplier")
    created = post_grievance(stack, report(supplier))
    assert created.status_code == 201, created.text
    case = f"/v1/cases/{created.json()['case_ref']}"
    eventually(lambda: cw.call("GET", case).status_code == 200)
    cw.ok("POST", f"{case}/triage", {})
    cw.ok("POST", f"{case}/referral", {"business_ref": supplier, "business_type": "supplier"})
    business.ok("POST", f"{case}/acknowledgement", {})
    business.ok("POST", f"{case}/plan", {"actions": [ACTION]})

    # Returned with reasons: the business reads them and submits a revision.
    assert cw.call("POST", f"{case}/plan-return", {"reasons": []}).status_code == 400
    assert business.call("POST", f"{case}/plan-return", {"reasons": ["mine"]}).status_code == 403
    returned = cw.ok("POST", f"{case}/plan-return", {"reasons": ["Say how much each worker gets"]})
    assert returned["status"] == "acknowledged"
    seen = business.ok("GET", case)
    assert seen["plan_history"][0]["reasons"] == ["Say how much each worker gets"] and seen["plan"] == []
    business.ok("POST", f"{case}/plan", {"actions": [dict(ACTION, amount="45000.00", currency="THB",
                                                          workers_count=1)]})
    accepted = cw.ok("POST", f"{case}/plan-acceptance", {})
    assert accepted["status"] == "remediating" and accepted["plan"][0]["action_id"] == "P2-1"

    # Action progress with evidence; going back needs a reason; another business is refused.
    action = f"{case}/actions/P2-1"
    bad = business.call("POST", action, {"status": "in_progress", "evidence": [dict(PDF, sha256="nope")]})
    assert bad.status_code == 400 and "evidence.0.sha256" in bad.text
    assert other.call("POST", action, {"status": "done"}).status_code == 403
    done = business.ok("POST", action, {"status": "done", "note": "paid in cash", "evidence": [PDF]})
    assert done["plan"][0]["status"] == "done" and done["plan"][0]["evidence"][0]["sha256"] == PDF["sha256"]
    back = business.call("POST", action, {"status": "planned"})
    assert back.status_code == 409 and "reason" in back.text

    # The ledger: staff record what is owed, the business pays against the line id.
    worker_key = cw.ok("GET", case)["worker_key"]
    owed = cw.call("POST", f"{case}/ledger", {"entry_id": "owe-1", "type": "owed", "amount": "45000.10",
                                              "currency": "THB", "worker_key": worker_key, "kind": "back_pay",
                                              "action_id": "P2-1"})
    assert owed.status_code == 201, owed.text
    line_id = owed.json()["line_id"]
    assert business.call("POST", f"{case}/ledger", {"entry_id": "owe-2", "type": "owed", "amount": "1",
                                                    "currency": "THB", "worker_key": worker_key,
                                                    "kind": "back_pay"}).status_code == 403
    pay = {"entry_id": "pay-1", "type": "paid", "amount": "40000.05", "currency": "THB", "line_id": line_id}
    assert business.call("POST", f"{case}/ledger", pay).status_code == 201
    assert business.call("POST", f"{case}/ledger", pay).status_code == 201        # a retry: the same entry
    over = business.call("POST", f"{case}/ledger", {**pay, "entry_id": "pay-2", "amount": "5000.06"})
    assert over.status_code == 409 and "5000.05 THB still owed" in over.text
    assert other.call("GET", f"{case}/ledger").status_code == 403
    ledger = business.ok("GET", f"{case}/ledger")
    assert ledger["totals"] == {"THB": {"owed": "45000.10", "paid": "40000.05", "balance": "5000.05", "lines": 1}}
    assert worker_key not in str(ledger) and worker_key not in str(business.ok("GET", case))
    assert cw.ok("GET", f"{case}/ledger")["lines"][0]["worker_key"] == worker_key

    # Totals per business (running counters fed by ledger.entry_recorded), and the trail.
    totals = eventually(lambda: (t := business.ok("GET", "/v1/ledger/totals", params={"business_ref": supplier}))
                        ["currencies"].get("THB", {}).get("paid") == "40000.05" and t)
    assert totals["currencies"]["THB"] == {"owed": "45000.10", "paid": "40000.05", "balance": "5000.05"}
    assert other.call("GET", "/v1/ledger/totals", params={"business_ref": supplier}).status_code == 403
    trail = eventually(lambda: [a for a in cw.ok("GET", case)["audit"] if a["action"] == "ledger_entry"] or None)
    eventually(lambda: len([a for a in cw.ok("GET", case)["audit"] if a["action"] == "ledger_entry"]) == 2)
    assert trail[0]["detail"]["line_id"] == line_id and worker_key not in str(trail)
    assert "ledger_entry" in {a["action"] for a in business.ok("GET", case)["audit"]}
