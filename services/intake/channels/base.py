"""What every chat-provider adapter shares: the normalised inbound message, the
outbound request, the two refusals, and the pieces of signature checking and payload
reading each provider would otherwise repeat.

Adapters are pure: no I/O, no clock. The endpoint verifies the signature over the raw
body first (BadSignature: 401, nothing stored), then parses (BadPayload: 400); sending
an Outbound is the caller's.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Callable, Mapping

from shared.errors import ConfigError


@dataclass(frozen=True)
class Inbound:
    channel: str            # a name of shared/contracts/common.py CHANNELS
    message_id: str         # the provider's id of this message: the redelivery key
    chat_id: str            # whom to answer (LINE userId, wa_id, PSID, Viber id, phone number)
    kind: str               # "text" | "quick_reply" | "unsupported"
    text: str | None        # message text (quick reply: its visible text, if any)
    payload: str | None = None     # quick-reply / postback / button payload
    media_type: str | None = None  # for "unsupported": "sticker", "image", "audio", "location", ...
    account: str | None = None     # the receiving account, where the provider names one


@dataclass(frozen=True)
class Outbound:
    """One HTTP request to a provider's send API."""
    method: str
    url: str
    headers: dict
    json: dict | None = None
    form: dict | None = None
    auth: tuple | None = None   # basic auth (Twilio)


class BadSignature(Exception):
    """Signature missing or invalid, or the channel not configured: 401, store nothing."""


class BadPayload(Exception):
    """Signed, but not in the provider's shape: 400."""


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by name, whatever its case."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def hmac_digest(secret: str, message: bytes, digestmod=hashlib.sha256) -> bytes:
    return hmac.new(secret.encode(), message, digestmod).digest()


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def usable(secret: str | None) -> bool:
    """Set, and not the committed Kubernetes placeholder (a published value)."""
    return bool(secret) and not secret.startswith("REPLACE_ME")


def check_signature(secret: str, given: str | None, expected: Callable[[], str]) -> None:
    """Constant-time comparison of a signature header with ``expected()``. An unset
    secret refuses everything: HMAC with an empty key is a signature anyone can make."""
    if not usable(secret):
        raise BadSignature("channel not configured")
    if not given:
        raise BadSignature("signature header missing")
    if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected().encode()):
        raise BadSignature("signature does not match")


def same_secret(configured: str, given: str | None) -> bool:
    """Constant-time equality of a shared token; never true for an unconfigured one."""
    return usable(configured) and given is not None and hmac.compare_digest(
        configured.encode(), given.encode("utf-8", "replace"))


def load_json(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload("body is not JSON") from exc
    if not isinstance(data, dict):
        raise BadPayload("body is not a JSON object")
    return data


def field(obj, key: str, kind=dict, required: bool = True):
    """``obj[key]`` checked to be ``kind``; absent and optional: None. Numbers count as
    strings where providers send ids as numbers (Viber's message_token)."""
    if not isinstance(obj, dict):
        raise BadPayload(f"expected an object around {key!r}")
    value = obj.get(key)
    if value is None and not required:
        return None
    if kind is str and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, kind) or (kind is str and not value):
        raise BadPayload(f"{key!r} missing or not a {kind.__name__}")
    return value


def items(obj, key: str) -> list[dict]:
    """An optional list of objects (``entry``, ``messages``, ``events``...)."""
    values = field(obj, key, list, required=False) or []
    if not all(isinstance(v, dict) for v in values):
        raise BadPayload(f"{key!r} holds something other than objects")
    return values


def configured(value: str, name: str) -> str:
    """A sending credential: refuse to build a request without it."""
    if not usable(value):
        raise ConfigError(f"{name} is not set: this channel cannot send")
    return value


def length(text: str) -> int:
    """Characters as the providers count them (UTF-16 units: an emoji may count two)."""
    return len(text.encode("utf-16-le")) // 2


def within(text: str, limit: int, channel: str) -> str:
    """The provider rejects longer texts: the caller splits them (split_text)."""
    if length(text) > limit:
        raise ValueError(f"{channel} accepts at most {limit} characters a message, got {length(text)}")
    return text


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at whitespace if possible."""
    pieces = []
    while length(text) > limit:
        end = limit
        while length(text[:end]) > limit:
            end -= 1
        cut = text.rfind(" ", 0, end + 1)
        cut = cut if cut > 0 else end
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return pieces + [text] if text or not pieces else pieces


class Adapter:
    """One provider: ``verify``, ``parse`` and ``outbound`` (see the modules)."""
    channel: str
    max_text: int           # the provider's limit on one text message, in characters

    def accepted(self, status: int, body: bytes) -> bool:
        """Whether the provider took a send: a 2xx answer (Viber differs)."""
        return 200 <= status < 300
