"""Intake's use cases on in-memory fakes (the vault and the receipts hash for real)."""
import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from services.intake import handlers
from services.intake.domain import Grievance
from services.intake.receipts import AttemptPolicy, Receipts, counter_keys, normalise
from shared.crypto import SealedBox, pseudonym
from shared.errors import ReferenceExhausted, TooManyAttempts, Unauthorized
from tests.fakes import unit_of_work

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


class Vault:
    def __init__(self):
        self.box = SealedBox(os.urandom(32))

    def seal(self, value, case_ref):
        return self.box.seal(value, case_ref)

    def worker_key(self, contact):
        return pseudonym(b"k" * 32, json.dumps(contact, sort_keys=True))


class MemoryGuard:
    """ReceiptGuard's rules over a dict (the real one keeps the counters in Mongo)."""

    def __init__(self, policy=AttemptPolicy(free_tries=3, lock_seconds=2, source_free_tries=5)):
        self.policy, self.failures, self.locked = policy, {}, {}

    def check(self, case_ref, source, now):
        for key in counter_keys(case_ref, source):
            if self.locked.get(key, now) > now:
                raise TooManyAttempts((self.locked[key] - now).total_seconds())

    def failed(self, case_ref, source, now):
        for key in counter_keys(case_ref, source):
            self.failures[key] = self.failures.get(key, 0) + 1
            if lock := self.policy.lock_for(key, self.failures[key]):
                self.locked[key] = now + timedelta(seconds=lock)

    def succeeded(self, case_ref):
        self.failures.pop(f"ref:{case_ref}", None)


@pytest.fixture
def world():
    return unit_of_work(Grievance), Vault(), Receipts(os.urandom(32), MemoryGuard())


def report(**overrides):
    body = {"channel": "line", "language": "my", "work_area": "working_conditions",
            "text": "We have not been paid overtime.", "contact": {"phone": "+66 81 555 0199"},
            "supplier_ref": "SUP-1", "site_ref": None, "agency_ref": None, "forced_labour_indicators": [],
            "retaliation": False, "consent_to_share_identity": False}
    body.update(overrides)
    return body


def test_a_grievance_is_stored_sealed_with_only_the_hash_of_its_receipt(world):
    grievances, vault, receipts = world
    g, receipt = handlers.submit_grievance(grievances, vault, receipts, report(), NOW)
    assert len(normalise(receipt)) == 20
    stored = json.dumps(grievances.repo.load(g.case_ref))
    assert "555" not in stored and "overtime" not in stored
    assert normalise(receipt) not in stored and receipt not in stored and "$argon2id$" in stored
    assert vault.box.open(grievances.repo.load(g.case_ref)["sealed_text"], g.case_ref) == "We have not been paid overtime."
    assert grievances.relay.types() == ["grievance.received"]


def test_a_taken_reference_is_replaced_by_a_fresh_one(world):
    grievances, vault, receipts = world
    first, _ = handlers.submit_grievance(grievances, vault, receipts, report(), NOW, new_ref=lambda: "ILM-SAME0001")
    refs = iter(["ILM-SAME0001", "ILM-FRESH001"])
    second, _ = handlers.submit_grievance(grievances, vault, receipts, report(), NOW, new_ref=lambda: next(refs))
    assert (first.case_ref, second.case_ref) == ("ILM-SAME0001", "ILM-FRESH001")


def test_no_free_reference_fails_loudly_and_stores_nothing_new(world):
    grievances, vault, receipts = world
    handlers.submit_grievance(grievances, vault, receipts, report(), NOW, new_ref=lambda: "ILM-SAME0001")
    with pytest.raises(ReferenceExhausted):
        handlers.submit_grievance(grievances, vault, receipts, report(), NOW, new_ref=lambda: "ILM-SAME0001")
    assert len(grievances.repo.docs) == 1 and grievances.relay.types() == ["grievance.received"]


@pytest.mark.parametrize("add,body", [
    (handlers.submit_follow_up, {"text": "They threatened to fire us for calling.", "retaliation": False}),
    (handlers.submit_validation_answer, {"answer": "not_resolved", "text": None, "retaliation": True}),
])
def test_a_later_message_needs_the_receipt_and_says_whether_it_raised_an_alert(world, add, body):
    grievances, vault, receipts = world
    g, receipt = handlers.submit_grievance(grievances, vault, receipts, report(), NOW)
    with pytest.raises(Unauthorized):
        add(grievances, vault, receipts, g.case_ref, dict(body, receipt="1111-2222-3333-4444-5555"), "1.2.3.4", NOW)
    assert grievances.relay.types() == ["grievance.received"]            # refused: nothing stored
    typed = normalise(receipt)[:10] + " " + normalise(receipt)[10:]       # spaces instead of dashes
    assert add(grievances, vault, receipts, g.case_ref, dict(body, receipt=typed), "1.2.3.4", NOW) is True
    assert grievances.relay.types()[-2:] == ["retaliation.reported", "worker.message_received"]


def test_an_unknown_reference_gets_the_same_answer_as_a_wrong_receipt(world):
    grievances, vault, receipts = world
    g, _ = handlers.submit_grievance(grievances, vault, receipts, report(), NOW)
    body = {"text": "hi", "retaliation": False, "receipt": "1111-2222-3333-4444-5555"}
    answers = []
    for ref in (g.case_ref, "ILM-NOPE0000"):
        with pytest.raises(Unauthorized) as refused:
            handlers.submit_follow_up(grievances, vault, receipts, ref, body, "9.9.9.9", NOW)
        answers.append(str(refused.value))
    assert answers[0] == answers[1]


def test_failed_tries_lock_the_reference_with_growing_delays_then_the_receipt_works_again(world):
    grievances, vault, receipts = world
    g, receipt = handlers.submit_grievance(grievances, vault, receipts, report(), NOW)
    wrong = {"text": "hi", "retaliation": False, "receipt": "1111-2222-3333-4444-5555"}
    for i in range(3):                                   # three free tries, from three sources
        with pytest.raises(Unauthorized):
            handlers.submit_follow_up(grievances, vault, receipts, g.case_ref, wrong, f"10.0.0.{i}", NOW)
    right = dict(wrong, receipt=receipt)
    with pytest.raises(TooManyAttempts) as locked:       # even the right receipt waits
        handlers.submit_follow_up(grievances, vault, receipts, g.case_ref, right, "10.0.0.9", NOW)
    assert locked.value.retry_after == 2
    later = NOW + timedelta(seconds=3)
    assert handlers.submit_follow_up(grievances, vault, receipts, g.case_ref, right, "10.0.0.9", later) is False
    assert AttemptPolicy(3, 2).lock_after(5) == 8 and AttemptPolicy(3, 2).lock_after(50) == 3600
    assert AttemptPolicy(3, 2, source_free_tries=20).lock_after(5, free_tries=20) == 0
