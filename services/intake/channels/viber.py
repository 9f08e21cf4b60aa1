"""Viber bot API: callbacks in, send_message out.

https://developers.viber.com/docs/api/rest-bot-api/ (callbacks, send message).
"""
from __future__ import annotations

import json
from typing import Mapping

from services.intake.channels.base import (
    Adapter, Inbound, Outbound, check_signature, configured, field, header, hmac_digest, load_json,
    within)

# Viber's names where the others say it differently.
MEDIA_TYPES = {"picture": "image"}


def signature(auth_token: str, body: bytes) -> str:
    """X-Viber-Content-Signature: hex HMAC-SHA256 of the raw body with the auth token."""
    return hmac_digest(auth_token, body).hex()


class Viber(Adapter):
    channel = "viber"
    max_text = 7000

    def verify(self, settings, url: str, headers: Mapping[str, str], body: bytes) -> None:
        token = settings.viber_auth_token
        given = header(headers, "x-viber-content-signature")
        check_signature(token, given and given.strip().lower(), lambda: signature(token, body))

    def parse(self, body: bytes) -> list[Inbound]:
        data = load_json(body)
        # delivered, seen, failed, subscribed, unsubscribed, conversation_started and
        # the webhook set-up call carry no message from the worker.
        if field(data, "event", str) != "message":
            return []
        message = field(data, "message")
        kind = field(message, "type", str)
        common = {"channel": self.channel, "message_id": field(data, "message_token", str),
                  "chat_id": field(field(data, "sender"), "id", str)}
        if kind == "text":     # keyboard buttons of type "reply" also arrive as text
            return [Inbound(kind="text", text=field(message, "text", str), **common)]
        return [Inbound(kind="unsupported", text=None, media_type=MEDIA_TYPES.get(kind, kind), **common)]

    def outbound(self, settings, chat_id: str, text: str, account: str | None = None) -> Outbound:
        """Only to a subscribed user (one who wrote to the bot)."""
        token = configured(settings.viber_auth_token, "VIBER_AUTH_TOKEN")
        return Outbound("POST", f"{settings.viber_api_base.rstrip('/')}/pa/send_message",
                        {"X-Viber-Auth-Token": token, "Content-Type": "application/json"},
                        json={"receiver": chat_id, "min_api_version": 1, "type": "text",
                              "sender": {"name": settings.viber_sender_name[:28]},
                              "text": within(text, self.max_text, self.channel)})

    def accepted(self, status: int, body: bytes) -> bool:
        """Viber answers HTTP 200 to refusals too: its own status 0 means sent."""
        try:
            return status == 200 and json.loads(body).get("status") == 0
        except (ValueError, AttributeError):
            return False


ADAPTER = Viber()
