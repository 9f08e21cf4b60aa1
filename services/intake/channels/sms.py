"""SMS through Twilio's Programmable Messaging: form-encoded webhooks in, the
Messages resource out.

https://www.twilio.com/docs/usage/webhooks/webhooks-security (signature),
https://www.twilio.com/docs/messaging/guides/webhook-request (inbound parameters),
https://www.twilio.com/docs/messaging/api/message-resource (send).
"""
from __future__ import annotations

import hashlib
from typing import Mapping
from urllib.parse import parse_qsl

from services.intake.channels.base import (
    Adapter, BadPayload, BadSignature, Inbound, Outbound, b64, check_signature, configured, header,
    hmac_digest, within)


def form(body: bytes) -> list[tuple[str, str]]:
    """The form fields of a body, strictly: anything else is not a Twilio request."""
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload("body is not a form") from exc


def signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the full URL followed by each parameter's
    name and value, sorted by name (then value), as Twilio's own validators do."""
    signed = url + "".join(name + value for name, value in sorted(set(params)))
    return b64(hmac_digest(auth_token, signed.encode(), hashlib.sha1))


class Sms(Adapter):
    channel = "sms"
    max_text = 1600

    def verify(self, settings, url: str, headers: Mapping[str, str], body: bytes) -> None:
        """``url`` is the URL the request reached; SMS_WEBHOOK_URL, when set, is the one
        Twilio called (behind a proxy they differ, and the signature covers it)."""
        token = settings.twilio_auth_token
        try:
            params = form(body) if body else []
        except BadPayload as exc:
            raise BadSignature("unreadable form body") from exc
        check_signature(token, header(headers, "x-twilio-signature"),
                        lambda: signature(token, settings.sms_webhook_url or url, params))

    def parse(self, body: bytes) -> list[Inbound]:
        params = dict(form(body))
        sid, sender = params.get("MessageSid"), params.get("From")
        if not sid or not sender:
            raise BadPayload("MessageSid and From are required")
        common = {"channel": self.channel, "message_id": sid, "chat_id": sender, "account": params.get("To") or None}
        text = params.get("Body", "")
        try:
            media = int(params.get("NumMedia") or 0)
        except ValueError as exc:
            raise BadPayload("NumMedia is not a number") from exc
        if media and not text.strip():      # an MMS with only a picture, a recording...
            kind = params.get("MediaContentType0", "").split("/")[0] or "media"
            return [Inbound(kind="unsupported", text=None, media_type=kind, **common)]
        return [Inbound(kind="text", text=text, **common)]

    def outbound(self, settings, chat_id: str, text: str, account: str | None = None) -> Outbound:
        """Sent from the number the worker wrote to (``account``), else TWILIO_FROM."""
        sid = configured(settings.twilio_account_sid, "TWILIO_ACCOUNT_SID")
        token = configured(settings.twilio_auth_token, "TWILIO_AUTH_TOKEN")
        sender = configured(account or settings.twilio_from, "TWILIO_FROM")
        return Outbound("POST", f"{settings.twilio_api_base.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json",
                        {"Accept": "application/json"},
                        form={"To": chat_id, "From": sender, "Body": within(text, self.max_text, self.channel)},
                        auth=(sid, token))


ADAPTER = Sms()
