"""The webhook payloads partners and businesses receive: a public contract, like the
events. Each webhook type carries an allow-list of its event's facts (a field added to
an event later never reaches a receiver by accident, and nothing identifying a
worker is on any list), and its JSON schema is published in the gateway's OpenAPI
document under ``webhooks`` (OpenAPI 3.1), derived from the event contract itself.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.contracts.common import Ref
from shared.contracts.events import (
    CASE_DEADLINE_ESCALATED, CASE_STATUS_CHANGED, CATALOGUE, RETALIATION_REPORTED, VOICE_SUPPRESSION_SUSPECTED,
)

# Webhook type -> the data fields a receiver may see (besides ``case_ref``).
ALLOWED_FIELDS = {
    CASE_STATUS_CHANGED.name: ("from_status", "to_status", "case_version", "severity", "work_area",
                               "supplier_ref", "site_ref", "business_ref", "business_type", "changed_at"),
    CASE_DEADLINE_ESCALATED.name: ("deadline", "level", "due", "escalated_at", "severity", "work_area",
                                   "supplier_ref", "site_ref", "business_ref", "business_type"),
    RETALIATION_REPORTED.name: ("alert_id", "raised_from", "work_area", "supplier_ref", "site_ref",
                                "reported_at"),
    # A site fell silent (remediation's silence.py); its ``case_ref`` is the site's ref.
    VOICE_SUPPRESSION_SUSPECTED.name: ("site_ref", "supplier_ref", "business_ref", "busiest_month",
                                       "busiest_month_count", "last_grievance_at", "silent_days", "suspected_at"),
}
HEADERS = {
    "webhook-id": "The delivery's id: the same on every retry and replay (deduplicate on it).",
    "webhook-timestamp": "Seconds since the epoch when this attempt was signed.",
    "webhook-signature": "Space-separated `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` with the "
                         "endpoint's secret (two during a rotation's overlap). Standard Webhooks.",
}


def payload_schema(webhook_type: str) -> type[Schema]:
    """The body of one webhook type, as a marshmallow schema (named for the docs)."""
    contract = next(c for c in CATALOGUE.values() if c.name == webhook_type)
    data_fields = {name: field for name, field in contract.data_schema().fields.items()
                   if name in ALLOWED_FIELDS[webhook_type]}
    name = "".join(part.title() for part in webhook_type.replace(".", "_").split("_"))
    data = Schema.from_dict({"case_ref": Ref(required=True), **data_fields}, name=f"{name}Data")
    return Schema.from_dict({
        "type": fields.String(required=True, validate=validate.OneOf([webhook_type])),
        "version": fields.Integer(required=True, validate=validate.OneOf([contract.version])),
        "timestamp": fields.String(required=True, metadata={"description": "When the event occurred (ISO 8601)."}),
        "data": fields.Nested(data, required=True),
    }, name=f"{name}Webhook")
