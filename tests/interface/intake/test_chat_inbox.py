"""The provider-message inbox (services/intake/inbox.py) on the embedded Mongo server:
a message is taken once, a claim held by another worker answers 503, a lapsed claim
is taken over, a failed one released, and old marks are forgotten."""
from datetime import datetime, timedelta, timezone

import pytest

from services.intake.inbox import CLAIM, KEPT, Inbox, message_key
from shared.errors import ServiceUnavailable
from shared.repository import database
from tests.conftest import RUN_ID

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def inbox(mongo):
    db = database("intake_inbox_test")
    db["chat_inbox"].delete_many({})
    return Inbox(db)


def test_a_message_is_taken_once(inbox):
    key = message_key("line", f"evt-{RUN_ID}")
    assert inbox.claim(key, NOW) is True
    with pytest.raises(ServiceUnavailable):           # being handled by another worker right now
        inbox.claim(key, NOW + timedelta(seconds=1))
    inbox.done(key)
    assert inbox.claim(key, NOW + timedelta(seconds=2)) is False


def test_a_lapsed_claim_is_taken_over_and_a_failed_one_released(inbox):
    lapsed, failed = message_key("line", "lapsed"), message_key("line", "failed")
    assert inbox.claim(lapsed, NOW)
    assert inbox.claim(lapsed, NOW + CLAIM + timedelta(seconds=1)) is True
    assert inbox.claim(failed, NOW)
    inbox.release(failed)
    assert inbox.claim(failed, NOW) is True


def test_old_marks_are_forgotten(inbox):
    old, recent = message_key("sms", "old"), message_key("sms", "recent")
    inbox.claim(old, NOW - KEPT - timedelta(minutes=1))
    inbox.claim(recent, NOW - timedelta(hours=1))
    assert inbox.forget_old(NOW) == 1
    assert {d["_id"] for d in inbox.col.find()} == {recent}
