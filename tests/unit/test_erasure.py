"""Crypto-erasure's rules (the grievance keeps only anonymous facts, the erasure is on
its trail, one replica erases, a crash is retried) and its use cases on in-memory
fakes. The same on the embedded Mongo server: tests/interface/intake/test_erasure.py."""
from datetime import datetime, timedelta, timezone

import pytest

from services.intake import erasure
from services.intake.domain import Grievance
from shared.contracts.events import CASE_STATUS_CHANGED, iso, make_event
from shared.errors import InvalidTransition
from tests.fakes import FakeRepository, unit_of_work

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
REPORT = {"channel": "line", "language": "th", "work_area": "working_conditions", "text": "unpaid",
          "supplier_ref": "SUP-1", "forced_labour_indicators": []}


class Store(FakeRepository):
    def due_for_erasure(self, now, limit):
        due = [d for d in self.docs.values() if d.get("erase_after") and d["erase_after"] <= now
               and d.get("erased_at") is None]
        return [d["_id"] for d in sorted(due, key=lambda d: d["erase_after"])][:limit]


class Vault:
    def __init__(self, fail=False):
        self.erased, self.fail = [], fail

    def erase(self, case_ref, why):
        if self.fail:
            raise ConnectionError("store down")
        self.erased.append((case_ref, why))


def grievance(ref="ILM-ERASE001") -> Grievance:
    g = Grievance.receive(REPORT, ref, "wk_1", "v2:text", "v2:contact", NOW, "hash")
    g.add_follow_up("v2:more", False, "more", NOW)
    g.submit_validation_answer("not_resolved", "v2:answer", False, "still unpaid", NOW)
    g.raised.clear()
    return g


@pytest.fixture
def grievances():
    uow = unit_of_work(Grievance, repo=Store(), consumer="intake.on_case_status_changed")
    uow.create("ILM-ERASE001", grievance())
    return uow


def status_changed(to_status, changed_at=NOW, ref="ILM-ERASE001"):
    return make_event(CASE_STATUS_CHANGED, ref, {
        "from_status": "validating", "to_status": to_status, "case_version": 9, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None, "business_ref": None,
        "business_type": None, "actor": {"id": "remediation", "role": "system"}, "changed_at": iso(changed_at)}, "c")


# --- the grievance ---------------------------------------------------------------------

def test_erase_keeps_only_the_anonymous_facts_and_records_why_and_when():
    g = grievance()
    assert g.schedule_erasure(NOW, "worker_request") and g.claim_erasure(NOW, 60)
    g.erase(NOW)
    state = g.to_dict()
    assert state["sealed_text"] is None and state["sealed_contact"] is None
    assert [m["sealed_text"] for m in state["follow_ups"] + state["validation_answers"]] == [None, None]
    assert state["validation_answers"][0]["answer"] == "not_resolved"        # facts stay
    assert state["work_area"] == "working_conditions" and state["severity"] == "normal"
    assert state["erased_at"] == iso(NOW) and state["erasing_until"] is None
    assert [{k: a[k] for k in ("action", "why", "at")} for a in state["audit"]] == [
        {"action": "erase", "why": "worker_request", "at": iso(NOW)}]
    assert "v2:" not in str(state)
    with pytest.raises(InvalidTransition, match="erased"):
        g.add_follow_up("v2:x", False, "x", NOW)
    with pytest.raises(InvalidTransition, match="erased"):
        g.submit_validation_answer("confirmed", None, False, None, NOW)
    assert not g.schedule_erasure(NOW, "retention") and not g.claim_erasure(NOW + timedelta(days=1), 60)


def test_the_earliest_erasure_date_wins():
    g = grievance()
    assert g.schedule_erasure(NOW + timedelta(days=365), "retention")
    assert g.schedule_erasure(NOW, "worker_request")
    assert not g.schedule_erasure(NOW + timedelta(days=365), "retention")
    assert (g.erase_after, g.erase_why) == (iso(NOW), "worker_request")


def test_one_claim_at_a_time_and_an_abandoned_claim_expires():
    g = grievance()
    assert not g.claim_erasure(NOW, 60)                     # not due
    g.schedule_erasure(NOW, "retention")
    assert not g.claim_erasure(NOW - timedelta(seconds=1), 60)
    assert g.claim_erasure(NOW, 60)
    assert not g.claim_erasure(NOW + timedelta(seconds=59), 60)     # another replica
    assert g.claim_erasure(NOW + timedelta(seconds=61), 60)         # the first one crashed


# --- the use cases ----------------------------------------------------------------------

def test_a_final_status_schedules_erasure_after_the_retention_period_once(grievances):
    assert erasure.schedule_after_final(grievances, status_changed("remediating"), 365) is None
    event = status_changed("closed")
    g = erasure.schedule_after_final(grievances, event, 365)
    assert g.erase_after == iso(NOW + timedelta(days=365)) and g.erase_why == "retention"
    writes = grievances.repo.writes
    assert erasure.schedule_after_final(grievances, event, 365) is None      # redelivered: nothing
    assert grievances.repo.writes == writes
    assert erasure.schedule_after_final(grievances, status_changed("closed", ref="ILM-NOTOURS1"), 365) is None


def test_the_sweep_erases_due_cases_once(grievances):
    erasure.schedule_after_final(grievances, status_changed("closed"), 0)
    grievances.create("ILM-LATER001", grievance("ILM-LATER001"))
    erasure.schedule_after_final(grievances, status_changed("withdrawn", ref="ILM-LATER001"), 30)
    vault = Vault()
    assert erasure.sweep(grievances, vault, NOW) == 1
    assert vault.erased == [("ILM-ERASE001", "retention")]
    doc = grievances.repo.load("ILM-ERASE001")
    assert doc["erased_at"] == iso(NOW) and doc["sealed_text"] is None
    assert erasure.sweep(grievances, vault, NOW + timedelta(days=1)) == 0 and len(vault.erased) == 1
    assert erasure.sweep(grievances, vault, NOW + timedelta(days=31)) == 1


def test_a_crash_mid_erasure_is_retried_after_the_claim_expires(grievances):
    with pytest.raises(ConnectionError):
        erasure.erase_now(grievances, Vault(fail=True), "ILM-ERASE001", "worker_request", NOW, claim_seconds=60)
    doc = grievances.repo.load("ILM-ERASE001")
    assert doc["erase_why"] == "worker_request" and doc["erasing_until"] and not doc["erased_at"]
    vault = Vault()
    assert erasure.sweep(grievances, vault, NOW + timedelta(seconds=30), claim_seconds=60) == 0   # still claimed
    assert erasure.sweep(grievances, vault, NOW + timedelta(seconds=61), claim_seconds=60) == 1
    assert vault.erased == [("ILM-ERASE001", "worker_request")]
    assert grievances.repo.load("ILM-ERASE001")["audit"][0]["why"] == "worker_request"
