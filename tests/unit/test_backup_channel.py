"""The backup contact channel (issue 14 "Urgent alerts") on the fakes: an
unacknowledged alert becomes one e-mail and one SMS per backup contact, stored once
per event and recipient, retried on the bounded schedule, and naming the alert, never
the worker; a retaliation alert no safeguarding endpoint received in time goes the
same way, one that was received does not."""
from datetime import timedelta

import pytest

from services.notifications import backup_handlers
from services.notifications.backup import AlertWatch, BackupSend, compose
from services.notifications.domain import Delivery, RetryPolicy, plan_deliveries, Subscription
from shared.contracts.events import RETALIATION_REPORTED, SAFEGUARDING_ALERT_UNACKNOWLEDGED, iso, make_event
from tests.fakes import FakeNotificationStore, FakeRepository, unit_of_work
from tests.unit.test_handlers_remediation_validation import GRIEVANCE, NOW

ALERT = "9f1c2e3d4b5a69788796a5b4c3d2e1f0"


class FakeChannel:
    """BackupChannel's surface: recipients, schedule, lease, and a ``deliver`` that
    fails as often as told, then records."""
    emails, phones = ("backup@ngo.example",), ("+66800000099",)
    retry, lease_seconds, after_seconds = RetryPolicy((0, 2, 4), jitter=0), 30, 30

    def __init__(self, failures=0):
        self.failures, self.sent = failures, []
        self.background = self

    def spawn_n(self, fn, *args):
        fn(*args)

    def deliver(self, channel, recipient, subject, text):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("down")
        self.sent.append({"channel": channel, "to": recipient, "subject": subject, "text": text})


class FakeSendStore(FakeRepository):
    def due(self, now_iso, limit=100):
        return [d["_id"] for d in self.docs.values() if (d["status"] == "pending" and d["next_attempt_at"] <= now_iso)
                or (d["status"] == "sending" and d["lease_until"] <= now_iso)]


class FakeWatchStore(FakeRepository):
    def due(self, now_iso, limit=100):
        return [d["_id"] for d in self.docs.values() if d["due_at"] and d["due_at"] <= now_iso]


def unacknowledged() -> dict:
    return make_event(SAFEGUARDING_ALERT_UNACKNOWLEDGED, "ILM-7K2M9QXR", {
        "alert_id": ALERT, "kind": "retaliation", "work_area": "working_conditions",
        "reported_at": iso(NOW), "minutes_waited": 15.0}, "c")


@pytest.fixture
def sends():
    return unit_of_work(BackupSend, repo=FakeSendStore(), consumer="notifications_alerts.test")


def test_an_unacknowledged_alert_reaches_every_backup_contact_once_naming_the_alert_only(sends):
    channel, event = FakeChannel(), unacknowledged()
    assert len(backup_handlers.on_unacknowledged(sends, channel, event, clock=lambda: NOW)) == 2
    assert backup_handlers.on_unacknowledged(sends, channel, event, clock=lambda: NOW) == []   # redelivered
    assert sorted((s["channel"], s["to"]) for s in channel.sent) == [("email", "backup@ngo.example"),
                                                                    ("sms", "+66800000099")]
    for sent in channel.sent:
        assert ALERT in sent["text"] and "waits unacknowledged" in sent["subject"] + sent["text"]
        for private in ("ILM-7K2M9QXR", GRIEVANCE["worker_key"], "SUP-1", "working_conditions"):
            assert private not in sent["text"] + sent["subject"]
    assert {d["status"] for d in sends.repo.docs.values()} == {"sent"}


def test_a_failing_channel_is_retried_on_the_bounded_schedule_then_kept_as_failed(sends):
    channel = FakeChannel(failures=10)
    [first, _] = backup_handlers.on_unacknowledged(sends, channel, unacknowledged(), clock=lambda: NOW)
    doc = sends.repo.load(first)
    assert doc["status"] == "pending" and doc["next_attempt_at"] == iso(NOW + timedelta(seconds=2))
    assert backup_handlers.send_due(sends, channel, clock=lambda: NOW + timedelta(seconds=1)) == 0
    assert backup_handlers.send_due(sends, channel, clock=lambda: NOW + timedelta(seconds=2)) == 2
    backup_handlers.send_due(sends, channel, clock=lambda: NOW + timedelta(seconds=10))
    doc = sends.repo.load(first)
    assert doc["status"] == "failed" and len(doc["attempts"]) == 3 and doc["attempts"][-1]["error"] == "ConnectionError"
    assert backup_handlers.send_due(sends, channel, clock=lambda: NOW + timedelta(days=1)) == 0


def test_both_messages_say_an_alert_waits_and_name_it():
    facts = {"alert_id": ALERT, "kind": "retaliation", "reported_at": iso(NOW), "waited": 30}
    for reason in ("unacknowledged", "undelivered"):
        subject, text = compose(reason, facts)
        assert ALERT in subject and ALERT in text and "waits unacknowledged" in subject + text


# --- the watch: did a safeguarding recipient get the alert in time? ----------------------------

def alert() -> dict:
    return make_event(RETALIATION_REPORTED, "ILM-1", {
        "alert_id": ALERT, "raised_from": "grievance", "work_area": "working_conditions",
        "supplier_ref": "SUP-1", "site_ref": None, "reported_at": iso(NOW)}, "c")


def watched(sends, store, received_at=None):
    watches = unit_of_work(AlertWatch, repo=FakeWatchStore())
    event = alert()
    if received_at is not None:     # a safeguarding endpoint and its delivery of the alert
        sub = Subscription("sub_1", "lead-ana", "http://lead.example/hook", ["retaliation.reported"],
                           "safeguarding", "sealed", iso(NOW))
        store.add_subscription(sub.__dict__)
        [(delivery, _)] = plan_deliveries([sub], event, NOW, 15, urgent=True)
        delivery.record_attempt(received_at, "http_200", 3.0, RetryPolicy())
        store.insert({"_id": delivery.delivery_id, **delivery.to_dict()})
    assert backup_handlers.watch_alert(watches, event, NOW, 30) is True
    assert backup_handlers.watch_alert(watches, event, NOW, 30) is False      # redelivered alert
    return watches


def test_an_alert_no_safeguarding_recipient_received_in_time_goes_to_the_backup_contact(sends):
    store, channel = FakeNotificationStore(), FakeChannel()
    watches = watched(sends, store, received_at=NOW + timedelta(seconds=45))    # too late
    later = NOW + timedelta(seconds=29)
    assert backup_handlers.check_watches(watches, store, sends, channel, clock=lambda: later) == []
    due = NOW + timedelta(seconds=30)
    assert backup_handlers.check_watches(watches, store, sends, channel, clock=lambda: due) == [ALERT]
    assert backup_handlers.check_watches(watches, store, sends, channel, clock=lambda: due) == []
    assert len(channel.sent) == 2 and "reached no safeguarding recipient" in channel.sent[0]["subject"]
    assert watches.get(ALERT).outcome == "backup"


def test_an_alert_a_safeguarding_recipient_received_in_time_does_not(sends):
    store, channel = FakeNotificationStore(), FakeChannel()
    watches = watched(sends, store, received_at=NOW + timedelta(seconds=1))
    backup_handlers.check_watches(watches, store, sends, channel, clock=lambda: NOW + timedelta(minutes=1))
    assert channel.sent == [] and watches.get(ALERT).outcome == "received"
    assert Delivery.from_dict(next(iter(store.docs.values()))).status == "delivered"
