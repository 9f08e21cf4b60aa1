"""The chat-provider adapters (services/intake/channels): signatures checked over the
raw body in each provider's scheme, the providers' recorded payloads parsed into
Inbound messages, and the send requests built in each provider's shape.

Signatures here are computed independently of the adapters (hashlib/hmac written
out per provider) and Twilio's is pinned to the example in its documentation.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from services.intake.channels import ADAPTERS, adapter_for
from services.intake.channels.base import BadPayload, BadSignature, Inbound, split_text
from services.intake.channels.sms import signature as twilio_signature
from shared.config import CHANNEL_VARIABLES, SERVICE_SECRETS, settings
from shared.contracts.common import CHANNELS
from shared.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "channels"
SMS_URL = "https://ilm.example.org/v1/channels/sms"
CONFIGURED = {
    "LINE_CHANNEL_SECRET": "8c570fa6dd201bb328f1c1eac23a96d8", "LINE_CHANNEL_TOKEN": "line-access-token",
    "META_APP_SECRET": "2f5d9c1e6a7b8c9d0e1f2a3b4c5d6e7f", "META_VERIFY_TOKEN": "hub-verify-me",
    "WHATSAPP_TOKEN": "EAAG-whatsapp-token", "MESSENGER_PAGE_TOKEN": "EAAG-page-token",
    "VIBER_AUTH_TOKEN": "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9",
    "TWILIO_ACCOUNT_SID": "AC00112233445566778899aabbccddeeff", "TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "TWILIO_FROM": "+66200000000", "SMS_WEBHOOK_URL": SMS_URL,
}
SECRET_OF = {"line": "LINE_CHANNEL_SECRET", "whatsapp": "META_APP_SECRET", "facebook_messenger": "META_APP_SECRET",
             "viber": "VIBER_AUTH_TOKEN", "sms": "TWILIO_AUTH_TOKEN"}
SAMPLE = {"line": "line_text.json", "whatsapp": "whatsapp_text.json", "facebook_messenger": "messenger_text.json",
          "viber": "viber_text.json", "sms": "twilio_sms.form"}


def make_settings(**changes):
    values = {v.name: v.default for v in CHANNEL_VARIABLES} | CONFIGURED | changes
    return settings().replace(channels=values)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sign(channel: str, secret: str, body: bytes, url: str = SMS_URL) -> dict:
    """The headers the provider would send, computed from its documentation."""
    key = secret.encode()
    if channel == "line":
        return {"x-line-signature": base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()}
    if channel in ("whatsapp", "facebook_messenger"):
        return {"X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()}
    if channel == "viber":
        return {"X-Viber-Content-Signature": hmac.new(key, body, hashlib.sha256).hexdigest()}
    signed = url + "".join(k + v for k, v in sorted(parse_qsl(body.decode(), keep_blank_values=True)))
    return {"X-Twilio-Signature": base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha1).digest()).decode()}


def verify(channel: str, headers: dict, body: bytes, url: str = "http://127.0.0.1:8000/x", **settings_changes):
    adapter_for(channel).verify(make_settings(**settings_changes), url, headers, body)


# --- the registry ------------------------------------------------------------------------------

def test_every_chat_channel_has_its_adapter_under_its_contract_name():
    assert set(ADAPTERS) == {"line", "whatsapp", "facebook_messenger", "viber", "sms"}
    assert set(ADAPTERS) <= set(CHANNELS)
    assert all(adapter_for(name).channel == name for name in ADAPTERS)
    for unknown in ("hotline", "telegram", ""):
        with pytest.raises(KeyError):
            adapter_for(unknown)


def test_channel_secrets_are_intakes_only():
    secret = {v.name for v in CHANNEL_VARIABLES if v.secret}
    assert set(SECRET_OF.values()) | {"LINE_CHANNEL_TOKEN", "WHATSAPP_TOKEN", "MESSENGER_PAGE_TOKEN",
                                      "META_VERIFY_TOKEN"} == secret
    assert secret <= set(SERVICE_SECRETS["intake"])
    assert not any(secret & set(names) for service, names in SERVICE_SECRETS.items() if service != "intake")


def test_settings_expose_each_channel_variable_and_default_to_off():
    s = settings().replace(channels={})
    for var in CHANNEL_VARIABLES:
        assert getattr(s, var.name.lower()) == ""
    defaults = make_settings()
    assert defaults.graph_api_base == "https://graph.facebook.com/v21.0"
    assert defaults.viber_sender_name == "ILM" and defaults.line_channel_secret == CONFIGURED["LINE_CHANNEL_SECRET"]


# --- signatures --------------------------------------------------------------------------------

@pytest.mark.parametrize("channel", SAMPLE)
def test_a_good_signature_passes(channel):
    body = fixture(SAMPLE[channel])
    verify(channel, sign(channel, CONFIGURED[SECRET_OF[channel]], body), body)


@pytest.mark.parametrize("channel", SAMPLE)
def test_header_names_are_case_insensitive(channel):
    body = fixture(SAMPLE[channel])
    headers = sign(channel, CONFIGURED[SECRET_OF[channel]], body)
    verify(channel, {k.upper(): v for k, v in headers.items()}, body)
    verify(channel, {k.lower(): v for k, v in headers.items()}, body)


@pytest.mark.parametrize("channel", SAMPLE)
def test_a_tampered_body_fails(channel):
    body = fixture(SAMPLE[channel])
    headers = sign(channel, CONFIGURED[SECRET_OF[channel]], body)
    tampered = body.replace(b"+66812345678", b"+66899999999").replace(b"66812345678", b"66899999999") \
        .replace(b"U4af49806", b"U00000000").replace(b"6283746501928374", b"6283746501928375") \
        .replace(b"01234567890A=", b"01234567890B=")
    assert tampered != body
    for changed in (tampered, body + b" ", body[:-1]):
        with pytest.raises(BadSignature):
            verify(channel, headers, changed)


@pytest.mark.parametrize("channel", SAMPLE)
def test_a_signature_with_another_secret_fails(channel):
    body = fixture(SAMPLE[channel])
    with pytest.raises(BadSignature):
        verify(channel, sign(channel, "not-the-secret", body), body)


@pytest.mark.parametrize("channel", SAMPLE)
def test_a_missing_or_empty_signature_header_fails(channel):
    body = fixture(SAMPLE[channel])
    for headers in ({}, {"Content-Type": "application/json"}, {k: "" for k in sign(channel, "x", body)}):
        with pytest.raises(BadSignature):
            verify(channel, headers, body)


@pytest.mark.parametrize("channel", SAMPLE)
@pytest.mark.parametrize("unset", ["", "REPLACE_ME from the provider console"])
def test_an_unconfigured_channel_refuses_even_a_signature_made_with_its_empty_key(channel, unset):
    body = fixture(SAMPLE[channel])
    for secret in (unset, "", CONFIGURED[SECRET_OF[channel]]):
        with pytest.raises(BadSignature, match="not configured"):
            verify(channel, sign(channel, secret, body), body, **{SECRET_OF[channel]: unset})


@pytest.mark.parametrize("channel", SAMPLE)
def test_a_garbled_signature_header_is_refused_not_crashed_on(channel):
    body = fixture(SAMPLE[channel])
    name = next(iter(sign(channel, "x", body)))
    for value in ("ünïcödé", "sha256=", "sha256=zz", "\x00" * 64, "a" * 10_000):
        with pytest.raises(BadSignature):
            verify(channel, {name: value}, body)


def test_meta_accepts_its_hex_digest_in_either_case():
    body = fixture("whatsapp_text.json")
    header = sign("whatsapp", CONFIGURED["META_APP_SECRET"], body)["X-Hub-Signature-256"]
    verify("whatsapp", {"X-Hub-Signature-256": "sha256=" + header[7:].upper()}, body)
    with pytest.raises(BadSignature):   # the scheme prefix is part of the header
        verify("whatsapp", {"X-Hub-Signature-256": header[7:]}, body)


def test_twilio_signature_matches_the_example_in_twilios_documentation():
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
              ("From", "+12349013030"), ("To", "+18005551212")]
    assert twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == \
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_sms_is_verified_against_the_public_url_twilio_called_when_one_is_configured():
    body = fixture("twilio_sms.form")
    headers = sign("sms", CONFIGURED["TWILIO_AUTH_TOKEN"], body, url=SMS_URL)
    verify("sms", headers, body, url="http://10.0.0.7:8000/v1/channels/sms")   # behind a proxy
    with pytest.raises(BadSignature):
        verify("sms", sign("sms", CONFIGURED["TWILIO_AUTH_TOKEN"], body, url="https://evil.example/sms"), body)
    # Unset, the URL the request reached is the one signed (a local run without a proxy).
    local = "http://127.0.0.1:8000/v1/channels/sms"
    verify("sms", sign("sms", CONFIGURED["TWILIO_AUTH_TOKEN"], body, url=local), body, url=local, SMS_WEBHOOK_URL="")
    with pytest.raises(BadSignature):
        verify("sms", headers, body, url=local, SMS_WEBHOOK_URL="")


def test_sms_signature_covers_the_order_independent_parameters_and_refuses_a_non_form():
    body = fixture("twilio_sms.form")
    reordered = "&".join(reversed(body.decode().split("&"))).encode()
    verify("sms", sign("sms", CONFIGURED["TWILIO_AUTH_TOKEN"], body), reordered)
    with pytest.raises(BadSignature):
        verify("sms", sign("sms", CONFIGURED["TWILIO_AUTH_TOKEN"], body), b"\xff\xfe=garbage")


# --- the GET handshake (WhatsApp, Messenger) -------------------------------------------------------

@pytest.mark.parametrize("channel", ["whatsapp", "facebook_messenger"])
def test_handshake_echoes_the_challenge_only_for_our_verify_token(channel):
    adapter, s = adapter_for(channel), make_settings()
    good = {"hub.mode": "subscribe", "hub.verify_token": "hub-verify-me", "hub.challenge": "1158201444"}
    assert adapter.handshake(s, good) == "1158201444"
    for bad in ({**good, "hub.verify_token": "guess"}, {**good, "hub.mode": "unsubscribe"},
                {k: v for k, v in good.items() if k != "hub.verify_token"}, {}):
        with pytest.raises(BadSignature):
            adapter.handshake(s, bad)
    with pytest.raises(BadSignature):    # no verify token configured: nothing matches, not even ""
        adapter.handshake(make_settings(META_VERIFY_TOKEN=""), {**good, "hub.verify_token": ""})
    with pytest.raises(BadPayload):
        adapter.handshake(s, {k: v for k, v in good.items() if k != "hub.challenge"})


# --- parsing the recorded payloads -----------------------------------------------------------------

LINE_USER, WA_ID, PSID, PAGE, VIBER_USER = ("U4af4980629a1b2c3d4e5f60718293a4b", "66812345678", "6283746501928374",
                                           "112233445566778", "01234567890A=")
LINE_BOT, WA_PHONE = "U8e1c1b5d7e7f4c6aa3f0f3c1b2a4d5e6", "106540352242922"

PARSED = {
    "line_text.json": [Inbound("line", "01KBZ4A0TDDPYRVKNK77XKC3ZR", LINE_USER, "text", "นายจ้างยึดพาสปอร์ตของผม",
                               account=LINE_BOT)],
    "line_sticker.json": [Inbound("line", "01KBZ4B7P3M2ZKQ0Q8E1W5T9HX", LINE_USER, "unsupported", None,
                                  media_type="sticker", account=LINE_BOT)],
    "line_postback.json": [Inbound("line", "01KBZ4C2GQ8S4V6X1N0R3Y7J5D", LINE_USER, "quick_reply", None,
                                   payload="validation=confirmed", account=LINE_BOT)],
    "line_follow.json": [],
    "line_group_text.json": [],
    "line_verify.json": [],
    "whatsapp_text.json": [Inbound("whatsapp", "wamid.HBgLNjY4MTIzNDU2NzgVAgASGBQzQUI3RDAxMjM0NTY3ODlBQkNERUYA",
                                   WA_ID, "text", "ကျွန်တော့်လစာ မရသေးပါ", account=WA_PHONE)],
    "whatsapp_image.json": [Inbound("whatsapp", "wamid.HBgLNjY4MTIzNDU2NzgVAgASGBQzRUIwMUMyRDNFNEY1QTZCN0M4RDkA",
                                    WA_ID, "unsupported", None, media_type="image", account=WA_PHONE)],
    "whatsapp_button_reply.json": [Inbound("whatsapp", "wamid.HBgLNjY4MTIzNDU2NzgVAgASGBQzQUZGMDAxMTIyMzM0NDU1NjY3NwA=",
                                           WA_ID, "quick_reply", "Case status", payload="status", account=WA_PHONE)],
    "whatsapp_template_button.json": [Inbound("whatsapp", "wamid.HBgLNjY4MTIzNDU2NzgVAgASGBQzQTk4NzY1NDMyMTBGRURDQkEA",
                                              WA_ID, "quick_reply", "Not fixed", payload="validation=not_fixed",
                                              account=WA_PHONE)],
    "whatsapp_statuses.json": [],
    "whatsapp_username_text.json": [Inbound("whatsapp", "wamid.HBgLVVMuMTM0OTEyMDg2NTUzMDI3NDE5MTgVAgASGBQzQTAwMTEyMjMzNDQ1NTY2Nzc4OAA=",
                                            "TH.13491208655302741918", "text", "I want to report my agency",
                                            account=WA_PHONE)],
    "messenger_text.json": [Inbound("facebook_messenger", "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8"
                                    "ma6AC8fplwlqLP_5cgXIbu7I3rBN0P", PSID, "text",
                                    "I was told not to complain or I will be sent home", account=PAGE)],
    "messenger_quick_reply.json": [Inbound("facebook_messenger", "m_QR9Kz8sA1bC2dE3fG4hI5jK6lM7nO8pQ9rS0tU1vW2xY3zA4b"
                                           "C5dE6fG7hI8jK9lM0nO1pQ2rS3tU4vW5x", PSID, "quick_reply", "Withdraw",
                                           payload="withdraw", account=PAGE)],
    "messenger_attachment.json": [Inbound("facebook_messenger", "m_AT1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sT1uV2wX3yZ4aB5cD6e"
                                          "F7gH8iJ9kL0mN1oP2qR3sT4uV5wX6yZ7a", PSID, "unsupported", None,
                                          media_type="audio", account=PAGE)],
    "messenger_sticker.json": [Inbound("facebook_messenger", "m_ST0pQ1rS2tU3vW4xY5zA6bC7dE8fG9hI0jK1lM2nO3pQ4rS5tU6v"
                                       "W7xY8zA9bC0dE1fG2hI3jK4lM5nO6p", PSID, "unsupported", None,
                                       media_type="sticker", account=PAGE)],
    "messenger_postback.json": [Inbound("facebook_messenger", "m_PB7aB8cD9eF0gH1iJ2kL3mN4oP5qR6sT7uV8wX9yZ0aB1cD2eF3g"
                                        "H4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3a", PSID, "quick_reply", "Check my case",
                                        payload="status", account=PAGE)],
    "messenger_delivery.json": [],
    "messenger_echo.json": [],
    "viber_text.json": [Inbound("viber", "5741311803571721087", VIBER_USER, "text", "ខ្ញុំមិនទាន់ទទួលបានប្រាក់ខែទេ")],
    "viber_picture.json": [Inbound("viber", "5741311803571721099", VIBER_USER, "unsupported", None, media_type="image")],
    "viber_delivered.json": [],
    "viber_seen.json": [],
    "viber_subscribed.json": [],
    "viber_conversation_started.json": [],
    "viber_webhook.json": [],
    "twilio_sms.form": [Inbound("sms", "SM1f0e2d3c4b5a69788796a5b4c3d2e1f0", "+66812345678", "text",
                                "ยังไม่ได้ค่าจ้าง 2 เดือน", account="+66212345678")],
    "twilio_mms.form": [Inbound("sms", "MM9a8b7c6d5e4f30211203f4e5d6c7b8a9", "+66812345678", "unsupported", None,
                                media_type="image", account="+66212345678")],
}
CHANNEL_OF_PREFIX = {"line": "line", "whatsapp": "whatsapp", "messenger": "facebook_messenger", "viber": "viber",
                     "twilio": "sms"}


def test_every_recorded_payload_has_an_expected_parse():
    assert sorted(PARSED) == sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".json", ".form"))


@pytest.mark.parametrize("name", PARSED)
def test_recorded_payload_parses(name):
    channel = CHANNEL_OF_PREFIX[name.split("_")[0]]
    body = fixture(name)
    verify(channel, sign(channel, CONFIGURED[SECRET_OF[channel]], body), body)   # signable as recorded
    assert adapter_for(channel).parse(body) == PARSED[name]


def test_a_batch_gives_every_message_in_order():
    events = [json.loads(fixture(n))["events"][0] for n in ("line_text.json", "line_sticker.json", "line_postback.json")]
    body = json.dumps({"destination": LINE_BOT, "events": events}).encode()
    assert [m.kind for m in adapter_for("line").parse(body)] == ["text", "unsupported", "quick_reply"]


@pytest.mark.parametrize("channel, body", [
    ("line", b"not json"), ("line", b"[]"), ("line", b'{"destination": "U1"}'), ("line", b'{"events": {}}'),
    ("line", b'{"events": [{"type": "message", "source": {"type": "user", "userId": "U1"}, "webhookEventId": "E",'
             b' "message": {"type": "text"}}]}'),
    ("line", b'{"events": [{"type": "message", "source": {"type": "user"}, "webhookEventId": "E",'
             b' "message": {"type": "text", "text": "hi"}}]}'),
    ("line", b'{"events": ["message"]}'),
    ("whatsapp", b'{"object": "page", "entry": []}'), ("whatsapp", b"\xff\xfe"),
    ("whatsapp", b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value":'
                 b' {"metadata": {"phone_number_id": "1"}, "messages": [{"id": "w", "type": "text"}]}}]}]}'),
    ("facebook_messenger", b'{"object": "whatsapp_business_account", "entry": []}'),
    ("facebook_messenger", b'{"object": "page", "entry": [{"messaging": [{"recipient": {"id": "1"},'
                           b' "message": {"mid": "m", "text": "hi"}}]}]}'),
    ("facebook_messenger", b'{"object": "page", "entry": [{"messaging": [{"sender": {"id": "2"}, "recipient":'
                           b' {"id": "1"}, "message": {"text": "hi"}}]}]}'),
    ("viber", b'{"timestamp": 1}'), ("viber", b'{"event": "message", "message": {"type": "text", "text": "x"},'
                                              b' "sender": {"id": "u"}}'),
    ("sms", b""), ("sms", b"Body=hello"), ("sms", b"MessageSid=SM1&Body=hi"), ("sms", b"\xff=1"),
    ("sms", b"MessageSid=SM1&From=%2B1&NumMedia=many"),
])
def test_a_body_not_in_the_providers_shape_is_a_bad_payload(channel, body):
    with pytest.raises(BadPayload):
        adapter_for(channel).parse(body)


def test_viber_message_tokens_keep_every_digit():
    assert adapter_for("viber").parse(fixture("viber_text.json"))[0].message_id == "5741311803571721087"


# --- outbound ---------------------------------------------------------------------------------------

def test_line_push_request():
    out = adapter_for("line").outbound(make_settings(LINE_API_BASE="http://fake:1/"), LINE_USER, "ได้รับเรื่องแล้ว", None)
    assert (out.method, out.url) == ("POST", "http://fake:1/v2/bot/message/push")
    assert out.headers["Authorization"] == "Bearer line-access-token"
    assert out.json == {"to": LINE_USER, "messages": [{"type": "text", "text": "ได้รับเรื่องแล้ว"}]}
    assert out.form is None and out.auth is None


def test_whatsapp_send_request_goes_from_the_number_the_worker_wrote_to():
    out = adapter_for("whatsapp").outbound(make_settings(), WA_ID, "Case ILM-1", WA_PHONE)
    assert out.url == f"https://graph.facebook.com/v21.0/{WA_PHONE}/messages"
    assert out.headers["Authorization"] == "Bearer EAAG-whatsapp-token"
    assert out.json["messaging_product"] == "whatsapp" and out.json["to"] == WA_ID
    assert (out.json["type"], out.json["text"]["body"]) == ("text", "Case ILM-1")
    with pytest.raises(ValueError, match="phone_number_id"):
        adapter_for("whatsapp").outbound(make_settings(), WA_ID, "x", None)


def test_whatsapp_sends_to_a_business_scoped_user_id_as_recipient():
    out = adapter_for("whatsapp").outbound(make_settings(), "TH.13491208655302741918", "hi", WA_PHONE)
    assert out.json["recipient"] == "TH.13491208655302741918" and "to" not in out.json


def test_messenger_send_request_keeps_the_page_token_out_of_the_url():
    out = adapter_for("facebook_messenger").outbound(make_settings(), PSID, "Case ILM-1", PAGE)
    assert out.url == "https://graph.facebook.com/v21.0/me/messages" and "token" not in out.url
    assert out.headers["Authorization"] == "Bearer EAAG-page-token"
    assert out.json == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Case ILM-1"}}


def test_viber_send_request():
    out = adapter_for("viber").outbound(make_settings(VIBER_SENDER_NAME="ILM grievance line"), VIBER_USER, "hi", None)
    assert out.url == "https://chatapi.viber.com/pa/send_message"
    assert out.headers["X-Viber-Auth-Token"] == CONFIGURED["VIBER_AUTH_TOKEN"]
    assert out.json["receiver"] == VIBER_USER and (out.json["type"], out.json["text"]) == ("text", "hi")
    assert out.json["sender"] == {"name": "ILM grievance line"}


def test_twilio_send_request_answers_from_the_number_written_to_else_the_configured_one():
    s = make_settings()
    out = adapter_for("sms").outbound(s, "+66812345678", "Case ILM-1", "+66212345678")
    sid = CONFIGURED["TWILIO_ACCOUNT_SID"]
    assert out.url == f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
    assert out.form == {"To": "+66812345678", "From": "+66212345678", "Body": "Case ILM-1"} and out.json is None
    assert out.auth == (sid, "twilio-auth-token")
    assert adapter_for("sms").outbound(s, "+66812345678", "x", None).form["From"] == "+66200000000"


@pytest.mark.parametrize("channel, credential", [
    ("line", "LINE_CHANNEL_TOKEN"), ("whatsapp", "WHATSAPP_TOKEN"), ("facebook_messenger", "MESSENGER_PAGE_TOKEN"),
    ("viber", "VIBER_AUTH_TOKEN"), ("sms", "TWILIO_AUTH_TOKEN"), ("sms", "TWILIO_ACCOUNT_SID")])
def test_no_send_request_without_its_credential(channel, credential):
    with pytest.raises(ConfigError, match=credential):
        adapter_for(channel).outbound(make_settings(**{credential: ""}), "someone", "hi", "1")


@pytest.mark.parametrize("channel", SAMPLE)
def test_a_text_over_the_providers_limit_is_refused_and_split_text_makes_it_fit(channel):
    adapter = adapter_for(channel)
    text = ("word " * adapter.max_text)[: adapter.max_text + 1]
    with pytest.raises(ValueError, match=str(adapter.max_text)):
        adapter.outbound(make_settings(), "someone", text, "1")
    pieces = split_text(text, adapter.max_text)
    assert len(pieces) == 2 and all(len(p) <= adapter.max_text for p in pieces)
    assert " ".join(pieces).split() == text.split()
    for piece in pieces:
        adapter.outbound(make_settings(), "someone", piece, "1")


def test_split_text_cuts_an_unbroken_text_at_the_limit():
    assert split_text("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
    assert split_text("short", 10) == ["short"] and split_text("", 10) == [""]


def test_texts_are_measured_as_the_providers_count_them():
    line = adapter_for("line")
    emoji = "\U0001F64F" * 2500              # 2,500 characters, 5,000 UTF-16 units
    line.outbound(make_settings(), "U1", emoji, None)
    with pytest.raises(ValueError):
        line.outbound(make_settings(), "U1", emoji + "!", None)
    assert [len(p) for p in split_text("\U0001F64F" * 5, 4)] == [2, 2, 1]


def test_viber_success_is_its_status_zero_not_the_http_status():
    viber = adapter_for("viber")
    assert viber.accepted(200, b'{"status": 0, "status_message": "ok"}')
    assert not viber.accepted(200, b'{"status": 2, "status_message": "invalidAuthToken"}')
    assert not viber.accepted(200, b"not json") and not viber.accepted(500, b'{"status": 0}')
    assert adapter_for("sms").accepted(201, b"{}") and not adapter_for("line").accepted(429, b"{}")
