"""Prometheus metrics: every name the system exports is declared here, once.

Served by the ops endpoint (shared/ops.py, ``/metrics``) of each service process.
Labels never carry case references or anything else unbounded or identifying.
"""
from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "ilm_events_published_total", "Events published from outboxes (with confirms).", ["event_type"])
EVENTS_PUBLISH_FAILED = Counter(
    "ilm_events_publish_failed_total", "Outbox publishes that failed and were left for the sweep.",
    ["event_type"])
EVENTS_CONSUMED = Counter(
    "ilm_events_consumed_total",
    "Events consumed, by outcome: ok, retried, dead_lettered (handler failed for good), rejected (bad body).",
    ["event_type", "outcome"])
ENTRYPOINT_SECONDS = Histogram(
    "ilm_entrypoint_seconds", "Time spent in an entrypoint (RPC latency is kind=rpc).",
    ["entrypoint", "kind"], buckets=(.001, .0025, .005, .01, .015, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
WEBHOOK_ATTEMPTS = Counter(
    "ilm_webhook_attempts_total", "Webhook delivery attempts, by outcome: delivered, retry, failed.",
    ["webhook_type", "outcome", "urgent"])
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "ilm_webhook_endpoints_disabled_total", "Webhook endpoints disabled (410 Gone, or failing for the configured period).")
RETALIATION_ALERT_SECONDS = Histogram(
    "ilm_retaliation_alert_latency_seconds",
    "From the retaliation report being accepted to a partner endpoint acknowledging the alert.",
    buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300))
OPEN_CASES = Gauge("ilm_open_cases", "Cases in each open state.", ["status"])
OVERDUE_DEADLINES = Gauge("ilm_overdue_deadlines", "Open cases past a deadline not yet met.", ["deadline"])
ESCALATED_CASES = Gauge("ilm_escalated_cases", "Open cases by the escalation level their current deadlines reached.",
                        ["level"])
REVISION_CONFLICTS_EXHAUSTED = Counter(
    "ilm_revision_conflicts_exhausted_total",
    "Writes that lost the revision race on every retry (raised to the caller; an event is retried later).",
    ["collection"])
DEAD_LETTERS_REPLAYED = Counter(
    "ilm_dead_letters_replayed_total", "Dead letters an operator replayed (shared/dead_letters.py), by event type.",
    ["event_type"])
DEAD_LETTERS = Gauge("ilm_dead_letters", "Messages waiting in the dead-letter queue (recounted by every service "
                                         "each METRICS_REFRESH_INTERVAL, and by the ops command when it lists).")
