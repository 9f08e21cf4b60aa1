"""Intake's use cases on in-memory fakes (the vault seals with a real key)."""
import base64
import json
import os
from datetime import datetime, timezone

import pytest

from services.intake import handlers
from services.intake.domain import Grievance
from shared.crypto import SealedBox, pseudonym
from shared.errors import NotFound, ReferenceExhausted
from tests.fakes import unit_of_work

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


class Vault:
    def __init__(self):
        self.box = SealedBox(os.urandom(32))

    def seal(self, value, case_ref):
        return self.box.seal(value, case_ref)

    def worker_key(self, contact):
        return pseudonym(b"k" * 32, json.dumps(contact, sort_keys=True))


def report(**overrides):
    body = {"channel": "line", "language": "my", "work_area": "working_conditions",
            "text": "We have not been paid overtime.", "contact": {"phone": "+66 81 555 0199"},
            "supplier_ref": "SUP-1", "site_ref": None, "agency_ref": None, "forced_labour_indicators": [],
            "retaliation": False, "consent_to_share_identity": False}
    body.update(overrides)
    return body


def test_a_grievance_is_stored_sealed_and_announced():
    grievances, vault = unit_of_work(Grievance), Vault()
    g = handlers.submit_grievance(grievances, vault, report(), NOW)
    stored = grievances.repo.load(g.case_ref)
    assert "555" not in json.dumps(stored) and "overtime" not in json.dumps(stored)
    assert vault.box.open(stored["sealed_text"], g.case_ref) == "We have not been paid overtime."
    assert grievances.relay.types() == ["grievance.received"]


def test_a_taken_reference_is_replaced_by_a_fresh_one():
    grievances, vault = unit_of_work(Grievance), Vault()
    first = handlers.submit_grievance(grievances, vault, report(), NOW, new_ref=lambda: "ILM-SAME0001")
    refs = iter(["ILM-SAME0001", "ILM-FRESH001"])
    second = handlers.submit_grievance(grievances, vault, report(), NOW, new_ref=lambda: next(refs))
    assert (first.case_ref, second.case_ref) == ("ILM-SAME0001", "ILM-FRESH001")
    assert len(grievances.repo.docs) == 2


def test_no_free_reference_fails_loudly_and_stores_nothing_new():
    grievances, vault = unit_of_work(Grievance), Vault()
    handlers.submit_grievance(grievances, vault, report(), NOW, new_ref=lambda: "ILM-SAME0001")
    with pytest.raises(ReferenceExhausted):
        handlers.submit_grievance(grievances, vault, report(), NOW, new_ref=lambda: "ILM-SAME0001")
    assert len(grievances.repo.docs) == 1 and grievances.relay.types() == ["grievance.received"]


@pytest.mark.parametrize("add,body", [
    (handlers.submit_follow_up, {"text": "They threatened to fire us for calling.", "retaliation": False}),
    (handlers.submit_validation_answer, {"answer": "not_resolved", "text": None, "retaliation": True}),
])
def test_a_later_message_returns_whether_it_raised_an_alert(add, body):
    grievances, vault = unit_of_work(Grievance), Vault()
    ref = handlers.submit_grievance(grievances, vault, report(), NOW).case_ref
    assert add(grievances, vault, ref, body, NOW) is True
    assert grievances.relay.types()[-1] == "retaliation.reported"
    quiet = dict(body, text="Thank you.", retaliation=False)
    if "answer" in quiet:
        quiet["answer"] = "confirmed"
    assert add(grievances, vault, ref, quiet, NOW) is False


def test_a_message_on_an_unknown_case_is_not_found():
    with pytest.raises(NotFound):
        handlers.submit_follow_up(unit_of_work(Grievance), Vault(), "ILM-NOPE", {"text": "hi", "retaliation": False}, NOW)
