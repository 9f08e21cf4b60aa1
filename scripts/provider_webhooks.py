"""Signed inbound requests in each chat provider's real shape, for the tests and the
demo to POST to intake's webhooks: each builder returns ``(headers, body_bytes)``.

The signatures come from the adapters' own ``signature`` functions (one definition
of each scheme); tests/unit/test_channel_adapters.py pins those against
independently computed values and Twilio's documented example.
"""
from __future__ import annotations

import json
import secrets
import time
from urllib.parse import urlencode

from services.intake.channels import line, meta, viber
from services.intake.channels import sms as twilio


def _json(data: dict, ascii_only: bool = False) -> bytes:
    # Meta escapes non-ASCII (\\uXXXX) in its bodies; LINE and Viber send raw UTF-8.
    return json.dumps(data, ensure_ascii=ascii_only, separators=(",", ":")).encode()


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- LINE ----------------------------------------------------------------------------------

def _line(secret: str, user_id: str, event: dict, event_id: str | None) -> tuple[dict, bytes]:
    event = {"replyToken": secrets.token_hex(16), "mode": "active", "timestamp": _now_ms(),
             "source": {"type": "user", "userId": user_id},
             "webhookEventId": event_id or "01" + secrets.token_hex(12).upper(),
             "deliveryContext": {"isRedelivery": False}, **event}
    body = _json({"destination": "U" + "0" * 32, "events": [event]})
    return {"Content-Type": "application/json; charset=utf-8", "x-line-signature": line.signature(secret, body)}, body


def line_text(secret: str, user_id: str, text: str, event_id: str | None = None):
    message = {"id": str(secrets.randbits(60)), "type": "text", "quoteToken": secrets.token_urlsafe(16), "text": text}
    return _line(secret, user_id, {"type": "message", "message": message}, event_id)


def line_sticker(secret: str, user_id: str, event_id: str | None = None):
    message = {"id": str(secrets.randbits(60)), "type": "sticker", "quoteToken": secrets.token_urlsafe(16),
               "packageId": "11537", "stickerId": "52002734", "stickerResourceType": "STATIC"}
    return _line(secret, user_id, {"type": "message", "message": message}, event_id)


def line_postback(secret: str, user_id: str, data: str, event_id: str | None = None):
    return _line(secret, user_id, {"type": "postback", "postback": {"data": data}}, event_id)


def line_follow(secret: str, user_id: str, event_id: str | None = None):
    """The worker added the account as a friend: no message, answered 200 and ignored."""
    return _line(secret, user_id, {"type": "follow", "follow": {"isUnblocked": False}}, event_id)


# --- WhatsApp and Messenger ------------------------------------------------------------------

def _meta(app_secret: str, payload: dict) -> tuple[dict, bytes]:
    body = _json(payload, ascii_only=True)
    return {"Content-Type": "application/json", "X-Hub-Signature-256": meta.signature(app_secret, body)}, body


def _whatsapp(app_secret: str, wa_id: str, phone_number_id: str, message: dict, msg_id: str | None):
    message = {"from": wa_id, "id": msg_id or "wamid." + secrets.token_urlsafe(30),
               "timestamp": str(int(time.time())), **message}
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
             "contacts": [{"profile": {"name": "Worker"}, "wa_id": wa_id}], "messages": [message]}
    return _meta(app_secret, {"object": "whatsapp_business_account",
                              "entry": [{"id": "0", "changes": [{"value": value, "field": "messages"}]}]})


def whatsapp_text(app_secret: str, wa_id: str, text: str, phone_number_id: str, msg_id: str | None = None):
    return _whatsapp(app_secret, wa_id, phone_number_id, {"type": "text", "text": {"body": text}}, msg_id)


def whatsapp_button(app_secret: str, wa_id: str, button_id: str, title: str, phone_number_id: str,
                    msg_id: str | None = None):
    """A tap on a reply button of an interactive message."""
    interactive = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
    return _whatsapp(app_secret, wa_id, phone_number_id, {"type": "interactive", "interactive": interactive}, msg_id)


def whatsapp_image(app_secret: str, wa_id: str, phone_number_id: str, msg_id: str | None = None):
    image = {"mime_type": "image/jpeg", "sha256": secrets.token_hex(32), "id": str(secrets.randbits(50))}
    return _whatsapp(app_secret, wa_id, phone_number_id, {"type": "image", "image": image}, msg_id)


def whatsapp_status(app_secret: str, wa_id: str, phone_number_id: str, status: str = "delivered"):
    """A receipt for a message we sent: no Inbound."""
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_number_id},
             "statuses": [{"id": "wamid." + secrets.token_urlsafe(30), "status": status,
                           "timestamp": str(int(time.time())), "recipient_id": wa_id}]}
    return _meta(app_secret, {"object": "whatsapp_business_account",
                              "entry": [{"id": "0", "changes": [{"value": value, "field": "messages"}]}]})


def _messenger(app_secret: str, psid: str, page_id: str, message: dict):
    event = {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": _now_ms(), "message": message}
    return _meta(app_secret, {"object": "page", "entry": [{"id": page_id, "time": _now_ms(), "messaging": [event]}]})


def messenger_text(app_secret: str, psid: str, text: str, page_id: str, mid: str | None = None):
    return _messenger(app_secret, psid, page_id, {"mid": mid or "m_" + secrets.token_urlsafe(40), "text": text})


def messenger_quick_reply(app_secret: str, psid: str, text: str, payload: str, page_id: str,
                          mid: str | None = None):
    message = {"mid": mid or "m_" + secrets.token_urlsafe(40), "text": text, "quick_reply": {"payload": payload}}
    return _messenger(app_secret, psid, page_id, message)


def messenger_attachment(app_secret: str, psid: str, page_id: str, kind: str = "image", mid: str | None = None):
    attachment = {"type": kind, "payload": {"url": f"https://cdn.example/{secrets.token_hex(8)}"}}
    return _messenger(app_secret, psid, page_id, {"mid": mid or "m_" + secrets.token_urlsafe(40),
                                                  "attachments": [attachment]})


def meta_handshake(verify_token: str, challenge: str = "1158201444") -> dict:
    """The query of Meta's GET that confirms a webhook URL."""
    return {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}


# --- Viber ------------------------------------------------------------------------------------

def _viber(auth_token: str, payload: dict) -> tuple[dict, bytes]:
    body = _json({"timestamp": _now_ms(), "chat_hostname": "SN-CHAT-01_", **payload})
    return {"Content-Type": "application/json", "X-Viber-Content-Signature": viber.signature(auth_token, body)}, body


def _viber_message(auth_token: str, user_id: str, message: dict, token: int | None):
    sender = {"id": user_id, "name": "Worker", "language": "en", "country": "TH", "api_version": 10}
    return _viber(auth_token, {"event": "message", "message_token": token or secrets.randbits(62),
                               "sender": sender, "message": message, "silent": False})


def viber_text(auth_token: str, user_id: str, text: str, token: int | None = None):
    return _viber_message(auth_token, user_id, {"type": "text", "text": text}, token)


def viber_picture(auth_token: str, user_id: str, token: int | None = None):
    picture = {"type": "picture", "text": "", "media": "https://dl-media.viber.com/x.jpg", "size": 1024}
    return _viber_message(auth_token, user_id, picture, token)


def viber_event(auth_token: str, user_id: str, event: str = "delivered"):
    """delivered, seen, subscribed...: no Inbound."""
    who = {"user": {"id": user_id, "name": "Worker"}} if event in ("subscribed", "conversation_started") \
        else {"user_id": user_id}
    return _viber(auth_token, {"event": event, "message_token": secrets.randbits(62), **who})


# --- SMS (Twilio) -----------------------------------------------------------------------------

def sms(auth_token: str, url: str, from_: str, body: str, sid: str | None = None, to: str = "+15550000000",
        account_sid: str = "AC" + "0" * 32, media_type: str | None = None):
    """An inbound SMS as Twilio posts it to ``url`` (the URL its signature covers);
    with ``media_type`` (e.g. "image/jpeg") an MMS carrying one attachment."""
    sid = sid or ("MM" if media_type else "SM") + secrets.token_hex(16)
    params = [("ToCountry", "TH"), ("SmsMessageSid", sid), ("NumMedia", "1" if media_type else "0"), ("SmsSid", sid),
              ("SmsStatus", "received"), ("Body", body), ("To", to), ("NumSegments", "1"),
              ("MessageSid", sid), ("AccountSid", account_sid), ("From", from_), ("ApiVersion", "2010-04-01")]
    if media_type:
        params += [("MediaContentType0", media_type), ("MediaUrl0", f"https://api.twilio.com/media/{sid}/ME0")]
    return ({"Content-Type": "application/x-www-form-urlencoded",
             "X-Twilio-Signature": twilio.signature(auth_token, url, params)}, urlencode(params).encode())
