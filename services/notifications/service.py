"""Notifications: partners register webhook endpoints; matching events are delivered
signed, retried with back-off, and logged. Entrypoints only; use cases are in
handlers.py, rules in domain.py.

A partner's endpoints cover its supply chain as the party registry (remediation)
publishes it: ``party.chain_changed`` keeps the ``chains`` projection here.

Two services, each its own process (shared/runner.py): ``notifications`` handles
case updates, registrations and retries; ``notifications_alerts`` is the retaliation
lane, with its own queue, connection, worker pool and Deployment, so no backlog of
ordinary events (nor slow partner endpoints holding ordinary workers) can delay an
alert.
"""
from services.notifications import backup_handlers, handlers
from services.notifications.backup import AlertWatch, BackupSend
from services.notifications.backup_sender import BackupChannel
from services.notifications.domain import Delivery
from services.notifications.store import AlertWatchStore, BackupSendStore, NotificationStore
from services.notifications.webhooks import WebhookSender
from shared.contracts import rpc as contract
from shared.contracts.common import BUSINESS_ROLES, PARTNER_ROLES, STAFF_ROLES
from shared.contracts.events import (
    CASE_DEADLINE_ESCALATED, CASE_STATUS_CHANGED, PARTY_CHAIN_CHANGED, RETALIATION_REPORTED,
    SAFEGUARDING_ALERT_UNACKNOWLEDGED, utc_now,
)
from shared.contracts.events import VOICE_SUPPRESSION_SUSPECTED
from shared.logging import get_logger
from shared.messaging import on_event
from shared.rpc import command, query
from shared.service import ServiceBase, every
from shared.unit_of_work import Aggregates

log = get_logger(__name__)
# Who may own an endpoint (and act on it: only its owner, or staff; shared/rpc.py checks
# the role, handlers._owned the ownership).
OWNERS = PARTNER_ROLES + BUSINESS_ROLES + STAFF_ROLES


class NotificationsService(ServiceBase):
    name = "notifications"

    deliveries = Aggregates(NotificationStore, Delivery)
    sender = WebhookSender()

    @command(contract.RegisterWebhook, allow=PARTNER_ROLES + BUSINESS_ROLES + ("safeguarding_lead",))
    def register_webhook(self, p, actor):
        handlers.audience_for(actor, p["event_types"])   # what the caller may not subscribe to: before any lookup
        self.sender.check_url(p["url"])   # SSRF guard (egress.py), before anything is stored
        return handlers.register_webhook(self.deliveries, self.sender, p, actor, utc_now())

    @query(contract.ListWebhooks, allow=OWNERS)
    def list_webhooks(self, p, actor):
        return handlers.list_webhooks(self.deliveries, p, actor)

    @query(contract.ListDeliveries, allow=OWNERS)
    def list_deliveries(self, p, actor):
        return handlers.list_deliveries(self.deliveries, p, actor)

    @command(contract.WebhookRef, allow=OWNERS)
    def delete_webhook(self, p, actor):
        return handlers.delete_webhook(self.deliveries, self.sender, p, actor)

    @command(contract.WebhookRef, allow=OWNERS)
    def enable_webhook(self, p, actor):
        return handlers.enable_webhook(self.deliveries, self.sender, p, actor, utc_now())

    @command(contract.WebhookRef, allow=OWNERS)
    def rotate_webhook_secret(self, p, actor):
        return handlers.rotate_secret(self.deliveries, self.sender, p, actor, utc_now())

    @command(contract.ReplayDelivery, allow=OWNERS)
    def replay_delivery(self, p, actor):
        return handlers.replay_delivery(self.deliveries, p, actor, utc_now())

    @command(contract.ReplayDeliveries, allow=OWNERS)
    def replay_deliveries(self, p, actor):
        return handlers.replay_deliveries(self.deliveries, p, actor, utc_now())

    @on_event(CASE_STATUS_CHANGED)
    def on_case_status_changed(self, event):
        handlers.fan_out(self.deliveries, self.sender, event, background=self.sender.background)

    @on_event(CASE_DEADLINE_ESCALATED)
    def on_deadline_escalated(self, event):
        handlers.fan_out(self.deliveries, self.sender, event, background=self.sender.background)

    @on_event(VOICE_SUPPRESSION_SUSPECTED)
    def on_voice_suppression_suspected(self, event):
        handlers.fan_out(self.deliveries, self.sender, event, background=self.sender.background)

    @on_event(PARTY_CHAIN_CHANGED)
    def on_chain_changed(self, event):
        handlers.project_chain(self.deliveries, self.sender, event)

    @every("webhook_retry_interval")
    def retry_due_deliveries(self):
        handlers.retry_due(self.deliveries, self.sender)


class AlertLaneService(ServiceBase):
    name = "notifications_alerts"
    lane = "alerts"   # the runner gives it its own worker pool (ALERT_MAX_WORKERS)

    deliveries = Aggregates(NotificationStore, Delivery)
    sender = WebhookSender(cache_seconds=0)
    # The backup contact channel (backup.py): e-mail and SMS when nobody takes an alert up.
    backup_sends = Aggregates(BackupSendStore, BackupSend)
    watches = Aggregates(AlertWatchStore, AlertWatch)
    backup = BackupChannel()

    @on_event(RETALIATION_REPORTED)
    def on_retaliation_reported(self, event):
        # Sends run in the sender's pool: this worker is free again once they are stored.
        ids = handlers.fan_out(self.deliveries, self.sender, event, urgent=True, background=self.sender.background)
        log.warning("retaliation_alert_dispatched", deliveries=len(ids))
        backup_handlers.watch_alert(self.watches, event, utc_now(), self.backup.after_seconds)

    @on_event(SAFEGUARDING_ALERT_UNACKNOWLEDGED)
    def on_alert_unacknowledged(self, event):
        backup_handlers.on_unacknowledged(self.backup_sends, self.backup, event)

    @every("webhook_retry_interval")
    def retry_due_alerts(self):
        handlers.retry_due(self.deliveries, self.sender, urgent_only=True)

    @every("webhook_retry_interval")
    def backup_sweep(self):
        backup_handlers.check_watches(self.watches, self.deliveries.repo, self.backup_sends, self.backup)
        backup_handlers.tell_disabled_owners(self.deliveries.repo, self.backup_sends, self.backup)
        backup_handlers.send_due(self.backup_sends, self.backup)
