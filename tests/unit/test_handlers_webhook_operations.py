"""Issue 14 below process level: 410 disables an endpoint and holds its deliveries, the
circuit postpones instead of attempting, an endpoint failing too long is disabled,
replay and re-enabling keep the original ids, rotation, unsubscribe, and only the
owner (or staff) acts on an endpoint."""
import base64
from dataclasses import replace
from datetime import timedelta

import eventlet
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventlet.event import Event

from services.notifications import backup_handlers, handlers
from services.notifications.backup import BackupSend
from services.notifications.client import Answer
from services.notifications.domain import CircuitPolicy, Delivery, signature_header
from shared.contracts.common import load
from shared.contracts.events import CASE_STATUS_CHANGED, iso, make_event
from shared.contracts.rpc import ListWebhooks
from shared.errors import InvalidInput, NotFound
from tests.fakes import FakeNotificationStore, FakeSender, unit_of_work, webhook_world
from tests.unit.test_backup_channel import FakeChannel, FakeSendStore
from tests.unit.test_handlers_notifications import NOW, PARTNER as OWNER, at


@pytest.fixture
def world():
    store, deliveries, sender, hook = webhook_world(["case.status_changed"], OWNER, NOW)
    return store, deliveries, sender, hook["subscription_id"]


def changed(version: int, at_second: int = 0) -> dict:
    event = make_event(CASE_STATUS_CHANGED, "ILM-1", {
        "from_status": "received", "to_status": "triaged", "case_version": version, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": "SUP-1", "site_ref": None, "business_ref": None,
        "business_type": None, "actor": {"id": "cw", "role": "case_worker"}, "changed_at": iso(NOW)}, "c")
    event["occurred_at"] = iso(NOW + timedelta(seconds=at_second))
    return event


def test_410_disables_the_endpoint_and_holds_its_deliveries_until_it_is_re_enabled(world):
    store, deliveries, sender, sub_id = world
    sender.answers = [False]
    (first,) = handlers.fan_out(deliveries, sender, changed(2, 0), at(NOW))          # 503: waits for a retry
    sender.answers = [Answer(False, "http_410")]
    (gone,) = handlers.fan_out(deliveries, sender, changed(3, 1), at(NOW))
    assert store.subs[sub_id]["active"] is False and "410" in store.subs[sub_id]["disabled_reason"]
    assert store.subs[sub_id]["owner_notice"]["reason"] == store.subs[sub_id]["disabled_reason"]
    assert {store.load(i)["status"] for i in (first, gone)} == {"stopped"}
    (missed,) = handlers.fan_out(deliveries, sender, changed(4, 2), at(NOW))          # arrives while disabled
    assert missed not in [p["id"] for p in sender.posts] and store.load(missed)["status"] == "stopped"

    later = NOW + timedelta(minutes=5)
    enabled = handlers.enable_webhook(deliveries, sender, {"subscription_id": sub_id}, OWNER, later)
    assert enabled["active"] is True and enabled["replayed"] == [first, gone, missed]   # in order of case version
    sender.posts.clear()
    assert handlers.retry_due(deliveries, sender, at(later + timedelta(seconds=1))) == 3
    assert sorted(p["id"] for p in sender.posts) == sorted([first, gone, missed])       # the original ids
    assert {store.load(i)["status"] for i in (first, gone, missed)} == {"delivered"}


def test_an_open_circuit_postpones_deliveries_without_spending_attempts_then_one_probe_closes_it(world):
    store, deliveries, sender, sub_id = world
    sender.circuit = CircuitPolicy(failures=2, cooldown=30, disable_after=86400)
    sender.answers = [False, False]
    ids = [handlers.fan_out(deliveries, sender, changed(v), at(NOW))[0] for v in (2, 3)]
    assert store.subs[sub_id]["circuit_open_until"] == iso(NOW + timedelta(seconds=30))
    (held,) = handlers.fan_out(deliveries, sender, changed(4), at(NOW))
    assert len(sender.posts) == 2                                  # not attempted
    doc = store.load(held)
    assert doc["status"] == "pending" and doc["attempts"] == [] and doc["next_attempt_at"] == iso(NOW + timedelta(seconds=30))
    # Cool-down over: one probe goes; it succeeds and the circuit closes for the rest.
    handlers.retry_due(deliveries, sender, at(NOW + timedelta(seconds=31)))
    assert store.subs[sub_id]["circuit_open_until"] is None and store.subs[sub_id]["failures"] == 0
    handlers.retry_due(deliveries, sender, at(NOW + timedelta(seconds=40)))
    assert {store.load(i)["status"] for i in [*ids, held]} == {"delivered"}


def test_an_endpoint_failing_for_the_configured_period_is_disabled_and_its_owner_told(world):
    store, deliveries, sender, sub_id = world
    sender.circuit = CircuitPolicy(failures=100, cooldown=30, disable_after=3600)
    sender.answers = [False, False]
    (first,) = handlers.fan_out(deliveries, sender, changed(2), at(NOW))
    assert store.subs[sub_id]["active"] is True
    handlers.fan_out(deliveries, sender, changed(3), at(NOW + timedelta(hours=1)))
    sub = store.subs[sub_id]
    assert sub["active"] is False and sub["disabled_reason"] == f"failing since {iso(NOW)}"
    assert sub["owner_notice"]["sent_by"] is None            # recorded with the disabling, told by the sweep
    assert store.load(first)["status"] == "stopped"

    # No owner contact on record: the operator's backup contacts are told, once.
    sends, channel = unit_of_work(BackupSend, repo=FakeSendStore()), FakeChannel()
    told_at = NOW + timedelta(hours=1, minutes=1)
    assert backup_handlers.tell_disabled_owners(store, sends, channel, clock=lambda: told_at) == [sub_id]
    assert backup_handlers.tell_disabled_owners(store, sends, channel, clock=lambda: told_at) == []
    assert sorted(m["to"] for m in channel.sent) == ["+66800000099", "backup@ngo.example"]
    assert sub_id in channel.sent[0]["text"] and f"/v1/webhooks/{sub_id}/enable" in channel.sent[0]["text"]
    notice = store.subs[sub_id]["owner_notice"]
    assert (notice["sent_by"], notice["recipients"]) == ("backup_contacts", 2)


def test_the_owners_own_contact_is_told_when_it_named_one(world):
    store, deliveries, sender, sub_id = world
    store.subs[sub_id]["contact_email"] = "webhooks@brand.example"
    sender.answers = [Answer(False, "http_410")]
    handlers.fan_out(deliveries, sender, changed(2), at(NOW))
    channel = FakeChannel()
    backup_handlers.tell_disabled_owners(store, unit_of_work(BackupSend, repo=FakeSendStore()), channel,
                                         clock=lambda: NOW)
    assert [(m["channel"], m["to"]) for m in channel.sent] == [("email", "webhooks@brand.example")]
    assert "was disabled" in channel.sent[0]["subject"] and "410" in channel.sent[0]["text"]
    assert store.subs[sub_id]["owner_notice"]["sent_by"] == "owner_contact"
    # Re-enabled, then disabled again: a new disabling is told again.
    handlers.enable_webhook(deliveries, sender, {"subscription_id": sub_id}, OWNER, NOW + timedelta(minutes=1))
    sender.answers = [Answer(False, "http_410")]
    handlers.fan_out(deliveries, sender, changed(3), at(NOW + timedelta(minutes=2)))
    backup_handlers.tell_disabled_owners(store, unit_of_work(BackupSend, repo=FakeSendStore()), channel,
                                         clock=lambda: NOW + timedelta(minutes=3))
    assert len(channel.sent) == 2


def test_replay_of_one_delivery_keeps_its_id_and_starts_a_new_round(world):
    store, deliveries, sender, sub_id = world
    sender.retry = replace(sender.retry, schedule=(0,))
    sender.answers = [False]
    (failed,) = handlers.fan_out(deliveries, sender, changed(2), at(NOW))
    assert store.load(failed)["status"] == "failed"
    view = handlers.replay_delivery(deliveries, {"subscription_id": sub_id, "delivery_id": failed}, OWNER, NOW)
    assert view["status"] == "pending" and "body" not in view
    handlers.retry_due(deliveries, sender, at(NOW + timedelta(seconds=1)))
    assert [p["id"] for p in sender.posts] == [failed, failed] and store.load(failed)["status"] == "delivered"
    assert [a["outcome"] for a in store.load(failed)["attempts"]] == ["http_503", "http_200"]


def test_replay_of_a_time_range(world):
    store, deliveries, sender, sub_id = world
    ids = [handlers.fan_out(deliveries, sender, changed(v, v), at(NOW))[0] for v in (1, 2, 3)]
    replayed = handlers.replay_deliveries(deliveries, {"subscription_id": sub_id, "since": NOW + timedelta(seconds=2),
                                                       "until": NOW + timedelta(seconds=3)}, OWNER, NOW)
    assert replayed["replayed"] == ids[1:]


def test_rotation_signs_with_both_secrets_during_the_overlap(world):
    store, deliveries, sender, sub_id = world
    old = store.subs[sub_id]["sealed_secret"].removeprefix("sealed:")
    rotated = handlers.rotate_secret(deliveries, sender, {"subscription_id": sub_id}, OWNER, NOW)
    assert rotated["secret"] != old and rotated["previous_secret_until"] == iso(NOW + timedelta(hours=1))
    handlers.fan_out(deliveries, sender, changed(2), at(NOW))
    handlers.fan_out(deliveries, sender, changed(3), at(NOW + timedelta(hours=1)))
    assert [p["secrets"] for p in sender.posts] == [[rotated["secret"], old], [rotated["secret"]]]


def test_unsubscribe_cancels_waiting_deliveries_and_only_the_owner_or_staff_acts(world):
    store, deliveries, sender, sub_id = world
    sender.answers = [False]
    (waiting,) = handlers.fan_out(deliveries, sender, changed(2), at(NOW))
    for stranger in ({"id": "BRAND-2", "role": "partner"}, {"id": "SUP-1", "role": "supplier"}):
        for act in (lambda a: handlers.delete_webhook(deliveries, sender, {"subscription_id": sub_id}, a),
                    lambda a: handlers.list_deliveries(deliveries, {"subscription_id": sub_id}, a),
                    lambda a: handlers.enable_webhook(deliveries, sender, {"subscription_id": sub_id}, a, NOW),
                    lambda a: handlers.rotate_secret(deliveries, sender, {"subscription_id": sub_id}, a, NOW)):
            with pytest.raises(NotFound):
                act(stranger)
    page = handlers.list_deliveries(deliveries, {"subscription_id": sub_id, "limit": 10}, {"id": "cw", "role": "case_worker"})
    assert [d["delivery_id"] for d in page["items"]] == [waiting] and page["next"] is None
    handlers.delete_webhook(deliveries, sender, {"subscription_id": sub_id}, OWNER)
    assert sub_id not in store.subs and store.load(waiting)["status"] == "cancelled"


def test_a_business_registers_for_its_own_cases_but_never_for_alerts():
    store = FakeNotificationStore()
    deliveries, sender = unit_of_work(Delivery, repo=store), FakeSender(store)
    business = {"id": "SUP-1", "role": "supplier"}
    hook = handlers.register_webhook(deliveries, sender, {
        "url": "http://sup.example/hook", "event_types": ["case.status_changed", "case.deadline_escalated"]},
        business, NOW)
    assert hook["audience"] == "business" and hook["partner_id"] == "SUP-1"
    with pytest.raises(InvalidInput) as refused:
        handlers.register_webhook(deliveries, sender, {
            "url": "http://sup.example/hook", "event_types": ["retaliation.reported"]}, business, NOW)
    assert set(refused.value.errors) == {"event_types"} and len(store.subs) == 1


def test_on_the_ordinary_lane_a_silent_recipient_holds_neither_the_worker_nor_another_recipient(world):
    store, deliveries, sender, _ = world
    handlers.register_webhook(deliveries, sender, {"url": "http://silent.example/hook",
                                                   "event_types": ["case.status_changed"]}, OWNER, NOW)
    answer_now, sent = Event(), []
    post = sender.post

    def slow_post(url, *args):
        if "silent" in url:
            answer_now.wait()
        sent.append(url)
        return post(url, *args)
    sender.post = slow_post
    background = eventlet.GreenPool()
    with eventlet.Timeout(2):                # a worker waiting for the silent one fails here
        ids = handlers.fan_out(deliveries, sender, changed(2), at(NOW), background=background)
    assert len(ids) == 2                     # both stored; the worker did not wait for either
    eventlet.sleep(0.05)
    assert sent == ["http://brand.example/hook"]
    answer_now.send()
    background.waitall()
    assert {store.load(i)["status"] for i in ids} == {"delivered"}


def test_a_v1a_endpoint_is_signed_with_ed25519_and_its_owner_holds_only_the_public_key():
    """Standard Webhooks' asymmetric scheme, checked independently of our code with
    the cryptography library's own Ed25519 verification; a rotation keeps the scheme
    and both keys sign during the overlap."""
    store = FakeNotificationStore()
    deliveries, sender = unit_of_work(Delivery, repo=store), FakeSender(store)
    hook = handlers.register_webhook(deliveries, sender, {"url": "http://brand.example/hook", "signature_scheme": "v1a",
                                                          "event_types": ["case.status_changed"]}, OWNER, NOW)
    assert "secret" not in hook and hook["public_key"].startswith("whpk_") and hook["signature_scheme"] == "v1a"
    store.save_chain("BRAND-1", 1, ["SUP-1"])
    rotated = handlers.rotate_secret(deliveries, sender, {"subscription_id": hook["subscription_id"]}, OWNER, NOW)
    assert "secret" not in rotated and rotated["public_key"] != hook["public_key"]
    handlers.fan_out(deliveries, sender, changed(2), at(NOW))
    (post,) = sender.posts
    body, msg_id, timestamp = '{"type": "case.status_changed"}', "msg_1", 1764000000
    header = signature_header(post["secrets"], msg_id, timestamp, body).split()
    assert [s.split(",")[0] for s in header] == ["v1a", "v1a"]
    for public_key, signature in zip((rotated["public_key"], hook["public_key"]), header):
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key.removeprefix("whpk_")))
        key.verify(base64.b64decode(signature.split(",", 1)[1]), f"{msg_id}.{timestamp}.{body}".encode())
        with pytest.raises(InvalidSignature):
            key.verify(base64.b64decode(signature.split(",", 1)[1]), f"{msg_id}.{timestamp}.{body} ".encode())


def test_each_owner_lists_its_own_endpoints_and_staff_every_one_without_secrets(world):
    store, deliveries, sender, sub_id = world
    other = handlers.register_webhook(deliveries, sender, {"url": "http://brand2.example/hook",
                                                           "event_types": ["case.status_changed"]},
                                      {"id": "BRAND-2", "role": "partner"}, NOW)["subscription_id"]
    store.update_subscription(sub_id, {"previous_sealed_secret": "sealed:old"})
    mine = handlers.list_webhooks(deliveries, {"limit": 50}, OWNER)
    assert [s["subscription_id"] for s in mine["items"]] == [sub_id] and mine["next"] is None
    assert not {"sealed_secret", "previous_sealed_secret", "secret"} & set(mine["items"][0])
    staff = {"id": "cw", "role": "case_worker"}
    first = handlers.list_webhooks(deliveries, {"limit": 1}, staff)
    rest = handlers.list_webhooks(deliveries, load(ListWebhooks, {"limit": 1, "after": first["next"]}), staff)
    assert {s["subscription_id"] for s in first["items"] + rest["items"]} == {sub_id, other} and rest["next"] is None
    assert handlers.list_webhooks(deliveries, {}, {"id": "SUP-9", "role": "supplier"})["items"] == []


class SlowFirst(FakeSender):
    """The endpoint answers the first request it gets slowly and the rest at once, and
    records what it received when each request completes (arrival order)."""

    def __init__(self, store):
        super().__init__(store)
        self.arrived, self.started = [], 0

    def post(self, url, delivery_id, secrets, body):
        self.started += 1
        if self.started == 1:
            eventlet.sleep(0.05)
        answer = super().post(url, delivery_id, secrets, body)
        self.arrived.append(delivery_id)
        return answer


def test_a_replay_arrives_in_the_order_it_was_replayed(world):
    store, deliveries, _, sub_id = world
    sender = SlowFirst(store)
    sender.answers = [Answer(False, "http_410")]
    held = [handlers.fan_out(deliveries, sender, changed(v, v), at(NOW))[0] for v in (2, 3, 4, 5)]
    later = NOW + timedelta(minutes=5)
    enabled = handlers.enable_webhook(deliveries, sender, {"subscription_id": sub_id}, OWNER, later)
    assert enabled["replayed"] == held                                  # in order of case version
    sender.posts.clear(), sender.arrived.clear()
    sender.started = 0
    assert handlers.retry_due(deliveries, sender, at(later + timedelta(seconds=1))) == 4
    assert sender.arrived == held           # the slow first one did not let the others overtake it


def test_retries_that_are_not_a_replay_still_go_out_side_by_side(world):
    store, deliveries, _, sub_id = world
    sender = SlowFirst(store)
    sender.answers = [False, False]
    failed = [handlers.fan_out(deliveries, sender, changed(v, v), at(NOW))[0] for v in (2, 3)]
    sender.posts.clear(), sender.arrived.clear()
    sender.started = 0
    assert handlers.retry_due(deliveries, sender, at(NOW + timedelta(seconds=3))) == 2
    assert sender.arrived == failed[::-1]   # one endpoint's slow answer holds none of its other retries
