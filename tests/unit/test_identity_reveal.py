"""Identity reveal and consent (services/intake/reveal_rules.py, reveal.py) on in-memory
fakes: staff read with a reason, a business only on its own case with the worker's
recorded consent, every reveal on the chained trail and raised as an event without
the reason's text; nothing after erasure. Remediation puts it on the staff-only
timeline. Across real processes: tests/integration/test_identity_reveal.py."""
import json
from datetime import datetime, timezone

import pytest

from services.intake import reveal
from services.intake.domain import Grievance
from services.remediation import handlers as remediation
from services.remediation.domain import Case
from shared import audit_chain
from shared.contracts import rpc as contract
from shared.contracts.common import load
from shared.contracts.events import CASE_STATUS_CHANGED, IDENTITY_REVEALED, iso, make_event
from shared.crypto import Erased
from services.intake.receipts import Receipts
from shared.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from tests.fakes import unit_of_work
from tests.unit.test_handlers_intake import MemoryGuard

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
REF = "ILM-REVEAL01"
CONTACT = {"name": "Aung Aung", "phone": "+66 81 555 0199"}
REPORT = {"channel": "hotline", "language": "my", "work_area": "working_conditions", "text": "unpaid since May",
          "supplier_ref": "SUP-1", "forced_labour_indicators": []}
CASE_WORKER = {"id": "cw-1", "role": "case_worker"}
LEAD = {"id": "lead-1", "role": "safeguarding_lead"}
SUPPLIER = {"id": "SUP-1", "role": "supplier"}


class Vault:
    """Seals as ``v2:<plaintext>``; erased cases open nothing."""

    def __init__(self):
        self.erased = set()

    def open(self, token, case_ref):
        if case_ref in self.erased:
            raise Erased(f"case {case_ref}: erased")
        return token.removeprefix("v2:")


@pytest.fixture
def grievances():
    uow = unit_of_work(Grievance, consumer="intake.on_case_status_changed")
    g = Grievance.receive(REPORT, REF, "wk_1", "v2:unpaid since May", "v2:" + json.dumps(CONTACT), NOW, "hash")
    g.add_follow_up("v2:they took my passport", False, "they took my passport", NOW)
    g.raised.clear()
    uow.create(REF, g)
    return uow


def reveal_as(grievances, actor, reason="to call the worker back about the visit", vault=None):
    p = load(contract.RevealIdentity, {"case_ref": REF, "reason": reason})
    return reveal.reveal_identity(grievances, vault or Vault(), p, actor, NOW)


def referred_to(grievances, business_ref="SUP-1"):
    reveal.learn_business(grievances, make_event(CASE_STATUS_CHANGED, REF, {
        "from_status": "triaged", "to_status": "referred", "case_version": 3, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None, "business_ref": business_ref,
        "business_type": "supplier", "actor": CASE_WORKER, "changed_at": iso(NOW)}, "c"))


@pytest.mark.parametrize("staff", [CASE_WORKER, LEAD])
def test_staff_read_the_words_and_contact_and_the_reveal_is_on_the_chained_trail(grievances, staff):
    shown = reveal_as(grievances, staff)
    assert shown["contact"] == CONTACT and shown["text"] == "unpaid since May" and shown["basis"] == "staff_role"
    assert [m["text"] for m in shown["messages"]] == ["they took my passport"]
    g = grievances.get(REF)
    entry = g.audit[-1]
    assert entry["action"] == "reveal_identity" and entry["actor"] == staff
    assert entry["reason"] == "to call the worker back about the visit" and audit_chain.verify(g.audit) is None
    assert g.sealed_contact.startswith("v2:") and "text" not in g.follow_ups[0]      # stored sealed only
    (event,) = [e for e in grievances.relay.published if e["event_type"] == IDENTITY_REVEALED.name]
    assert event["data"] == {"actor": staff, "basis": "staff_role", "revealed_at": iso(NOW)}
    assert "reason" not in json.dumps(event) and "call the worker" not in json.dumps(event)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_reveal_needs_a_bounded_reason(reason):
    with pytest.raises(InvalidInput, match="reason"):
        load(contract.RevealIdentity, {"case_ref": REF, "reason": reason})


def test_a_business_needs_its_own_case_and_the_workers_recorded_consent(grievances):
    with pytest.raises(Forbidden, match="not referred to SUP-1"):
        reveal_as(grievances, SUPPLIER)
    referred_to(grievances)
    with pytest.raises(Forbidden, match="consent"):
        reveal_as(grievances, SUPPLIER)
    with pytest.raises(Forbidden, match="not referred to SUP-2"):
        reveal_as(grievances, {"id": "SUP-2", "role": "supplier"})
    assert not any(a["action"] == "reveal_identity" for a in grievances.get(REF).audit)

    answer = reveal.record_consent(grievances, load(contract.RecordConsent, {"case_ref": REF, "how": "hotline"}),
                                   CASE_WORKER, NOW)
    assert answer["consent_to_share_identity"] is True
    shown = reveal_as(grievances, SUPPLIER, reason="to pay the worker back")
    assert shown["contact"] == CONTACT and shown["basis"] == "worker_consent"
    assert "text" not in shown and "messages" not in shown          # the business gets identity, not the words
    g = grievances.get(REF)
    assert [a["action"] for a in g.audit] == ["consent_given", "reveal_identity"]
    assert g.audit[0]["how"] == "hotline" and audit_chain.verify(g.audit) is None

    reveal.record_consent(grievances, load(contract.RecordConsent, {"case_ref": REF, "how": "chat", "given": False}),
                          CASE_WORKER, NOW)
    with pytest.raises(Forbidden, match="consent"):
        reveal_as(grievances, SUPPLIER)


def test_the_worker_gives_and_withdraws_consent_with_the_receipt(grievances):
    receipts = Receipts(b"p" * 32, MemoryGuard())
    receipt, receipt_hash = receipts.issue()
    grievances.change(REF, lambda g: setattr(g, "receipt_hash", receipt_hash))
    referred_to(grievances)
    with pytest.raises(Unauthorized):
        reveal.worker_consent(grievances, receipts, REF, {"receipt": "0000-0000", "given": True}, "1.2.3.4", NOW)
    assert reveal.worker_consent(grievances, receipts, REF, {"receipt": receipt, "given": True}, "1.2.3.4", NOW) == {
        "case_ref": REF, "consent_to_share_identity": True}
    assert reveal_as(grievances, SUPPLIER)["contact"] == CONTACT
    reveal.worker_consent(grievances, receipts, REF, {"receipt": receipt, "given": False}, "1.2.3.4", NOW)
    with pytest.raises(Forbidden, match="consent"):
        reveal_as(grievances, SUPPLIER)
    trail = grievances.get(REF).audit
    assert [(a["action"], a.get("how")) for a in trail] == [
        ("consent_given", "worker_receipt"), ("reveal_identity", None), ("consent_withdrawn", "worker_receipt")]
    assert trail[0]["actor"] == {"id": "wk_1", "role": "worker"}


@pytest.mark.parametrize("role", ["partner", "worker", "admin", "system"])
def test_no_other_role_reads_identity(grievances, role):
    with pytest.raises(Forbidden):
        reveal_as(grievances, {"id": "x", "role": role})


def test_after_erasure_a_reveal_says_the_identity_was_erased(grievances):
    vault = Vault()
    vault.erased.add(REF)
    with pytest.raises(NotFound, match="erased"):        # the key is gone, the grievance not yet swept
        reveal_as(grievances, CASE_WORKER, vault=vault)
    grievances.change(REF, lambda g: g.schedule_erasure(NOW, "worker_request") and g.claim_erasure(NOW, 60))
    grievances.change(REF, lambda g: g.erase(NOW))
    with pytest.raises(NotFound, match="identity was erased"):
        reveal_as(grievances, CASE_WORKER)
    assert not any(a["action"] == "reveal_identity" for a in grievances.get(REF).audit)


def test_the_reveal_reaches_the_staff_only_case_timeline():
    cases = unit_of_work(Case, consumer="remediation.on_identity_revealed")
    cases.create(REF, Case.open(REF, {"severity": "normal", "work_area": "working_conditions", "worker_key": "wk_1",
                                      "channel": "hotline", "language": "my", "retaliation": False,
                                      "forced_labour_indicators": [], "supplier_ref": "SUP-1", "site_ref": None,
                                      "agency_ref": None}, NOW))
    event = make_event(IDENTITY_REVEALED, REF, {"actor": CASE_WORKER, "basis": "staff_role",
                                                "revealed_at": iso(NOW)}, "c")
    with pytest.raises(remediation.CaseNotOpenYet):      # not dead-lettered at once: retried until it opens
        remediation.record_identity_reveal(cases, dict(event, case_ref="ILM-NOTOPEN1"))
    remediation.record_identity_reveal(cases, event)
    remediation.record_identity_reveal(cases, event)          # redelivered: once
    case = cases.get(REF)
    assert [a["action"] for a in case.audit] == ["open", "identity_revealed"]
    assert case.audit[-1]["actor"] == CASE_WORKER and audit_chain.verify(case.audit) is None
    assert [a["action"] for a in case.business_view()["audit"]] == ["open"]
