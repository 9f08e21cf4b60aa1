"""Meta's two chat products, one app: WhatsApp Cloud API and Facebook Messenger.

Both sign webhooks with the app secret (X-Hub-Signature-256) and confirm a webhook
URL with the same GET handshake; their payloads and send APIs differ.
https://developers.facebook.com/docs/graph-api/webhooks/getting-started,
.../whatsapp/cloud-api/webhooks/components, .../messenger-platform/webhooks.
"""
from __future__ import annotations

from typing import Mapping

from services.intake.channels.base import (
    Adapter, BadPayload, BadSignature, Inbound, Outbound, check_signature, configured, field,
    header, hmac_digest, items, load_json, same_secret, within)


def signature(app_secret: str, body: bytes) -> str:
    """X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac_digest(app_secret, body).hex()


class Meta(Adapter):
    object: str     # the payload's "object" for this product

    def verify(self, settings, url: str, headers: Mapping[str, str], body: bytes) -> None:
        secret = settings.meta_app_secret
        given = header(headers, "x-hub-signature-256")
        # Meta sends lowercase hex; accept either case of the same digest.
        check_signature(secret, given and given.strip().lower(), lambda: signature(secret, body))

    def handshake(self, settings, query: Mapping) -> str:
        """The GET that confirms the webhook URL: echo hub.challenge (as text/plain)
        only when Meta presents our verify token."""
        if query.get("hub.mode") != "subscribe" or not same_secret(settings.meta_verify_token,
                                                                   query.get("hub.verify_token")):
            raise BadSignature("webhook verification refused")
        challenge = query.get("hub.challenge")
        if not challenge:
            raise BadPayload("hub.challenge missing")
        return challenge

    def entries(self, body: bytes) -> list[dict]:
        data = load_json(body)
        if data.get("object") != self.object:
            raise BadPayload(f"object is not {self.object!r}")
        return items(data, "entry")


class WhatsApp(Meta):
    channel = "whatsapp"
    object = "whatsapp_business_account"
    max_text = 4096

    def parse(self, body: bytes) -> list[Inbound]:
        found = []
        for entry in self.entries(body):
            for change in items(entry, "changes"):
                if change.get("field") != "messages":
                    continue
                value = field(change, "value")
                messages = items(value, "messages")       # absent for "statuses" (sent, read...)
                if not messages:
                    continue
                account = field(field(value, "metadata"), "phone_number_id", str)
                found += [m for m in (self._message(m, account) for m in messages) if m]
        return found

    def _message(self, message: dict, account: str) -> Inbound | None:
        kind = field(message, "type", str)
        if kind == "system":            # the user changed number: not something they wrote
            return None
        # Since 2026 a user with a username may withhold the phone number: then only the
        # business-scoped user id (from_user_id, e.g. "US.1349...") says who wrote.
        sender = field(message, "from", str, required=False) or field(message, "from_user_id", str)
        common = {"channel": self.channel, "message_id": field(message, "id", str), "chat_id": sender,
                  "account": account}
        if kind == "text":
            return Inbound(kind="text", text=field(field(message, "text"), "body", str), **common)
        if kind == "button":            # a quick-reply button of a template message
            button = field(message, "button")
            return Inbound(kind="quick_reply", text=field(button, "text", str, required=False),
                           payload=field(button, "payload", str), **common)
        if kind == "interactive":       # reply buttons and list rows of an interactive message
            interactive = field(message, "interactive")
            reply = interactive.get(interactive.get("type"))
            if interactive.get("type") in ("button_reply", "list_reply") and isinstance(reply, dict):
                return Inbound(kind="quick_reply", text=field(reply, "title", str, required=False),
                               payload=field(reply, "id", str), **common)
        return Inbound(kind="unsupported", text=None, media_type=kind, **common)

    def outbound(self, settings, chat_id: str, text: str, account: str | None = None) -> Outbound:
        """A free-form text: only inside the 24-hour window the worker's message opened."""
        token = configured(settings.whatsapp_token, "WHATSAPP_TOKEN")
        if not account:
            raise ValueError("WhatsApp sends from a phone_number_id: pass the Inbound's account")
        # A phone number (wa_id, digits) goes in "to", a business-scoped user id in "recipient".
        whom = {"to": chat_id} if chat_id.isdigit() else {"recipient": chat_id}
        return Outbound("POST", f"{settings.graph_api_base.rstrip('/')}/{account}/messages",
                        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                        json={"messaging_product": "whatsapp", "recipient_type": "individual", **whom,
                              "type": "text",
                              "text": {"preview_url": False, "body": within(text, self.max_text, self.channel)}})


class Messenger(Meta):
    channel = "facebook_messenger"
    object = "page"
    max_text = 2000

    def parse(self, body: bytes) -> list[Inbound]:
        found = []
        for entry in self.entries(body):
            for event in items(entry, "messaging"):    # delivery, read, reactions...: ignored
                sender = field(field(event, "sender"), "id", str)
                page = field(field(event, "recipient"), "id", str)
                if "message" in event:
                    found += [m for m in [self._message(field(event, "message"), sender, page)] if m]
                elif "postback" in event:
                    found.append(self._postback(event, sender, page))
        return found

    def _message(self, message: dict, sender: str, page: str) -> Inbound | None:
        if message.get("is_echo"):          # our own message, echoed back
            return None
        common = {"channel": self.channel, "message_id": field(message, "mid", str),
                  "chat_id": sender, "account": page}
        quick = message.get("quick_reply")
        if quick is not None:
            return Inbound(kind="quick_reply", text=field(message, "text", str, required=False),
                           payload=field(quick, "payload", str), **common)
        if message.get("text") is not None:
            return Inbound(kind="text", text=field(message, "text", str), **common)
        attachments = items(message, "attachments")
        kind = "sticker" if "sticker_id" in message else (attachments[0].get("type") if attachments else None)
        return Inbound(kind="unsupported", text=None, media_type=str(kind or "unknown"), **common)

    def _postback(self, event: dict, sender: str, page: str) -> Inbound:
        """A button of a template or the persistent menu. Older postbacks carry no mid:
        then the sender and the time are the redelivery key."""
        postback = field(event, "postback")
        mid = field(postback, "mid", str, required=False) or f"postback:{sender}:{field(event, 'timestamp', str)}"
        return Inbound(self.channel, mid, sender, "quick_reply", field(postback, "title", str, required=False),
                       payload=field(postback, "payload", str), account=page)

    def outbound(self, settings, chat_id: str, text: str, account: str | None = None) -> Outbound:
        """A reply inside the 24-hour window (messaging_type RESPONSE); the page token
        goes in the Authorization header, not the URL, so it stays out of access logs."""
        token = configured(settings.messenger_page_token, "MESSENGER_PAGE_TOKEN")
        return Outbound("POST", f"{settings.graph_api_base.rstrip('/')}/me/messages",
                        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                        json={"recipient": {"id": chat_id}, "messaging_type": "RESPONSE",
                              "message": {"text": within(text, self.max_text, self.channel)}})


WHATSAPP = WhatsApp()
MESSENGER = Messenger()
