"""The declaration of a setting, the parsers every setting is read with (flag, number,
number_list), and blocks of their own that shared/config.py lists with the rest, e.g.
the chat providers' settings (services/intake/channels reads them) and worker
validation's rules (services/validation/rules.py)."""
from __future__ import annotations

from dataclasses import dataclass

from shared.errors import ConfigError


@dataclass(frozen=True)
class Var:
    name: str
    default: str | None
    doc: str
    secret: bool = False


# The one parser of each kind of setting (shared/config.py reads its own with them too).
# Each takes ``raw`` (a setting's value or default by name) and the setting's name, and
# refuses a bad value with a ConfigError naming it: a typo must not pass for a default.

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def flag(raw, name: str) -> bool:
    value = (raw(name) or "").strip().lower()
    if value not in _TRUE + _FALSE:
        raise ConfigError(f"{name} must be true or false")
    return value in _TRUE


def _kind(kind) -> str:
    return "an integer" if kind is int else "a number"


def number(raw, name: str, kind=float):
    value = raw(name)
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be {_kind(kind)}, got {value!r}") from exc


def number_list(raw, name: str, kind=float, count: int | None = None) -> tuple:
    """Comma-separated numbers, none negative, at least one (exactly ``count`` if given)."""
    try:
        values = tuple(kind(p) for p in _listed(raw(name) or ""))
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated numbers ({_kind(kind)} each)") from exc
    if not values or count is not None and len(values) != count:
        raise ConfigError(f"{name} must list {count or 'at least one'} comma-separated number{'s' if count else ''}")
    if any(v < 0 for v in values):
        raise ConfigError(f"{name} must not be negative")
    return values


def _listed(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


# The workers' chat providers (services/intake/channels); an empty secret turns its channel off.
CHANNEL_VARIABLES: tuple[Var, ...] = (
    Var("LINE_CHANNEL_SECRET", "", "LINE channel secret: verifies x-line-signature of LINE webhooks.", True),
    Var("LINE_CHANNEL_TOKEN", "", "LINE channel access token (bearer) for the push API.", True),
    Var("LINE_API_BASE", "https://api.line.me", "Base URL of the LINE Messaging API."),
    Var("META_APP_SECRET", "", "Meta app secret: verifies X-Hub-Signature-256 of WhatsApp and Messenger webhooks.", True),
    Var("META_VERIFY_TOKEN", "", "Token Meta echoes in the webhook GET handshake (hub.verify_token).", True),
    Var("WHATSAPP_TOKEN", "", "WhatsApp Cloud API access token (bearer).", True),
    Var("MESSENGER_PAGE_TOKEN", "", "Facebook page access token for the Messenger send API.", True),
    Var("GRAPH_API_BASE", "https://graph.facebook.com/v21.0", "Base URL (with version) of Meta's Graph API."),
    Var("VIBER_AUTH_TOKEN", "", "Viber bot auth token: signs Viber callbacks and authenticates sends.", True),
    Var("VIBER_SENDER_NAME", "ILM", "Sender name shown on Viber messages (at most 28 characters)."),
    Var("VIBER_API_BASE", "https://chatapi.viber.com", "Base URL of the Viber bot API."),
    Var("TWILIO_ACCOUNT_SID", "", "Twilio account SID (AC...): the SMS API's account and basic-auth user."),
    Var("TWILIO_AUTH_TOKEN", "", "Twilio auth token: verifies X-Twilio-Signature and authenticates sends.", True),
    Var("TWILIO_FROM", "", "Number (E.164) SMS are sent from when no receiving number is known."),
    Var("TWILIO_API_BASE", "https://api.twilio.com", "Base URL of the Twilio REST API."),
    Var("SMS_WEBHOOK_URL", "", "Public URL Twilio calls for inbound SMS (its signature covers it); empty: the URL intake saw."),
)


# Worker validation (services/validation/rules.py): who is asked, what decides a round.
VALIDATION_VARIABLES: tuple[Var, ...] = (
    Var("VALIDATION_SAMPLE_ABOVE", "10", "Affected workers a round asks all of; above this it asks a random sample."),
    Var("VALIDATION_SAMPLE_MIN", "5", "Smallest sample a round asks (when the affected workers are more than VALIDATION_SAMPLE_ABOVE)."),
    Var("VALIDATION_SAMPLE_SHARE", "0.5", "Share of the affected workers a sampled round asks (rounded up, at least VALIDATION_SAMPLE_MIN)."),
    Var("VALIDATION_QUORUM_SHARE", "0.6", "Share of those asked who must answer before a round decides (rounded up, at least 1)."),
    Var("VALIDATION_REOPEN_SHARE", "0.2", "A round reopens remediation when more than this share of the answers are not_resolved or partly."),
    Var("VALIDATION_CONFIRM_SHARE", "0.8", "A round passes (the case may close) when at least this share of the answers are confirmed and none is unsafe or reports retaliation."),
    Var("VALIDATION_ROUND_DAYS", "14", "Days the workers have to answer a round before a reminder."),
    Var("VALIDATION_REMINDER_DAYS", "7", "Days after the reminder before the round expires (a case worker may then rerun it)."),
    Var("VALIDATION_SWEEP_SECONDS", "3600", "Seconds between looks for validation rounds past their deadline (validation)."),
)
# VALIDATION_<NAME> -> Rules field and type (the sweep interval is a Settings field of its own).
VALIDATION_RULES = {"SAMPLE_ABOVE": int, "SAMPLE_MIN": int, "SAMPLE_SHARE": float, "QUORUM_SHARE": float,
                    "REOPEN_SHARE": float, "CONFIRM_SHARE": float, "ROUND_DAYS": float, "REMINDER_DAYS": float}


def validation_rules(raw) -> dict:
    """The Rules fields from the environment (``raw(name)``: its value or default)."""
    rules = {}
    for name, kind in VALIDATION_RULES.items():
        rules[name.lower()] = number(raw, "VALIDATION_" + name, kind)
        if name.endswith("SHARE") and not 0 <= rules[name.lower()] <= 1:
            raise ConfigError(f"VALIDATION_{name} must be between 0 and 1")
    return rules


# Where partner webhooks may go (services/notifications/egress.py). The local run and
# the tests deliver to a receiver on 127.0.0.1 over http: they turn the first two on.
WEBHOOK_VARIABLES: tuple[Var, ...] = (
    Var("WEBHOOK_ALLOW_HTTP", "false", "Accept http:// webhook URLs (local runs only; production requires https)."),
    Var("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "false", "Deliver webhooks to loopback, private, link-local and other non-public addresses (local runs and tests only)."),
    Var("WEBHOOK_ALLOWED_PORTS", "443,8443", "Ports a webhook URL may name (comma-separated), or `any`."),
    Var("WEBHOOK_ENDPOINT_CONCURRENCY", "4", "Webhook requests in flight at once to one endpoint host (per process); more wait their turn."),
)


def webhook_egress(raw) -> dict:
    """The Policy fields (services/notifications/egress.py) and the per-endpoint limit."""
    ports = raw("WEBHOOK_ALLOWED_PORTS").strip().lower()
    allowed = None if ports == "any" else frozenset(number_list(raw, "WEBHOOK_ALLOWED_PORTS", int))
    concurrency = number(raw, "WEBHOOK_ENDPOINT_CONCURRENCY", int)
    if concurrency < 1:
        raise ConfigError("WEBHOOK_ENDPOINT_CONCURRENCY must be at least 1")
    return {"allow_http": flag(raw, "WEBHOOK_ALLOW_HTTP"), "allow_private": flag(raw, "WEBHOOK_ALLOW_PRIVATE_NETWORKS"),
            "ports": allowed, "concurrency": concurrency}


# The public report's disclosure control (services/remediation/disclosure.py).
REPORT_VARIABLES: tuple[Var, ...] = (
    Var("REPORT_SUPPRESS_BELOW", "10", "Published counts from 1 to this minus one are suppressed (with the complementary cells that would give them away)."),
    Var("REPORT_PROTECTION_WIDTH", "5", "A table is released only if every suppressed figure could lie anywhere in a range at least this wide, given everything published."),
)


def report_disclosure(raw) -> dict:
    threshold, width = number(raw, "REPORT_SUPPRESS_BELOW", int), number(raw, "REPORT_PROTECTION_WIDTH")
    if threshold < 1 or width < 0:
        raise ConfigError("REPORT_SUPPRESS_BELOW must be at least 1 and REPORT_PROTECTION_WIDTH not negative")
    return {"threshold": threshold, "width": width}


# Safeguarding alerts nobody takes up (services/remediation/safeguarding.py) and the backup
# contact channel that tells someone (services/notifications/backup.py): e-mail over SMTP
# and SMS through a Twilio-shaped API with notifications' own credentials (intake's chat
# credentials stay intake's). No contact set: nothing is sent (logged).
BACKUP_VARIABLES: tuple[Var, ...] = (
    Var("SAFEGUARDING_ACK_MINUTES", "15", "Minutes an alert may wait unacknowledged before the backup contact is told (decimals allowed)."),
    Var("SAFEGUARDING_SWEEP_SECONDS", "5", "Seconds between looks for alerts waiting unacknowledged past SAFEGUARDING_ACK_MINUTES (remediation)."),
    Var("ALERT_BACKUP_AFTER_SECONDS", "20", "A retaliation alert no safeguarding webhook recipient received within this many seconds goes to the backup contact (20: reached within 30 s with the sweep and the mail)."),
    Var("BACKUP_CONTACT_EMAILS", "", "Backup contacts' e-mail addresses (comma-separated)."),
    Var("BACKUP_CONTACT_PHONES", "", "Backup contacts' phone numbers for SMS, E.164 (comma-separated)."),
    Var("BACKUP_RETRY_SCHEDULE", "0,30,120,600,1800", "Seconds before each try of a backup message (comma-separated; their count the tries before it is kept as failed)."),
    Var("SMTP_HOST", "", "SMTP server for backup e-mail (empty: no e-mail)."),
    Var("SMTP_PORT", "587", "SMTP server port."),
    Var("SMTP_TLS", "true", "Use STARTTLS with the SMTP server (false only for a local sink)."),
    Var("SMTP_USER", "", "SMTP login (empty: none)."),
    Var("SMTP_PASSWORD", "", "SMTP password.", True),
    Var("SMTP_FROM", "ilm-safeguarding@localhost", "Sender address of backup e-mail."),
    Var("BACKUP_SMS_ACCOUNT_SID", "", "Twilio account SID for backup SMS (notifications' own; empty: no SMS)."),
    Var("BACKUP_SMS_AUTH_TOKEN", "", "Twilio auth token for backup SMS.", True),
    Var("BACKUP_SMS_FROM", "", "Number (E.164) backup SMS are sent from."),
    Var("BACKUP_SMS_API_BASE", "https://api.twilio.com", "Base URL of the Twilio-shaped SMS API for backup SMS."),
)


def backup_channel(raw) -> dict:
    """The backup channel's settings (services/notifications/backup_sender.py)."""
    numbers = {n: number(raw, n) for n in ("SAFEGUARDING_ACK_MINUTES", "SAFEGUARDING_SWEEP_SECONDS",
                                            "ALERT_BACKUP_AFTER_SECONDS")}
    retry = number_list(raw, "BACKUP_RETRY_SCHEDULE")
    port = number(raw, "SMTP_PORT", int)
    if any(v < 0 for v in numbers.values()):
        raise ConfigError("SAFEGUARDING_ACK_MINUTES, SAFEGUARDING_SWEEP_SECONDS and ALERT_BACKUP_AFTER_SECONDS "
                          "must not be negative")
    return {"ack_minutes": numbers["SAFEGUARDING_ACK_MINUTES"], "sweep_seconds": numbers["SAFEGUARDING_SWEEP_SECONDS"],
            "after_seconds": numbers["ALERT_BACKUP_AFTER_SECONDS"], "retry": retry,
            "emails": _listed(raw("BACKUP_CONTACT_EMAILS")), "phones": _listed(raw("BACKUP_CONTACT_PHONES")),
            "smtp": {"host": raw("SMTP_HOST"), "port": port, "tls": flag(raw, "SMTP_TLS"),
                     "user": raw("SMTP_USER"), "password": raw("SMTP_PASSWORD"), "sender": raw("SMTP_FROM")},
            "sms": {"account_sid": raw("BACKUP_SMS_ACCOUNT_SID"), "auth_token": raw("BACKUP_SMS_AUTH_TOKEN"),
                    "sender": raw("BACKUP_SMS_FROM"), "api_base": raw("BACKUP_SMS_API_BASE")}}


# Silent sites (services/remediation/silence.py): a site that used to report and falls silent.
SILENCE_VARIABLES: tuple[Var, ...] = (
    Var("SILENT_SITE_MIN_MONTHLY", "5", "Grievances a site must have sent in one calendar month before its silence is watched."),
    Var("SILENT_SITE_DAYS", "30", "Days without a grievance after which such a site raises voice_suppression.suspected (decimals allowed: tests compress it)."),
    Var("SILENT_SITE_SWEEP_INTERVAL", "3600", "Seconds between looks for sites fallen silent (remediation)."),
)


def silent_sites(raw) -> dict:
    least, days = number(raw, "SILENT_SITE_MIN_MONTHLY", int), number(raw, "SILENT_SITE_DAYS")
    if least < 1 or days <= 0:
        raise ConfigError("SILENT_SITE_MIN_MONTHLY must be at least 1 and SILENT_SITE_DAYS more than 0")
    return {"min_monthly": least, "days": days}
