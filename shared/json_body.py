"""Reading a JSON request body that anyone on the internet may send.

Each check answers before the input can cost more than its size: the declared media
type (415), the size (413, read no further than the limit), strict UTF-8, the
nesting depth counted in one linear pass before parsing (Python's parser recurses,
and would fail past the interpreter's recursion limit), then the parse itself with
no NaN/Infinity, no lone surrogates (they cannot be encoded, so would fail later,
at sealing or logging time) and a JSON object at the top.
"""
from __future__ import annotations

import json
import re
from itertools import accumulate

from shared.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 20
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def is_json_media_type(mimetype: str, charset: str | None) -> bool:
    json_type = mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))
    return json_type and (charset or "utf-8").lower() in ("utf-8", "utf8")


def body_bytes(request, max_bytes: int = MAX_BODY_BYTES, json_only: bool = True) -> bytes:
    """The raw body of a werkzeug request: 415 unless declared JSON (``json_only``),
    413 over the limit."""
    declared = request.content_length
    if json_only and (declared or request.headers.get("Transfer-Encoding")) and not is_json_media_type(
            request.mimetype, request.mimetype_params.get("charset")):
        raise UnsupportedMediaType("send the body as application/json (UTF-8)")
    if declared is not None and declared > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    return raw


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest, without parsing: once escapes are gone every
    remaining quote opens or closes a string, and only brackets outside strings count."""
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    structure = _NOT_BRACKET.sub("", "".join(unescaped.split('"')[::2]))
    return max(accumulate(map(_STEP.__getitem__, structure)), default=0)


def parse_object(raw: bytes, max_depth: int = MAX_DEPTH) -> dict:
    """A JSON object from the raw body, or InvalidInput naming ``_body``."""
    if not raw.strip():
        raise _bad("a JSON object is required")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("not UTF-8") from None
    if nesting_depth(text) > max_depth:
        raise _bad(f"nested deeper than {max_depth} levels")
    try:
        data = json.loads(text, parse_constant=_no_constant)
        json.dumps(data, ensure_ascii=False).encode("utf-8")   # a lone surrogate anywhere fails here
    except UnicodeEncodeError:
        raise _bad("contains a lone surrogate (invalid Unicode)") from None
    except ValueError:
        raise _bad("not valid JSON") from None
    if not isinstance(data, dict):
        raise _bad("expected a JSON object")
    return data


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _bad(message: str) -> InvalidInput:
    return InvalidInput({"_body": [message]})
