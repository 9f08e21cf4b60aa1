"""The chat providers' send APIs on localhost, for the tests and the demo: LINE push,
WhatsApp Cloud API, Messenger Send API, Viber send_message and Twilio Messages, all
at one address. Each checks the credential its provider requires, answers as the
provider does, and records what a worker would have received.

    with FakeProviders(credentials) as fake:     # credentials: the env names below
        env.update(fake.env())                    # point intake's *_API_BASE here
        ...
        fake.wait_for(lambda sent: any(s["to"] == user for s in sent))

``python -m scripts.fake_providers --port 8090`` runs it alone, printing each message
(credentials from the environment).
"""
from __future__ import annotations

import argparse
import base64
import hmac
import json
import os
import re
import secrets
import time
from typing import Callable, Mapping
from urllib.parse import parse_qs, parse_qsl, urlsplit

from scripts.local_http import LocalHttpServer
from services.intake.channels.base import length

CREDENTIALS = ("LINE_CHANNEL_TOKEN", "WHATSAPP_TOKEN", "MESSENGER_PAGE_TOKEN", "VIBER_AUTH_TOKEN",
               "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
GRAPH_VERSION = "v21.0"
ROUTES = [
    (re.compile(r"^/v2/bot/message/push$"), "line"),
    (re.compile(r"^/v[\d.]+/me/messages$"), "facebook_messenger"),
    (re.compile(r"^/v[\d.]+/(?P<account>\d+)/messages$"), "whatsapp"),
    (re.compile(r"^/pa/send_message$"), "viber"),
    (re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages\.json$"), "sms"),
]


class Refused(Exception):
    """The provider's refusal: (HTTP status, its error body)."""

    def __init__(self, status: int, body: dict):
        super().__init__(status, body)
        self.status, self.body = status, body


def _same(expected: str | None, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected.encode(), given.encode())


def _bearer(headers) -> str | None:
    value = headers.get("Authorization") or ""
    return value[7:] if value.startswith("Bearer ") else None


def _text(value, limit: int) -> str:
    if not isinstance(value, str) or not value or length(value) > limit:
        raise ValueError(f"text missing or longer than {limit}")
    return value


def format_sent(record: dict) -> str:
    """One line for a message a worker received, as the demo prints it."""
    return f"[{record['channel']} -> {record['to']}] {record['text']}"


class FakeProviders(LocalHttpServer):
    def __init__(self, credentials: Mapping[str, str], port: int = 0,
                 on_send: Callable[[dict], None] | None = None):
        super().__init__(port)
        self.credentials = {name: credentials.get(name) or None for name in CREDENTIALS}
        self.on_send = on_send
        self.sent: list[dict] = []
        self.refused: list[tuple[str, int]] = []     # (channel, status) of each refusal
        self._failing: list[int] = []                 # statuses the next sends answer

    @property
    def url(self) -> str:
        return self.base_url

    def env(self) -> dict:
        """intake's API bases pointing here."""
        return {"LINE_API_BASE": self.url, "GRAPH_API_BASE": f"{self.url}/{GRAPH_VERSION}",
                "VIBER_API_BASE": self.url, "TWILIO_API_BASE": self.url}

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        """The next ``n`` sends that pass authentication fail with ``status``."""
        with self.changed:
            self._failing += [status] * n

    def wait_for(self, predicate: Callable[[list], bool], timeout: float = 10.0) -> list[dict]:
        """``sent`` once ``predicate(sent)`` holds; AssertionError after ``timeout``."""
        found = self.wait_until(lambda: (list(self.sent),) if predicate(self.sent) else None,
                                timeout, "a send satisfying the condition")
        return found[0]

    # --- serving ------------------------------------------------------------------------------

    def respond(self, method, path, headers, body):
        url = urlsplit(path)
        for pattern, channel in ROUTES:
            match = pattern.match(url.path)
            if match and method == "POST":
                break
        else:
            return self._answer(404, {"error": f"no provider API at {method} {url.path}"})
        try:
            self._authenticate(channel, headers, parse_qs(url.query), match.groupdict().get("account"))
            try:
                to, texts = self._read(channel, headers, body)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise Refused(*self._bad_request(channel, str(exc))) from None
            with self.changed:
                if self._failing:
                    status = self._failing.pop(0)
                    raise Refused(status, {"error": "simulated provider failure", "status": status})
                records = [{"channel": channel, "to": to, "text": t, "at": time.time()} for t in texts]
                self.sent += records
                self.changed.notify_all()
        except Refused as refusal:
            with self.changed:
                self.refused.append((channel, refusal.status))
                self.changed.notify_all()
            return self._answer(refusal.status, refusal.body)
        for record in records:
            if self.on_send:
                self.on_send(record)
        return self._answer(*self._accepted(channel, to, texts))

    def _authenticate(self, channel: str, headers, query: dict, account: str | None) -> None:
        c = self.credentials
        if channel == "line" and not _same(c["LINE_CHANNEL_TOKEN"], _bearer(headers)):
            raise Refused(401, {"message": "Authentication failed. Confirm that the access token in the "
                                           "authorization header is valid."})
        if channel in ("whatsapp", "facebook_messenger"):
            token = _bearer(headers) or (query.get("access_token") or [None])[0]
            expected = c["WHATSAPP_TOKEN" if channel == "whatsapp" else "MESSENGER_PAGE_TOKEN"]
            if not _same(expected, token):
                raise Refused(401, {"error": {"message": "Invalid OAuth access token - Cannot parse access token",
                                              "type": "OAuthException", "code": 190}})
        if channel == "viber" and not _same(c["VIBER_AUTH_TOKEN"], headers.get("X-Viber-Auth-Token")):
            raise Refused(200, {"status": 2, "status_message": "invalidAuthToken"})   # Viber: HTTP 200
        if channel == "sms":
            expected = f"{c['TWILIO_ACCOUNT_SID']}:{c['TWILIO_AUTH_TOKEN']}"
            given = headers.get("Authorization") or ""
            try:
                user_pass = base64.b64decode(given[6:]).decode() if given.startswith("Basic ") else None
            except ValueError:
                user_pass = None
            if not (c["TWILIO_AUTH_TOKEN"] and _same(expected, user_pass) and account == c["TWILIO_ACCOUNT_SID"]):
                raise Refused(401, {"code": 20003, "message": "Authenticate", "status": 401,
                                    "more_info": "https://www.twilio.com/docs/errors/20003"})

    def _read(self, channel: str, headers, body: bytes) -> tuple[str, list[str]]:
        """Whom to and what, from a request in the provider's shape (ValueError if not)."""
        if channel == "sms":
            form = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
            if not form.get("From") and not form.get("MessagingServiceSid"):
                raise ValueError("From is required")
            return form["To"], [_text(form.get("Body"), 1600)]
        data = json.loads(body)
        if channel == "line":
            messages = data["messages"]
            if not 1 <= len(messages) <= 5 or any(m["type"] != "text" for m in messages):
                raise ValueError("1 to 5 text messages")
            return data["to"], [_text(m["text"], 5000) for m in messages]
        if channel == "whatsapp":
            if data["messaging_product"] != "whatsapp" or data["type"] != "text":
                raise ValueError("a whatsapp text message")
            return data.get("to") or data["recipient"], [_text(data["text"]["body"], 4096)]
        if channel == "facebook_messenger":
            if data["messaging_type"] not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
                raise ValueError("messaging_type")
            return data["recipient"]["id"], [_text(data["message"]["text"], 2000)]
        if data["type"] != "text" or not data["sender"]["name"]:
            raise ValueError("a viber text message with a sender name")
        return data["receiver"], [_text(data["text"], 7000)]

    @staticmethod
    def _bad_request(channel: str, why: str) -> tuple[int, dict]:
        return {"line": (400, {"message": "The request body has 1 error(s)", "details": [{"message": why}]}),
                "whatsapp": (400, {"error": {"message": f"(#100) Invalid parameter: {why}", "code": 100}}),
                "facebook_messenger": (400, {"error": {"message": f"(#100) {why}", "code": 100}}),
                "viber": (200, {"status": 3, "status_message": "badData"}),
                "sms": (400, {"code": 21602, "message": why, "status": 400})}[channel]

    @staticmethod
    def _accepted(channel: str, to: str, texts: list[str]) -> tuple[int, dict]:
        if channel == "line":
            return 200, {"sentMessages": [{"id": str(secrets.randbits(60)), "quoteToken": secrets.token_urlsafe(16)}
                                          for _ in texts]}
        if channel == "whatsapp":
            return 200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                         "messages": [{"id": "wamid." + secrets.token_urlsafe(30)}]}
        if channel == "facebook_messenger":
            return 200, {"recipient_id": to, "message_id": "m_" + secrets.token_urlsafe(40)}
        if channel == "viber":
            return 200, {"status": 0, "status_message": "ok", "message_token": secrets.randbits(62),
                         "chat_hostname": "SN-CHAT-01_"}
        return 201, {"sid": "SM" + secrets.token_hex(16), "status": "queued", "to": to, "body": texts[0],
                     "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01"}

    @staticmethod
    def _answer(status: int, body: dict) -> tuple[int, dict, bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    missing = [name for name in CREDENTIALS if not os.environ.get(name)]
    if missing:
        print(f"not set, so those providers refuse every send: {', '.join(missing)}", flush=True)
    fake = FakeProviders(os.environ, args.port, on_send=lambda r: print(format_sent(r), flush=True)).start()
    print(f"fake chat providers at {fake.url}; point intake at them with:", flush=True)
    print(" ".join(f"{k}={v}" for k, v in fake.env().items()), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
