"""Notifications' two service classes in-process: registration and fan-out through
their entrypoints, with the store and the HTTP client replaced by fakes."""
from nameko.testing.services import entrypoint_hook, replace_dependencies

from services.notifications.domain import Delivery
from services.notifications.service import AlertLaneService, NotificationsService
from shared.contracts.events import RETALIATION_REPORTED, make_event
from tests.fakes import FakeNotificationStore, FakeSender, unit_of_work
from tests.principals import SAFEGUARDING, context


def alert() -> dict:
    return make_event(RETALIATION_REPORTED, "ILM-1", {
        "alert_id": "b" * 32, "raised_from": "follow_up", "work_area": None, "supplier_ref": "SUP-1",
        "site_ref": None, "reported_at": "2026-11-01T09:00:00.000Z"}, "c")


def test_an_alert_reaches_a_safeguarding_endpoint_registered_a_moment_before(container_factory, make_config):
    store = FakeNotificationStore()
    sender = FakeSender(store)
    notifications = container_factory(NotificationsService, make_config())
    alerts = container_factory(AlertLaneService, make_config())
    for c in (notifications, alerts):
        replace_dependencies(c, deliveries=unit_of_work(Delivery, repo=store), sender=sender)
        c.start()
    with entrypoint_hook(notifications, "register_webhook", context_data=context(SAFEGUARDING)) as register:
        hook = register({"url": "http://lead.example/alerts", "event_types": ["retaliation.reported"]})
    assert hook["audience"] == "safeguarding" and hook["partner_id"] == SAFEGUARDING.id
    with entrypoint_hook(alerts, "on_retaliation_reported") as on_alert:
        on_alert(alert())
    (post,) = sender.posts
    assert post["url"] == "http://lead.example/alerts" and post["stored"] is None
    with entrypoint_hook(notifications, "list_deliveries", context_data=context(SAFEGUARDING)) as list_deliveries:
        (delivery,) = list_deliveries({"subscription_id": hook["subscription_id"]})
    assert delivery["status"] == "delivered" and "body" not in delivery
