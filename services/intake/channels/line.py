"""LINE Messaging API: webhook events in, push messages out.

https://developers.line.biz/en/reference/messaging-api/ (webhook event objects,
signature validation, push message).
"""
from __future__ import annotations

from typing import Mapping

from services.intake.channels.base import (
    Adapter, Inbound, Outbound, b64, check_signature, configured, field, header, hmac_digest,
    items, load_json, within)


def signature(secret: str, body: bytes) -> str:
    """x-line-signature: base64 HMAC-SHA256 of the raw body with the channel secret."""
    return b64(hmac_digest(secret, body))


class Line(Adapter):
    channel = "line"
    max_text = 5000

    def verify(self, settings, url: str, headers: Mapping[str, str], body: bytes) -> None:
        secret = settings.line_channel_secret
        check_signature(secret, header(headers, "x-line-signature"), lambda: signature(secret, body))

    def parse(self, body: bytes) -> list[Inbound]:
        data = load_json(body)
        field(data, "events", list)      # present, though empty when the console verifies the URL
        account = data.get("destination") if isinstance(data.get("destination"), str) else None
        found = []
        for event in items(data, "events"):
            # Only what a worker sends us one to one. follow/unfollow/unsend, group chats
            # (a grievance is not for a group) and standby mode (another module is
            # answering) are acknowledged and ignored.
            if event.get("type") not in ("message", "postback") or event.get("mode", "active") != "active":
                continue
            source = field(event, "source")
            if source.get("type") != "user":
                continue
            common = {"channel": self.channel, "message_id": field(event, "webhookEventId", str),
                      "chat_id": field(source, "userId", str), "account": account}
            if event["type"] == "postback":
                payload = field(field(event, "postback"), "data", str)
                found.append(Inbound(kind="quick_reply", text=None, payload=payload, **common))
                continue
            message = field(event, "message")
            kind = field(message, "type", str)
            if kind == "text":
                found.append(Inbound(kind="text", text=field(message, "text", str), **common))
            else:
                found.append(Inbound(kind="unsupported", text=None, media_type=kind, **common))
        return found

    def outbound(self, settings, chat_id: str, text: str, account: str | None = None) -> Outbound:
        """A push message (a reply token lasts about a minute; pushes work any time)."""
        token = configured(settings.line_channel_token, "LINE_CHANNEL_TOKEN")
        return Outbound("POST", f"{settings.line_api_base.rstrip('/')}/v2/bot/message/push",
                        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                        json={"to": chat_id, "messages": [{"type": "text", "text": within(text, self.max_text, self.channel)}]})


ADAPTER = Line()
