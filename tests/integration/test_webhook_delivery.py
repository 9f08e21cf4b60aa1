"""Issue 14 on the running services, against a real receiver: the compressed retry
schedule, a restart of notifications mid-schedule, 410 disabling an endpoint and
re-enabling it, replay, secret rotation verified with the ``standardwebhooks`` library,
and deadline escalations routed to the business (level 1) or its partners (2, 3).
The schedule is compressed by tests/conftest.py (WEBHOOK_RETRY_SCHEDULE)."""
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook

from scripts.parties import link_partner
from shared.contracts.events import CASE_DEADLINE_ESCALATED, CASE_STATUS_CHANGED, iso, make_event, utc_now
from shared.repository import database
from tests.integration.conftest import eventually
from tests.integration.helpers import publisher, unique
from tests.principals import ADMIN, SAFEGUARDING, partner, supplier

pytestmark = pytest.mark.integration


def status_changed(ref: str, version: int, supplier_ref: str = "SUP-X") -> dict:
    return make_event(CASE_STATUS_CHANGED, ref, {
        "from_status": "received", "to_status": "triaged", "case_version": version, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": supplier_ref, "site_ref": None, "business_ref": None,
        "business_type": None, "actor": {"id": "cw", "role": "case_worker"}, "changed_at": iso(utc_now())}, "hooks")


def escalated(ref: str, level: int, business: str) -> dict:
    return make_event(CASE_DEADLINE_ESCALATED, ref, {
        "deadline": "acknowledge", "level": level, "due": iso(utc_now()), "escalated_at": iso(utc_now()),
        "severity": "high", "work_area": "working_conditions", "supplier_ref": business, "site_ref": None,
        "business_ref": business, "business_type": "supplier"}, "hooks")


def publish(*events) -> None:
    relay = publisher()
    for event in events:
        relay.publish(event)


def lead_endpoint(actors, receiver, path: str, types=("case.status_changed",), **more) -> dict:
    return actors(SAFEGUARDING).notifications.register_webhook({"url": receiver.url(path), "event_types": list(types),
                                                                **more})


def stored_delivery(subscription_id: str) -> dict | None:
    return database("notifications")["deliveries"].find_one({"subscription_id": subscription_id})


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_a_receiver_failing_three_times_gets_the_delivery_on_the_schedule_signed(stack, actors, receiver):
    path, ref = f"/schedule/{unique('p')}", unique("ILM")
    hook = lead_endpoint(actors, receiver, path)
    receiver.fail_next[path] = 3
    publish(status_changed(ref, 2))
    (got,) = receiver.wait(path, lambda got: len(got) == 1)
    assert Webhook(hook["secret"]).verify(got.body, got.headers)["data"]["case_ref"] == ref
    (delivery,) = actors(SAFEGUARDING).notifications.list_deliveries(
        {"subscription_id": hook["subscription_id"]})["items"]
    attempts = delivery["attempts"]
    assert [a["status_code"] for a in attempts] == [503, 503, 503, 200] and delivery["status"] == "delivered"
    gaps = [(at(b["at"]) - at(a["at"])).total_seconds() for a, b in zip(attempts, attempts[1:])]
    # WEBHOOK_RETRY_SCHEDULE=0,0.5,1,...: each wait at least its step less the 10 % jitter
    assert all(gap >= step * 0.9 - 0.05 for gap, step in zip(gaps, (0.5, 1, 1))), gaps
    assert {r.headers["webhook-id"] for r in receiver.refused if r.path == path} == {got.headers["webhook-id"]}


def test_the_schedule_survives_a_restart_of_notifications(stack, actors, receiver):
    path, ref = f"/restart/{unique('p')}", unique("ILM")
    hook = lead_endpoint(actors, receiver, path)
    receiver.fail_next[path] = 1000
    publish(status_changed(ref, 2))
    eventually(lambda: (stored_delivery(hook["subscription_id"]) or {}).get("attempts"))
    stack.procs["notifications"].stop()
    try:
        before = stored_delivery(hook["subscription_id"])
        assert before["status"] == "pending" and before["next_attempt_at"]   # the next try is stored
        receiver.fail_next[path] = 0
    finally:
        stack.start("notifications")
    (got,) = receiver.wait(path, lambda got: len(got) == 1, timeout=60)
    after = eventually(lambda: (d := stored_delivery(hook["subscription_id"]))["status"] == "delivered" and d)
    assert got.headers["webhook-id"] == before["_id"]
    assert after["attempts"][:len(before["attempts"])] == before["attempts"]   # the same schedule, continued


def test_410_disables_the_endpoint_and_re_enabling_replays_what_it_missed_with_the_original_ids(
        stack, actors, receiver, smtp_sink):
    path, ref, contact = f"/gone/{unique('p')}", unique("ILM"), f"{unique('ops').lower()}@brand.test"
    lead = actors(SAFEGUARDING).notifications
    hook = lead_endpoint(actors, receiver, path, contact_email=contact)
    sub_id = hook["subscription_id"]
    receiver.answer[path] = (410, {})
    publish(status_changed(ref, 2))
    subscriptions = database("notifications")["subscriptions"]
    eventually(lambda: subscriptions.find_one({"_id": sub_id, "active": False}))
    assert "410" in subscriptions.find_one({"_id": sub_id})["disabled_reason"]
    publish(status_changed(ref, 3))            # while disabled: held, not sent
    deliveries = database("notifications")["deliveries"]
    eventually(lambda: deliveries.count_documents({"subscription_id": sub_id, "status": "stopped"}) == 2)
    assert len([r for r in receiver.refused if r.path == path]) == 1
    # The log shows the attempt, the start of the answer included; the service's log never does.
    (gone,) = [a for d in lead.list_deliveries({"subscription_id": sub_id})["items"] for a in d["attempts"]]
    assert gone["status_code"] == 410 and gone["response"] == "told to refuse" and gone["duration_ms"] >= 0
    assert "told to refuse" not in stack.procs["notifications"].log_path.read_text()
    # The owner's contact is told by e-mail (the backup channel's), naming how to re-enable.
    told = smtp_sink.wait_for(lambda got: [m for m in got if m["to"] == [contact]], timeout=30)
    (mail,) = [m for m in told if m["to"] == [contact]]
    assert sub_id in mail["subject"] and f"/v1/webhooks/{sub_id}/enable" in mail["text"]

    del receiver.answer[path]
    enabled = lead.enable_webhook({"subscription_id": sub_id})
    assert enabled["active"] is True and len(enabled["replayed"]) == 2
    got = receiver.wait(path, lambda got: len(got) == 2)
    assert sorted(r.headers["webhook-id"] for r in got) == sorted(enabled["replayed"])
    assert sorted(r.json["data"]["case_version"] for r in got) == [2, 3]

    # A manual replay: once more, the same webhook-id.
    first = enabled["replayed"][0]
    lead.replay_delivery({"subscription_id": sub_id, "delivery_id": first})
    got = receiver.wait(path, lambda got: len(got) == 3)
    assert got[-1].headers["webhook-id"] == first
    since = iso(utc_now() - timedelta(minutes=5))
    replayed = lead.replay_deliveries({"subscription_id": sub_id, "since": since, "until": iso(utc_now())})
    assert sorted(replayed["replayed"]) == sorted(enabled["replayed"])
    receiver.wait(path, lambda got: len(got) == 5)
    # Nobody else may act on it.
    with pytest.raises(Exception, match="not found"):
        actors(partner("BRAND-NOSY")).notifications.replay_delivery({"subscription_id": sub_id, "delivery_id": first})


def test_during_a_rotation_receivers_with_the_old_or_the_new_secret_both_verify(stack, actors, receiver):
    path, ref = f"/rotation/{unique('p')}", unique("ILM")
    hook = lead_endpoint(actors, receiver, path)
    rotated = actors(SAFEGUARDING).notifications.rotate_webhook_secret({"subscription_id": hook["subscription_id"]})
    assert at(rotated["previous_secret_until"]) > datetime.now(timezone.utc) + timedelta(hours=23)
    publish(status_changed(ref, 2))
    (got,) = receiver.wait(path, lambda got: len(got) == 1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], rotated["secret"]):        # each receiver holds one of them
        assert Webhook(secret).verify(got.body, got.headers)["data"]["case_ref"] == ref


def test_a_deadline_escalation_reaches_the_business_at_level_1_and_its_partners_at_levels_2_and_3(
        stack, actors, receiver):
    business, brand, ref = unique("SUP"), unique("BRAND"), unique("ILM")
    link_partner(actors(ADMIN), brand, business)
    paths = {who: f"/escalation/{unique(who)}" for who in ("business", "brand", "other")}
    kinds = ["case.status_changed", "case.deadline_escalated"]
    actors(supplier(business)).notifications.register_webhook({"url": receiver.url(paths["business"]),
                                                                "event_types": kinds})
    actors(supplier(unique("SUP"))).notifications.register_webhook({"url": receiver.url(paths["other"]),
                                                                    "event_types": kinds})
    actors(partner(brand)).notifications.register_webhook({"url": receiver.url(paths["brand"]),
                                                           "event_types": kinds})
    publish(*(escalated(ref, level, business) for level in (1, 2, 3)))
    got = receiver.wait(paths["brand"], lambda got: len(got) == 2)
    assert sorted(r.json["data"]["level"] for r in got) == [2, 3]
    (got,) = receiver.wait(paths["business"], lambda got: len(got) == 1)
    assert got.json["data"]["level"] == 1 and got.json["data"]["business_ref"] == business
    assert receiver.at(paths["other"]) == []          # another business hears nothing of it
