"""The chat providers' webhooks: one URL per channel (/channels/<channel>).

A request's signature is verified over its raw bytes before anything is parsed or
stored (401, nothing stored); a signed body that is not the provider's shape is 400;
each message in it is then handled once (services/intake/conversation.py). An outage
answers 503 and the provider delivers again: messages already taken are skipped.
"""
from __future__ import annotations

from datetime import datetime

from werkzeug.wrappers import Response

from services.intake import conversation
from services.intake.channels import adapter_for
from services.intake.channels.base import BadPayload, BadSignature
from shared.errors import InvalidInput, NotFound, Unauthorized
from shared.json_body import body_bytes

# Twilio reads the answer as TwiML: an empty Response sends nothing back by itself
# (the reply goes through the send API like every other channel's).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _adapter(channel: str):
    try:
        return adapter_for(channel)
    except KeyError:
        raise NotFound(f"no chat channel {channel!r}") from None


def take_webhook(chat: conversation.Chat, cfg, channel: str, request, now: datetime) -> Response:
    adapter = _adapter(channel)
    raw = body_bytes(request, json_only=False)
    # Twilio signs the URL it called: behind a proxy that is the public one, configured.
    url = (cfg.sms_webhook_url or request.url) if channel == "sms" else request.url
    try:
        adapter.verify(cfg, url, request.headers, raw)
    except BadSignature:
        raise Unauthorized("signature not recognised") from None
    try:
        inbound = adapter.parse(raw)
    except BadPayload as exc:
        raise InvalidInput({"body": [str(exc) or f"not a {channel} webhook body"]}) from None
    for message in inbound:
        conversation.receive(chat, message, now)
    if channel == "sms":
        return Response(EMPTY_TWIML, status=200, mimetype="text/xml")
    return Response("{}", status=200, mimetype="application/json")


def handshake(cfg, channel: str, request) -> Response:
    """Meta's GET verification (WhatsApp, Messenger): echo hub.challenge to the owner of the verify token."""
    adapter = _adapter(channel)
    if not hasattr(adapter, "handshake"):
        raise NotFound(f"{channel} has no verification handshake")
    try:
        return Response(adapter.handshake(cfg, request.args), status=200, mimetype="text/plain")
    except BadSignature:
        raise Unauthorized("verify token not recognised") from None
