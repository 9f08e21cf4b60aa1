"""Notifications' two service classes in-process: registration and fan-out through
their entrypoints, with the store and the HTTP client replaced by fakes."""
import eventlet
import pytest
from nameko.testing.services import entrypoint_hook, replace_dependencies

from services.notifications.domain import Delivery
from services.notifications.egress import Policy, UnsafeUrl, check
from services.notifications.service import AlertLaneService, NotificationsService
from shared.contracts.events import CASE_STATUS_CHANGED, PARTY_CHAIN_CHANGED, RETALIATION_REPORTED, make_event
from shared.errors import Forbidden, InvalidInput
from tests.fakes import FakeNotificationStore, FakeSender, unit_of_work
from tests.principals import SAFEGUARDING, context, partner, supplier, worker

PUBLIC_NAMES = {"lead.example": ["93.184.216.34"], "brand.example": ["93.184.216.35"],
                "accused.example": ["93.184.216.36"], "rebound.example": ["10.0.0.5"]}


class GuardedSender(FakeSender):
    """The fake HTTP client behind the real SSRF guard (http allowed, as in a local
    run, public addresses only; names resolved from PUBLIC_NAMES) and the real alert
    pool, so the entrypoints are tested as wired."""

    def __init__(self, store):
        super().__init__(store)
        self.background = eventlet.GreenPool()

    def check_url(self, url):
        try:
            check(url, Policy(allow_http=True, ports=None), lambda host, port: PUBLIC_NAMES[host])
        except UnsafeUrl as exc:
            raise InvalidInput({"url": [str(exc)]}) from None


def alert() -> dict:
    return make_event(RETALIATION_REPORTED, "ILM-1", {
        "alert_id": "b" * 32, "raised_from": "follow_up", "work_area": None, "supplier_ref": "SUP-1",
        "site_ref": None, "reported_at": "2026-11-01T09:00:00.000Z"}, "c")


def test_an_alert_reaches_a_safeguarding_endpoint_registered_a_moment_before(container_factory, make_config):
    store = FakeNotificationStore()
    sender = GuardedSender(store)
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
    sender.background.waitall()        # the lane's worker did not wait for the recipient
    (post,) = sender.posts
    assert post["url"] == "http://lead.example/alerts" and post["stored"] is None
    with entrypoint_hook(notifications, "list_deliveries", context_data=context(SAFEGUARDING)) as list_deliveries:
        (delivery,) = list_deliveries({"subscription_id": hook["subscription_id"]})["items"]
    assert delivery["status"] == "delivered" and "body" not in delivery


def test_a_partner_endpoint_covers_the_chain_the_registry_published(container_factory, make_config):
    store = FakeNotificationStore()
    sender = GuardedSender(store)
    notifications = container_factory(NotificationsService, make_config())
    replace_dependencies(notifications, deliveries=unit_of_work(Delivery, repo=store), sender=sender)
    notifications.start()
    with entrypoint_hook(notifications, "register_webhook", context_data=context(partner("BRAND-1"))) as register:
        hook = register({"url": "http://brand.example/hook", "event_types": ["case.status_changed"]})
    assert hook["audience"] == "partner" and "supplier_refs" not in hook
    with entrypoint_hook(notifications, "on_chain_changed") as on_chain_changed:
        on_chain_changed(make_event(PARTY_CHAIN_CHANGED, "BRAND-1", {
            "partner_ref": "BRAND-1", "chain_version": 1, "suppliers": ["SUP-1"], "sites": [], "agencies": [],
            "changed_at": "2026-11-01T09:00:00.000Z"}, "c"))
    with entrypoint_hook(notifications, "on_case_status_changed") as on_changed:
        for ref in ("SUP-1", "SUP-2"):
            on_changed(make_event(CASE_STATUS_CHANGED, f"ILM-{ref}", {
                "from_status": "received", "to_status": "triaged", "case_version": 2, "severity": "normal",
                "work_area": "working_conditions", "supplier_ref": ref, "site_ref": None,
                "business_ref": None, "business_type": None, "actor": {"id": "cw", "role": "case_worker"},
                "changed_at": "2026-11-01T09:00:00.000Z"}, "c"))
    assert [store.load(p["id"])["case_ref"] for p in sender.posts] == ["ILM-SUP-1"]
    with pytest.raises(InvalidInput):    # a business registers for its own cases, never for alerts
        with entrypoint_hook(notifications, "register_webhook", context_data=context(supplier("SUP-1"))) as register:
            register({"url": "http://accused.example/hook", "event_types": ["retaliation.reported"]})
    with pytest.raises(Forbidden):       # and a worker not at all
        with entrypoint_hook(notifications, "register_webhook", context_data=context(worker("ILM-1"))) as register:
            register({"url": "http://accused.example/hook", "event_types": ["case.status_changed"]})


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://2130706433/",
                                 "http://rebound.example/hook", "http://user:pw@lead.example/"])
def test_registration_refuses_an_endpoint_inside_the_network_and_stores_nothing(container_factory, make_config,
                                                                                url):
    store = FakeNotificationStore()
    notifications = container_factory(NotificationsService, make_config())
    replace_dependencies(notifications, deliveries=unit_of_work(Delivery, repo=store), sender=GuardedSender(store))
    notifications.start()
    with pytest.raises(InvalidInput) as refused:
        with entrypoint_hook(notifications, "register_webhook", context_data=context(SAFEGUARDING)) as register:
            register({"url": url, "event_types": ["retaliation.reported"]})
    assert set(refused.value.errors) == {"url"} and store.subs == {}
