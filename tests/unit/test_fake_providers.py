"""The stand-ins for the chat providers (scripts/fake_providers.py) and the signed
provider webhooks (scripts/provider_webhooks.py) that the intake tests and the demo
use: both must behave like the real providers, or the tests prove nothing."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from scripts import provider_webhooks as hooks
from scripts.fake_providers import FakeProviders, format_sent
from scripts.stack import free_port
from scripts.webhook_receiver import WebhookReceiver
from services.intake.channels import ADAPTERS, adapter_for
from services.intake.channels.base import BadSignature
from shared.config import CHANNEL_VARIABLES, settings

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = {"LINE_CHANNEL_TOKEN": "line-token", "WHATSAPP_TOKEN": "wa-token", "MESSENGER_PAGE_TOKEN": "page-token",
               "VIBER_AUTH_TOKEN": "viber-token", "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
               "TWILIO_AUTH_TOKEN": "twilio-token"}
SECRETS = {"LINE_CHANNEL_SECRET": "line-secret", "META_APP_SECRET": "meta-secret", "META_VERIFY_TOKEN": "verify",
           "TWILIO_FROM": "+66200000000"}
ACCOUNT = {"whatsapp": "106540352242922", "facebook_messenger": "112233445566778", "sms": "+66212345678"}


@pytest.fixture
def fake():
    with FakeProviders(CREDENTIALS) as server:
        yield server


def settings_for(fake, **changes):
    values = {v.name: v.default for v in CHANNEL_VARIABLES} | CREDENTIALS | SECRETS | fake.env() | changes
    return settings().replace(channels=values)


def send(outbound) -> requests.Response:
    return requests.request(outbound.method, outbound.url, headers=outbound.headers, json=outbound.json,
                            data=outbound.form, auth=outbound.auth, timeout=5)


@pytest.mark.parametrize("channel", ADAPTERS)
def test_each_adapters_send_request_reaches_the_worker(fake, channel):
    adapter = adapter_for(channel)
    response = send(adapter.outbound(settings_for(fake), f"{channel}-worker", "ได้รับเรื่องของคุณแล้ว", ACCOUNT.get(channel)))
    assert adapter.accepted(response.status_code, response.content), response.text
    [record] = fake.wait_for(lambda sent: len(sent) == 1)
    assert {k: record[k] for k in ("channel", "to", "text")} == \
        {"channel": channel, "to": f"{channel}-worker", "text": "ได้รับเรื่องของคุณแล้ว"}
    assert isinstance(record["at"], float)


@pytest.mark.parametrize("channel, credential", [
    ("line", "LINE_CHANNEL_TOKEN"), ("whatsapp", "WHATSAPP_TOKEN"), ("facebook_messenger", "MESSENGER_PAGE_TOKEN"),
    ("viber", "VIBER_AUTH_TOKEN"), ("sms", "TWILIO_AUTH_TOKEN"), ("sms", "TWILIO_ACCOUNT_SID")])
def test_a_wrong_credential_is_refused_as_the_provider_refuses_it(fake, channel, credential):
    adapter = adapter_for(channel)
    wrong = "ACffffffffffffffffffffffffffffffff" if credential == "TWILIO_ACCOUNT_SID" else "stolen"
    response = send(adapter.outbound(settings_for(fake, **{credential: wrong}), "someone", "hi", ACCOUNT.get(channel)))
    assert not adapter.accepted(response.status_code, response.content)
    if channel == "viber":       # Viber refuses with HTTP 200 and its own status
        assert response.status_code == 200 and response.json()["status_message"] == "invalidAuthToken"
    else:
        assert response.status_code == 401
    assert fake.sent == [] and fake.refused == [(channel, response.status_code)]


def test_messenger_also_takes_the_page_token_as_the_access_token_parameter(fake):
    out = adapter_for("facebook_messenger").outbound(settings_for(fake), "psid", "hi", None)
    headers = {k: v for k, v in out.headers.items() if k != "Authorization"}
    response = requests.post(out.url, params={"access_token": "page-token"}, headers=headers, json=out.json, timeout=5)
    assert response.status_code == 200 and fake.sent[0]["to"] == "psid"


def test_a_request_not_in_the_providers_shape_is_refused(fake):
    bad = requests.post(fake.url + "/v2/bot/message/push", headers={"Authorization": "Bearer line-token"},
                        json={"to": "U1", "messages": []}, timeout=5)
    assert bad.status_code == 400
    viber = requests.post(fake.url + "/pa/send_message", headers={"X-Viber-Auth-Token": "viber-token"},
                          json={"receiver": "u", "type": "text", "text": "hi"}, timeout=5)
    assert (viber.status_code, viber.json()["status"]) == (200, 3)       # no sender name
    assert requests.post(fake.url + "/nowhere", json={}, timeout=5).status_code == 404
    assert fake.sent == []


def test_fail_next_simulates_provider_errors_then_recovers(fake):
    line = adapter_for("line")
    out = line.outbound(settings_for(fake), "U1", "hello", None)
    fake.fail_next(2, 503)
    assert [send(out).status_code for _ in range(3)] == [503, 503, 200]
    assert [r["text"] for r in fake.sent] == ["hello"]


def test_wait_for_wakes_on_a_send_and_times_out_without_one(fake):
    out = adapter_for("sms").outbound(settings_for(fake), "+66812345678", "later", None)
    timer = threading.Timer(0.2, send, [out])
    timer.start()
    got = fake.wait_for(lambda sent: any(r["text"] == "later" for r in sent), timeout=5)
    assert got[0]["channel"] == "sms"
    timer.join()
    with pytest.raises(AssertionError):
        fake.wait_for(lambda sent: len(sent) > 1, timeout=0.2)


def test_runs_as_a_program_printing_each_message():
    port = free_port()
    env = {**os.environ, **CREDENTIALS, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "scripts.fake_providers", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert f"http://127.0.0.1:{port}" in proc.stdout.readline()      # "fake chat providers at ..."
        proc.stdout.readline()                                             # the variables to set
        s = settings().replace(channels=CREDENTIALS | {"VIBER_API_BASE": f"http://127.0.0.1:{port}",
                                                       "VIBER_SENDER_NAME": "ILM"})
        assert send(adapter_for("viber").outbound(s, "viber-user", "Your case is ILM-7", None)).json()["status"] == 0
        assert proc.stdout.readline().strip() == format_sent(
            {"channel": "viber", "to": "viber-user", "text": "Your case is ILM-7"})
    finally:
        proc.kill()
        proc.wait(10)


# --- signed provider webhooks ---------------------------------------------------------------------

def test_signed_webhooks_verify_and_parse_as_the_providers_would_send_them(fake):
    s = settings_for(fake)
    url = "http://127.0.0.1:8000/v1/channels/sms"
    built = {
        "line": [hooks.line_text("line-secret", "U1", "ค่าจ้าง", event_id="E1"),
                 hooks.line_sticker("line-secret", "U1", event_id="E2"),
                 hooks.line_postback("line-secret", "U1", "withdraw", event_id="E3")],
        "whatsapp": [hooks.whatsapp_text("meta-secret", "668", "ငွေ", "106", msg_id="wamid.1"),
                     hooks.whatsapp_button("meta-secret", "668", "status", "Status", "106", msg_id="wamid.2"),
                     hooks.whatsapp_image("meta-secret", "668", "106", msg_id="wamid.3")],
        "facebook_messenger": [hooks.messenger_text("meta-secret", "P1", "hello", "PAGE", mid="m_1"),
                               hooks.messenger_quick_reply("meta-secret", "P1", "Yes", "confirm", "PAGE", mid="m_2")],
        "viber": [hooks.viber_text("viber-token", "V1=", "សួស្តី", token=42)],
        "sms": [hooks.sms("twilio-token", url, "+66812345678", "hello & goodbye", sid="SM1", to="+662")],
    }
    parsed = {}
    for channel, requests_ in built.items():
        adapter = adapter_for(channel)
        for headers, body in requests_:
            adapter.verify(s, url, headers, body)
            parsed.setdefault(channel, []).extend(adapter.parse(body))
    assert [(m.message_id, m.chat_id, m.kind, m.text, m.payload, m.media_type) for m in parsed["line"]] == [
        ("E1", "U1", "text", "ค่าจ้าง", None, None), ("E2", "U1", "unsupported", None, None, "sticker"),
        ("E3", "U1", "quick_reply", None, "withdraw", None)]
    assert [(m.message_id, m.chat_id, m.kind, m.text, m.payload, m.media_type, m.account) for m in parsed["whatsapp"]] == [
        ("wamid.1", "668", "text", "ငွေ", None, None, "106"), ("wamid.2", "668", "quick_reply", "Status", "status", None, "106"),
        ("wamid.3", "668", "unsupported", None, None, "image", "106")]
    assert [(m.message_id, m.kind, m.text, m.payload, m.account) for m in parsed["facebook_messenger"]] == [
        ("m_1", "text", "hello", None, "PAGE"), ("m_2", "quick_reply", "Yes", "confirm", "PAGE")]
    assert [(m.message_id, m.chat_id, m.text) for m in parsed["viber"]] == [("42", "V1=", "សួស្តី")]
    assert [(m.message_id, m.chat_id, m.text, m.account) for m in parsed["sms"]] == [
        ("SM1", "+66812345678", "hello & goodbye", "+662")]


def test_signed_webhooks_of_events_and_media(fake):
    s, url = settings_for(fake), "http://127.0.0.1:8000/v1/channels/sms"
    nothing = [("line", hooks.line_follow("line-secret", "U1")),
               ("whatsapp", hooks.whatsapp_status("meta-secret", "668", "106")),
               ("viber", hooks.viber_event("viber-token", "V1=", "delivered")),
               ("viber", hooks.viber_event("viber-token", "V1=", "subscribed"))]
    media = [("facebook_messenger", hooks.messenger_attachment("meta-secret", "P1", "PAGE", "audio"), "audio"),
             ("viber", hooks.viber_picture("viber-token", "V1="), "image"),
             ("sms", hooks.sms("twilio-token", url, "+668", "", media_type="image/jpeg"), "image")]
    for channel, (headers, body) in nothing:
        adapter_for(channel).verify(s, url, headers, body)
        assert adapter_for(channel).parse(body) == []
    for channel, (headers, body), kind in media:
        adapter_for(channel).verify(s, url, headers, body)
        [message] = adapter_for(channel).parse(body)
        assert (message.kind, message.media_type, message.text) == ("unsupported", kind, None)


def test_signed_webhooks_fail_verification_with_another_secret(fake):
    s = settings_for(fake)
    for channel, (headers, body) in [("line", hooks.line_text("other", "U1", "hi")),
                                     ("whatsapp", hooks.whatsapp_text("other", "668", "hi", "106")),
                                     ("viber", hooks.viber_text("other", "V1=", "hi")),
                                     ("sms", hooks.sms("other", s.sms_webhook_url or "http://x/sms", "+66", "hi"))]:
        with pytest.raises(BadSignature):
            adapter_for(channel).verify(s, "http://x/sms", headers, body)


def test_meta_handshake_query_is_accepted(fake):
    assert adapter_for("whatsapp").handshake(settings_for(fake), hooks.meta_handshake("verify", "123")) == "123"


# --- the partners' webhook receiver shares the server -------------------------------------------

def test_webhook_receiver_records_fails_on_request_and_waits():
    receiver = WebhookReceiver()
    try:
        receiver.fail_next["/hook"] = 1
        assert requests.post(receiver.url("/hook"), json={"n": 1}, timeout=5).status_code == 503
        threading.Timer(0.1, requests.post, [receiver.url("/hook")], {"json": {"n": 2}, "timeout": 5}).start()
        got = receiver.wait("/hook", lambda got: len(got) == 1, timeout=5)
        assert [r.json for r in got] == [{"n": 2}] and receiver.at("/other") == []
        assert receiver.wait("/other", lambda got: got == [], timeout=1) == []
        with pytest.raises(AssertionError, match="/other"):
            receiver.wait("/other", lambda got: got, timeout=0.2)
    finally:
        receiver.close()
