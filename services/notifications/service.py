"""Notifications: partners register webhook endpoints; matching events are delivered
signed, retried with back-off, and logged.

Two nameko services share this process and database but nothing else:
``notifications`` handles case updates and retries; ``notifications_alerts`` is
the retaliation lane, with its own queue, AMQP connection and worker pool, so no
backlog of ordinary events (nor slow partner endpoints holding ordinary workers)
can delay an alert.
"""
import uuid

from nameko.timer import timer

from services.notifications.delivery import WebhookSender, fan_out, retry_due
from services.notifications.domain import Delivery, Subscription, new_secret
from services.notifications.store import NotificationStore
from shared.context import RequestContext
from shared.contracts import rpc as contract
from shared.contracts.events import CASE_STATUS_CHANGED, RETALIATION_REPORTED, iso, utc_now
from shared.errors import InvalidInput
from shared.logging import get_logger
from shared.rpc import command
from shared.messaging import on_event
from shared.store import Store

log = get_logger(__name__)


class NotificationsService:
    name = "notifications"

    ctx = RequestContext()
    store = Store(NotificationStore)
    sender = WebhookSender()

    @command(contract.RegisterWebhook)
    def register_webhook(self, p):
        if p["audience"] == "partner" and not p["supplier_refs"]:
            raise InvalidInput({"supplier_refs": ["a partner subscription names its supply chain"]})
        sub_id = "sub_" + uuid.uuid4().hex
        secret = new_secret()
        sub = Subscription(subscription_id=sub_id, partner_id=p["partner_id"], url=p["url"],
                           event_types=p["event_types"], audience=p["audience"],
                           supplier_refs=p["supplier_refs"],
                           sealed_secret=self.sender.seal_secret(secret, sub_id), created_at=iso(utc_now()))
        self.store.add_subscription(sub.__dict__)
        self.sender.forget_subscriptions()
        log.info("webhook_registered", subscription_id=sub_id, partner_id=p["partner_id"])
        # The secret is shown once, here; it is stored only sealed.
        return {**sub.public_view(), "secret": secret}

    @command(contract.ListDeliveries)
    def list_deliveries(self, p):
        return [{k: v for k, v in Delivery.from_dict(d).to_dict().items() if k != "body"}
                for d in self.store.deliveries_for(p["subscription_id"])]

    @on_event(CASE_STATUS_CHANGED)
    def on_case_status_changed(self, event):
        fan_out(self.store, self.sender, event)

    @timer(interval=1.0)
    def retry_due_deliveries(self):
        retry_due(self.store, self.sender)


class AlertLaneService:
    name = "notifications_alerts"
    lane = "alerts"   # the runner gives it its own worker pool (ALERT_MAX_WORKERS)

    ctx = RequestContext()
    store = Store(NotificationStore)
    sender = WebhookSender()

    @on_event(RETALIATION_REPORTED)
    def on_retaliation_reported(self, event):
        ids = fan_out(self.store, self.sender, event, urgent=True)
        log.warning("retaliation_alert_dispatched", deliveries=len(ids))

    @timer(interval=1.0)
    def retry_due_alerts(self):
        retry_due(self.store, self.sender, urgent_only=True)


SERVICES = [NotificationsService, AlertLaneService]
