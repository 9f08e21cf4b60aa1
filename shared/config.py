"""Configuration from environment variables (12-factor).

Every variable the system reads is declared once in ``VARIABLES`` below; the README
table is generated from the same list (``python -m shared.config``). Services read
``settings()``, never ``os.environ`` directly.
"""
from __future__ import annotations

import base64
import dataclasses
import os
from dataclasses import dataclass
from functools import lru_cache

from nameko.extensions import DependencyProvider

from shared.errors import ConfigError
from shared.variables import (
    CHANNEL_VARIABLES, REPORT_VARIABLES, VALIDATION_VARIABLES, WEBHOOK_VARIABLES, Var, flag, number, number_list,
    report_disclosure, validation_rules, webhook_egress,
)
from shared.variables import BACKUP_VARIABLES, backup_channel
from shared.variables import SILENCE_VARIABLES, silent_sites


VARIABLES: tuple[Var, ...] = (
    Var("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ connection URI."),
    Var("MONGO_URI", "mongodb://127.0.0.1:27017/", "MongoDB URI (nx-27017 locally, MongoDB 7 in compose/k8s)."),
    Var("MONGO_DB_PREFIX", "ilm_", "Each service uses its own database named PREFIX + service."),
    Var("MONGO_TIMEOUT", "0.25", "Seconds to find the store before a request answers 503 (and an event consumer backs off). pymongo waits in 0.5 s steps and may start one more just before this time runs out, so an outage is answered within this + 0.5 s (0.25: 0.5 s measured)."),
    Var("HTTP_ADDRESS", "0.0.0.0:8000", "host:port of the service's HTTP entrypoints (intake)."),
    Var("HTTP_MAX_CONNECTIONS", "100", "HTTP connections served at once by a service's HTTP door; more wait in the listen backlog."),
    Var("HTTP_CLIENT_TIMEOUT", "30", "Seconds an HTTP client may stay silent (slow request or idle keep-alive) before it is dropped."),
    Var("HTTP_MAX_HEADER_BYTES", "16384", "Largest HTTP request line, header line and header block accepted."),
    Var("OPS_ADDRESS", "0.0.0.0:9000", "host:port of /livez, /readyz and /metrics (every service)."),
    Var("MAX_WORKERS", "10", "Concurrent workers (and prefetch) of the ordinary lane."),
    Var("ALERT_MAX_WORKERS", "4", "Concurrent workers of the dedicated retaliation lane."),
    Var("QUEUE_TYPE", "classic", "x-queue-type of event queues: classic, or quorum on production clusters."),
    Var("EVENT_MAX_ATTEMPTS", "5", "Attempts at an event that fails transiently before it is dead-lettered."),
    Var("OUTBOX_RELAY_INTERVAL", "1.0", "Seconds between relay sweeps of unpublished outbox events."),
    Var("OUTBOX_GRACE_SECONDS", "2.0", "Age before the sweep relays an event the request path did not."),
    # Worker identity at rest (intake): envelope encryption, retention, erasure.
    Var("IDENTITY_KEYS", "", "Master keys wrapping each case's data key (intake): id:base64-32-bytes,... (ids [A-Za-z0-9_-]); keep an old id until `python -m services.intake.keys rotate` has rewrapped its data keys.", True),
    Var("IDENTITY_KEY_ID", "", "Id in IDENTITY_KEYS of the master key that wraps new data keys (default: the last listed)."),
    Var("IDENTITY_KEY", "", "Former single master key, id k1 in the keyring (older set-ups): opens v1 tokens sealed before envelope encryption; use IDENTITY_KEYS.", True),
    Var("DEFAULT_PHONE_REGION", "TH", "Region of phone numbers given without a country code (E.164 before the worker pseudonym)."),
    Var("RETENTION_DAYS", "365", "Days after a case is closed or withdrawn before its worker data is crypto-erased."),
    Var("RETENTION_SWEEP_SECONDS", "3600", "Seconds between looks for cases whose retention period is over (intake)."),
    Var("PSEUDONYM_KEY", None, "base64 key of the keyed hash that derives pseudonymous worker keys.", True),
    Var("WEBHOOK_SECRETS_KEY", None, "base64 32-byte key encrypting partners' webhook secrets at rest.", True),
    Var("STAFF_OTP_KEY", None, "base64 32-byte key sealing staff members' TOTP secrets at rest (gateway).", True),
    Var("RECEIPT_PEPPER", None, "base64 32-byte server-side pepper mixed into workers' receipt hashes (intake).", True),
    Var("RECEIPT_FREE_TRIES", "5", "Wrong receipts allowed per case reference and per source before delays start."),
    Var("RECEIPT_SOURCE_FREE_TRIES", "20", "Wrong receipts allowed from one source address before delays start."),
    Var("RECEIPT_LOCK_SECONDS", "2", "First delay after the free tries; it doubles with each further failure (max 1 h)."),
    Var("ACTOR_SIGNING_KEY", None, "base64 Ed25519 seed this service signs actor tokens with (python -m shared.auth); one per service.", True),
    Var("ACTOR_VERIFY_KEYS", None, "Public keys of the token issuers: issuer=base64,... (gateway, intake, remediation, validation, notifications)."),
    Var("ACTOR_TOKEN_TTL", "60", "Seconds an actor token minted between services stays valid (at most 300)."),
    Var("STAFF_TOKEN_TTL", "900", "Seconds a staff access token from POST /v1/auth/login stays valid (gateway)."),
    Var("API_RATE_LIMIT", "600/minute", "Requests per API key or staff account on the gateway (limits syntax)."),
    Var("CONSOLE_HTTPS_PROXY", "false", "true when the gateway is served behind a trusted TLS-terminating proxy: the console's cookies are then Secure for requests it forwards with X-Forwarded-Proto: https."),
    Var("LOGIN_RATE_LIMIT", "10/15 minutes", "Login attempts per account and per source address (gateway)."),
    Var("RATE_LIMIT_STORAGE", "memory://", "Where rate-limit windows live: memory:// (one replica) or a mongodb:// URI."),
    Var("GATEWAY_RPC_TIMEOUT", "10", "Seconds the gateway waits for the service that owns the data."),
    Var("SUBSCRIPTION_CACHE_SECONDS", "2", "How long notifications reuses the list of webhook subscriptions."),
    Var("WEBHOOK_TIMEOUT", "5", "Seconds a webhook delivery attempt may take in all (connect, send, read the answer)."),
    Var("WEBHOOK_RETRY_SCHEDULE", "0,5,300,1800,7200,18000,36000,36000", "Seconds before each webhook delivery attempt (comma-separated; the first is the immediate try, their count the attempts before a delivery is failed). Tests compress it."),
    Var("WEBHOOK_RETRY_JITTER", "0.1", "Share by which each retry wait is moved at random, either way."),
    Var("WEBHOOK_RETRY_AFTER_MAX", "3600", "Longest `Retry-After` (seconds) a receiver's 429/503 may ask for; longer is cut to this."),
    Var("WEBHOOK_SECRET_OVERLAP_SECONDS", "86400", "After a secret rotation, seconds during which the old secret still signs beside the new one."),
    Var("WEBHOOK_CIRCUIT_FAILURES", "5", "Consecutive failed attempts to one endpoint that open its circuit (its deliveries wait instead of being tried)."),
    Var("WEBHOOK_CIRCUIT_COOLDOWN", "60", "Seconds an endpoint's circuit stays open before one probe delivery is tried."),
    Var("WEBHOOK_DISABLE_AFTER_SECONDS", "432000", "An endpoint failing continuously this long (default 5 days) is disabled and its owner told."),
    Var("WEBHOOK_RETRY_INTERVAL", "1.0", "Seconds between looks for webhook deliveries due for a retry."),
    *WEBHOOK_VARIABLES,
    Var("PUBLIC_REPORT_INTERVAL", "300", "Seconds between releases of the public report tables (and the public report, their work area table) from the running counts."),
    *REPORT_VARIABLES,
    *SILENCE_VARIABLES,
    Var("METRICS_REFRESH_INTERVAL", "300", "Seconds between recounts of the open-case and overdue gauges (full counts)."),
    Var("DEADLINES_CRITICAL", "2,7,30", "Days to acknowledge, plan, remediate for critical cases."),
    Var("DEADLINES_HIGH", "5,14,45", "Days to acknowledge, plan, remediate for high-severity cases."),
    Var("DEADLINES_NORMAL", "7,21,60", "Days to acknowledge, plan, remediate for normal cases."),
    Var("ESCALATION_LEVEL_HOURS", "0,72,168", "Hours after a missed deadline's due when escalation levels 1 (business reminded), 2 (its partners told) and 3 (flagged for partner consequences) fire; non-decreasing, decimals allowed."),
    Var("ESCALATION_SWEEP_INTERVAL", "60", "Seconds between looks for cases whose next deadline escalation has come (remediation)."),
    *VALIDATION_VARIABLES,
    Var("CASE_LEASE_SECONDS", "300", "Seconds a staff member's edit lease on a case lasts unless renewed (remediation)."),
    Var("CHAT_SEND_INTERVAL", "1.0", "Seconds between looks for replies due to workers on their chat channels (intake)."),
    *CHANNEL_VARIABLES,
    *BACKUP_VARIABLES,
    Var("LOG_LEVEL", "INFO", "Minimum log level."),
)

# The secrets each service is given (its Secret in Kubernetes, its env file in compose,
# its environment in the local run): only the keys its code uses. notifications, the
# one process that calls URLs chosen by outsiders, never holds a worker-data key but
# its own. Besides these every service gets AMQP_URI (its own broker user), MONGO_URI
# and the public ACTOR_VERIFY_KEYS. The alert lane runs as notifications.
SERVICE_SECRETS: dict[str, tuple[str, ...]] = {
    "intake": ("IDENTITY_KEYS", "IDENTITY_KEY", "PSEUDONYM_KEY", "RECEIPT_PEPPER", "ACTOR_SIGNING_KEY",
               *(v.name for v in CHANNEL_VARIABLES if v.secret)),
    "remediation": ("ACTOR_SIGNING_KEY",),
    "validation": ("ACTOR_SIGNING_KEY",),
    "notifications": ("WEBHOOK_SECRETS_KEY", "ACTOR_SIGNING_KEY", "SMTP_PASSWORD", "BACKUP_SMS_AUTH_TOKEN"),
    "gateway": ("ACTOR_SIGNING_KEY", "STAFF_OTP_KEY"),
}
SECRETS = tuple(v.name for v in VARIABLES if v.secret)
# Still read when set, no longer needed by a new deployment (IDENTITY_KEYS replaces it).
LEGACY_SECRETS = ("IDENTITY_KEY",)


def _raw(name: str) -> str | None:
    var = next(v for v in VARIABLES if v.name == name)
    value = os.environ.get(name, "")
    return value if value != "" else var.default


def _key(name: str) -> bytes:
    raw = _raw(name)
    if not raw:
        raise ConfigError(f"{name} is not set: {next(v.doc for v in VARIABLES if v.name == name)}")
    return _decoded(name, raw)


def _decoded(name: str, raw: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ConfigError(f"{name} is not valid base64") from exc
    if len(key) != 32:
        raise ConfigError(f"{name} must decode to 32 bytes, got {len(key)}")
    return key


def _level_hours(name: str) -> tuple[float, float, float]:
    hours = number_list(_raw, name, count=3)
    if list(hours) != sorted(hours):
        raise ConfigError(f"{name} must be three non-decreasing hour counts")
    return hours


def _days(name: str) -> tuple[float, float, float]:
    """Whole days in production; fractions let a demo or a test watch a deadline pass."""
    return tuple(int(d) if d.is_integer() else d for d in number_list(_raw, name, count=3))


@dataclass(frozen=True)
class Settings:
    amqp_uri: str
    mongo_uri: str
    mongo_db_prefix: str
    mongo_timeout: float
    http_address: str
    http_max_connections: int
    http_client_timeout: float
    http_max_header_bytes: int
    ops_address: str
    max_workers: int
    alert_max_workers: int
    queue_type: str
    event_max_attempts: int
    outbox_relay_interval: float
    outbox_grace_seconds: float
    webhook_timeout: float
    subscription_cache_seconds: float
    webhook_retry_schedule: tuple
    webhook_retry_jitter: float
    webhook_retry_after_max: float
    webhook_secret_overlap_seconds: float
    webhook_circuit_failures: int
    webhook_circuit_cooldown: float
    webhook_disable_after_seconds: float
    webhook_retry_interval: float
    actor_token_ttl: float
    actor_signing_key: str | None     # parsed by shared/auth.py when a service sets up
    actor_verify_keys: str | None
    staff_token_ttl: float
    api_rate_limit: str
    login_rate_limit: str
    rate_limit_storage: str
    gateway_rpc_timeout: float
    receipt_free_tries: int
    receipt_source_free_tries: int
    receipt_lock_seconds: float
    public_report_interval: float
    metrics_refresh_interval: float
    deadlines: dict
    chat_send_interval: float
    log_level: str
    default_phone_region: str
    retention_days: float
    retention_sweep_seconds: float
    channels: dict = dataclasses.field(default_factory=dict)   # CHANNEL_VARIABLES by name
    validation_sweep_seconds: float = 3600.0
    validation_rules: dict = dataclasses.field(default_factory=dict)   # services/validation/rules.py Rules
    webhook_egress: dict = dataclasses.field(default_factory=dict)   # shared/variables.py webhook_egress
    report_disclosure: dict = dataclasses.field(default_factory=dict)   # shared/variables.py report_disclosure
    escalation_level_hours: tuple = (0.0, 72.0, 168.0)
    escalation_sweep_interval: float = 60.0
    console_https_proxy: bool = False
    case_lease_seconds: float = 300.0
    backup: dict = dataclasses.field(default_factory=dict)   # shared/variables.py backup_channel

    # The safeguarding timer's settings, as the @every timer and remediation read them.
    @property
    def safeguarding_ack_minutes(self) -> float:
        return self.backup.get("ack_minutes", 15.0)

    @property
    def safeguarding_sweep_seconds(self) -> float:
        return self.backup.get("sweep_seconds", 5.0)
    silent_sites: dict = dataclasses.field(default_factory=lambda: {"min_monthly": 5, "days": 30.0})
    silent_site_sweep_interval: float = 3600.0

    # Keys are read on first use so that a service only needs the keys it uses.
    @property
    def identity_key(self) -> bytes:
        return _key("IDENTITY_KEY")

    @property
    def pseudonym_key(self) -> bytes:
        return _key("PSEUDONYM_KEY")

    @property
    def webhook_secrets_key(self) -> bytes:
        return _key("WEBHOOK_SECRETS_KEY")

    @property
    def staff_otp_key(self) -> bytes:
        return _key("STAFF_OTP_KEY")

    @property
    def receipt_pepper(self) -> bytes:
        return _key("RECEIPT_PEPPER")

    def replace(self, **changes) -> "Settings":
        """A copy with some values changed (tests vary intervals this way)."""
        return dataclasses.replace(self, **changes)

    def nameko_config(self, max_workers: int | None = None) -> dict:
        """The container config; it carries these settings to every provider."""
        return {
            "AMQP_URI": self.amqp_uri,
            "WEB_SERVER_ADDRESS": self.http_address,
            "max_workers": max_workers or self.max_workers,
            "serializer": "json",
            SETTINGS_KEY: self,
        }


@lru_cache(maxsize=1)
def settings() -> Settings:
    queue_type = _raw("QUEUE_TYPE")
    if queue_type not in ("classic", "quorum"):
        raise ConfigError("QUEUE_TYPE must be classic or quorum")
    return Settings(
        amqp_uri=_raw("AMQP_URI"),
        mongo_uri=_raw("MONGO_URI"),
        mongo_db_prefix=_raw("MONGO_DB_PREFIX"),
        mongo_timeout=number(_raw, "MONGO_TIMEOUT"),
        http_address=_raw("HTTP_ADDRESS"),
        http_max_connections=number(_raw, "HTTP_MAX_CONNECTIONS", int),
        http_client_timeout=number(_raw, "HTTP_CLIENT_TIMEOUT"),
        http_max_header_bytes=number(_raw, "HTTP_MAX_HEADER_BYTES", int),
        ops_address=_raw("OPS_ADDRESS"),
        max_workers=number(_raw, "MAX_WORKERS", int),
        alert_max_workers=number(_raw, "ALERT_MAX_WORKERS", int),
        queue_type=queue_type,
        event_max_attempts=number(_raw, "EVENT_MAX_ATTEMPTS", int),
        outbox_relay_interval=number(_raw, "OUTBOX_RELAY_INTERVAL"),
        outbox_grace_seconds=number(_raw, "OUTBOX_GRACE_SECONDS"),
        webhook_timeout=number(_raw, "WEBHOOK_TIMEOUT"),
        subscription_cache_seconds=number(_raw, "SUBSCRIPTION_CACHE_SECONDS"),
        webhook_retry_schedule=number_list(_raw, "WEBHOOK_RETRY_SCHEDULE"),
        webhook_retry_jitter=number(_raw, "WEBHOOK_RETRY_JITTER"),
        webhook_retry_after_max=number(_raw, "WEBHOOK_RETRY_AFTER_MAX"),
        webhook_secret_overlap_seconds=number(_raw, "WEBHOOK_SECRET_OVERLAP_SECONDS"),
        webhook_circuit_failures=number(_raw, "WEBHOOK_CIRCUIT_FAILURES", int),
        webhook_circuit_cooldown=number(_raw, "WEBHOOK_CIRCUIT_COOLDOWN"),
        webhook_disable_after_seconds=number(_raw, "WEBHOOK_DISABLE_AFTER_SECONDS"),
        webhook_retry_interval=number(_raw, "WEBHOOK_RETRY_INTERVAL"),
        actor_token_ttl=number(_raw, "ACTOR_TOKEN_TTL"),
        actor_signing_key=_raw("ACTOR_SIGNING_KEY"),
        actor_verify_keys=_raw("ACTOR_VERIFY_KEYS"),
        staff_token_ttl=number(_raw, "STAFF_TOKEN_TTL"),
        api_rate_limit=_raw("API_RATE_LIMIT"),
        login_rate_limit=_raw("LOGIN_RATE_LIMIT"),
        rate_limit_storage=_raw("RATE_LIMIT_STORAGE"),
        gateway_rpc_timeout=number(_raw, "GATEWAY_RPC_TIMEOUT"),
        receipt_free_tries=number(_raw, "RECEIPT_FREE_TRIES", int),
        receipt_source_free_tries=number(_raw, "RECEIPT_SOURCE_FREE_TRIES", int),
        receipt_lock_seconds=number(_raw, "RECEIPT_LOCK_SECONDS"),
        public_report_interval=number(_raw, "PUBLIC_REPORT_INTERVAL"),
        metrics_refresh_interval=number(_raw, "METRICS_REFRESH_INTERVAL"),
        deadlines={
            "critical": _days("DEADLINES_CRITICAL"),
            "high": _days("DEADLINES_HIGH"),
            "normal": _days("DEADLINES_NORMAL"),
        },
        chat_send_interval=number(_raw, "CHAT_SEND_INTERVAL"),
        log_level=_raw("LOG_LEVEL").upper(),
        default_phone_region=_raw("DEFAULT_PHONE_REGION").upper(),
        retention_days=number(_raw, "RETENTION_DAYS"),
        retention_sweep_seconds=number(_raw, "RETENTION_SWEEP_SECONDS"),
        channels={v.name: _raw(v.name) or "" for v in CHANNEL_VARIABLES},
        validation_sweep_seconds=number(_raw, "VALIDATION_SWEEP_SECONDS"),
        validation_rules=validation_rules(_raw),
        webhook_egress=webhook_egress(_raw),
        report_disclosure=report_disclosure(_raw),
        escalation_level_hours=_level_hours("ESCALATION_LEVEL_HOURS"),
        escalation_sweep_interval=number(_raw, "ESCALATION_SWEEP_INTERVAL"),
        console_https_proxy=flag(_raw, "CONSOLE_HTTPS_PROXY"),
        case_lease_seconds=number(_raw, "CASE_LEASE_SECONDS"),
        backup=backup_channel(_raw),
        silent_sites=silent_sites(_raw),
        silent_site_sweep_interval=number(_raw, "SILENT_SITE_SWEEP_INTERVAL"),
    )


# settings.line_channel_secret etc. read .channels: tests vary them with replace(channels=...).
for _var in CHANNEL_VARIABLES:
    setattr(Settings, _var.name.lower(), property(lambda self, _n=_var.name: self.channels.get(_n, "")))


SETTINGS_KEY = "ILM_SETTINGS"


def settings_of(container) -> Settings:
    """The settings a container was started with (``nameko_config`` puts them in its
    config), else the environment's. Providers and timers read them at setup, never
    at import, so a test can start a container with other values."""
    found = (getattr(container, "config", None) or {}).get(SETTINGS_KEY)
    return found if isinstance(found, Settings) else settings()


class Config(DependencyProvider):
    """Injects the container's Settings (intervals, deadline policy, limits)."""

    def setup(self):
        self.settings = settings_of(self.container)

    def get_dependency(self, worker_ctx):
        return self.settings


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for v in VARIABLES:
        default = "(required)" if v.default is None else f"`{v.default}`" if v.default else "(empty)"
        rows.append(f"| `{v.name}` | {default} | {v.doc} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
