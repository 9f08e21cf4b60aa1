"""Webhook delivery below process level: claim, send, record, retry, and the alert
lane's send-before-store, on in-memory fakes of the store and the HTTP client."""
from datetime import datetime, timedelta, timezone

import pytest

from services.notifications import handlers
from services.notifications.domain import Delivery
from shared.contracts.events import CASE_STATUS_CHANGED, PARTY_CHAIN_CHANGED, RETALIATION_REPORTED, make_event
from tests.fakes import FakeNotificationStore, webhook_world

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
PARTNER = {"id": "BRAND-1", "role": "partner"}


def at(moment):
    return lambda: moment


@pytest.fixture
def world():
    return webhook_world(["case.status_changed", "retaliation.reported"], PARTNER, NOW)


def changed(supplier="SUP-1"):
    return make_event(CASE_STATUS_CHANGED, "ILM-1", {
        "from_status": "received", "to_status": "triaged", "case_version": 2, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": supplier, "site_ref": None, "business_ref": None,
        "business_type": None, "actor": {"id": "cw", "role": "case_worker"}, "changed_at": "2026-11-01T09:00:00.000Z"},
        "c")


def alert():
    return make_event(RETALIATION_REPORTED, "ILM-1", {
        "alert_id": "a" * 32, "raised_from": "grievance", "work_area": None, "supplier_ref": "SUP-1",
        "site_ref": None, "reported_at": "2026-11-01T09:00:00.000Z"}, "c")


def test_registration_shows_the_secret_once_and_stores_it_sealed(world):
    store, _, _, hook = world
    assert hook["secret"].startswith("whsec_")
    assert "secret" not in store.subs[hook["subscription_id"]]
    assert store.subs[hook["subscription_id"]]["partner_id"] == "BRAND-1"   # the token's partner


def test_an_ordinary_delivery_is_claimed_and_stored_before_it_is_sent(world):
    store, deliveries, sender, _ = world
    (delivery_id,) = handlers.fan_out(deliveries, sender, changed(), at(NOW))
    (post,) = sender.posts
    assert post["stored"]["status"] == "sending" and post["stored"]["lease_until"] > "2026-11-01T09:00:00"
    assert store.load(delivery_id)["status"] == "delivered"
    assert handlers.fan_out(deliveries, sender, changed("SUP-OTHER"), at(NOW)) == []   # not its supply chain


def test_the_same_event_fanned_out_twice_is_sent_once(world):
    store, deliveries, sender, _ = world
    event = changed()
    handlers.fan_out(deliveries, sender, event, at(NOW))
    assert handlers.fan_out(deliveries, sender, event, at(NOW)) == []
    assert len(sender.posts) == 1 and len(store.docs) == 1


def test_an_alert_is_sent_before_it_is_stored_and_a_resend_keeps_its_id(world):
    store, deliveries, sender, _ = world
    event = alert()
    (first,) = handlers.fan_out(deliveries, sender, event, at(NOW), urgent=True)
    assert sender.posts[0]["stored"] is None                  # nothing waited for the database
    assert store.load(first)["status"] == "delivered" and store.load(first)["urgent"] is True
    (again,) = handlers.fan_out(deliveries, sender, event, at(NOW), urgent=True)   # redelivered alert
    assert again == first and sender.posts[1]["id"] == first and len(store.docs) == 1


def test_a_failed_delivery_is_retried_when_due_and_fails_for_good_after_the_last_try(world):
    store, deliveries, sender, _ = world
    sender.answers = [False, False, False]
    (delivery_id,) = handlers.fan_out(deliveries, sender, changed(), at(NOW))
    doc = store.load(delivery_id)
    assert doc["status"] == "pending" and doc["next_attempt_at"] == "2026-11-01T09:00:02.000Z"
    assert handlers.retry_due(deliveries, sender, at(NOW + timedelta(seconds=1))) == 0     # not yet due
    assert handlers.retry_due(deliveries, sender, at(NOW + timedelta(seconds=3))) == 1
    assert handlers.retry_due(deliveries, sender, at(NOW + timedelta(hours=1))) == 1
    assert store.load(delivery_id)["status"] == "failed" and len(sender.posts) == 3
    assert handlers.retry_due(deliveries, sender, at(NOW + timedelta(days=1))) == 0


def test_a_lapsed_lease_is_taken_over_and_a_held_one_is_not(world):
    store, deliveries, sender, _ = world
    sender.answers = [False]
    (delivery_id,) = handlers.fan_out(deliveries, sender, changed(), at(NOW))
    doc = store.load(delivery_id)
    claimed = Delivery.from_dict(doc)
    claimed.claim(NOW, 15)                                    # another sender holds it now
    store.replace({**doc, **claimed.to_dict()})
    assert handlers.attempt(deliveries, sender, delivery_id, at(NOW + timedelta(seconds=5))) is None
    assert handlers.attempt(deliveries, sender, delivery_id, at(NOW + timedelta(seconds=20))) == "delivered"


def test_only_one_of_two_racing_senders_wins_the_lease(world):
    store, deliveries, sender, _ = world
    sender.answers = [False]
    (delivery_id,) = handlers.fan_out(deliveries, sender, changed(), at(NOW))
    later = NOW + timedelta(seconds=3)
    stale = store.load(delivery_id)
    original_load = store.load
    store.load = lambda _id: stale if _id == delivery_id else original_load(_id)   # both read the same revision
    assert handlers.attempt(deliveries, sender, delivery_id, at(later)) == "delivered"
    assert handlers.attempt(deliveries, sender, delivery_id, at(later)) is None        # lost the revision race
    assert len(sender.posts) == 2


def test_alerts_are_retried_before_case_updates(world):
    store, deliveries, sender, _ = world
    sender.answers = [False, False]
    handlers.fan_out(deliveries, sender, changed(), at(NOW))
    handlers.fan_out(deliveries, sender, alert(), at(NOW), urgent=True)
    sender.posts.clear()
    handlers.retry_due(deliveries, sender, at(NOW + timedelta(seconds=5)))
    assert [store.load(p["id"])["webhook_type"] for p in sender.posts] == ["retaliation.reported", "case.status_changed"]
    assert handlers.retry_due(deliveries, sender, at(NOW + timedelta(seconds=5)), urgent_only=True) == 0


def chain_changed(partner, version, suppliers, sites=(), agencies=()):
    return make_event(PARTY_CHAIN_CHANGED, partner, {
        "partner_ref": partner, "chain_version": version, "suppliers": list(suppliers), "sites": list(sites),
        "agencies": list(agencies), "changed_at": "2026-11-01T09:00:00.000Z"}, "c")


def test_the_chain_projection_keeps_the_newest_version_whatever_the_order(world):
    store, deliveries, sender, _ = world
    assert handlers.project_chain(deliveries, sender, chain_changed("BRAND-1", 3, ["SUP-2"], ["SITE-2"]))
    assert not handlers.project_chain(deliveries, sender, chain_changed("BRAND-1", 2, ["SUP-1"]))   # overtaken
    assert not handlers.project_chain(deliveries, sender, chain_changed("BRAND-1", 3, ["SUP-2"], ["SITE-2"]))
    assert store.all_chains()["BRAND-1"] == {"SUP-2", "SITE-2"}
    assert handlers.fan_out(deliveries, sender, changed("SUP-1"), at(NOW)) == []          # no longer its chain
    assert len(handlers.fan_out(deliveries, sender, changed("SUP-2"), at(NOW))) == 1


def test_a_retaliation_alert_reaches_the_lead_and_the_accused_s_partners_never_the_accused(world):
    store, deliveries, sender, _ = world
    subscribe = lambda actor, url: handlers.register_webhook(   # noqa: E731
        deliveries, sender, {"url": url, "event_types": ["retaliation.reported"]}, actor, NOW)
    subscribe({"id": "lead-1", "role": "safeguarding_lead"}, "http://lead.example/alerts")
    subscribe({"id": "BRAND-9", "role": "partner"}, "http://other-brand.example/hook")   # chain without SUP-1
    store.save_chain("BRAND-9", 1, ["SUP-7"])
    # the accused holding a partner's token, its own ref in a chain as if registered as a party
    subscribe({"id": "SUP-1", "role": "partner"}, "http://accused.example/hook")
    store.save_chain("SUP-1", 1, ["SUP-1", "SITE-1"])
    handlers.fan_out(deliveries, sender, alert(), at(NOW), urgent=True)
    assert sorted(p["url"] for p in sender.posts) == ["http://brand.example/hook", "http://lead.example/alerts"]


def test_a_read_that_a_change_overtook_is_not_cached():
    from services.notifications.webhooks import WebhookSender
    sender = WebhookSender(cache_seconds=60)
    sender._cache, sender._forgotten = {}, 0
    store = FakeNotificationStore()
    store.save_chain("BRAND-1", 1, ["SUP-1"])
    slow_read = store.all_chains

    def read_then_change():
        before = slow_read()                      # read, then a new chain is stored and announced
        store.save_chain("BRAND-1", 2, ["SUP-2"])
        sender.forget_chains()
        return before

    store.all_chains = read_then_change
    assert sender.chains(store)["BRAND-1"] == {"SUP-1"}
    store.all_chains = slow_read
    assert sender.chains(store)["BRAND-1"] == {"SUP-2"}     # not the overtaken read
    store.save_chain("BRAND-1", 3, ["SUP-3"])
    assert sender.chains(store)["BRAND-1"] == {"SUP-2"}     # cached within the interval
