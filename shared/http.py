"""JSON over nameko's HTTP entrypoint: bodies validated by schema, errors as JSON.

``json_http`` replaces ``nameko.web.handlers.http``: the shared error types map to
their status code with a body naming the bad fields, anything else is a 500 with
no detail (and is logged). The caller's ``X-Correlation-ID`` is continued.
"""
from __future__ import annotations

import json

from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from shared.contracts.common import load
from shared.errors import EXPECTED, InvalidInput
from shared.logging import get_logger

log = get_logger(__name__)
MAX_BODY_BYTES = 64 * 1024


def json_response(status: int, body) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class JsonHttp(HttpRequestHandler):

    def __init__(self, method, url, **kwargs):
        kwargs.setdefault("expected_exceptions", EXPECTED)
        super().__init__(method, url, **kwargs)

    def response_from_exception(self, exc):
        status = getattr(exc, "http_status", None)
        if status is None:
            log.error("http_unhandled_error", error=repr(exc))
            return json_response(500, {"error": "internal error"})
        body = {"error": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, InvalidInput):
            body["fields"] = exc.errors
        response = json_response(status, body)
        if getattr(exc, "retry_after", None) is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response


json_http = JsonHttp.decorator


def read_json(request, schema) -> dict:
    # ``schema``: a marshmallow Schema class (or instance), see contracts.common.load.
    """Parse and validate a JSON body; InvalidInput (400) names the bad fields."""
    return load(schema, parse_json(request))


def parse_json(request):
    """The parsed JSON body, unvalidated (a caller that forwards it validates it
    where it is used)."""
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise InvalidInput({"_body": [f"larger than {MAX_BODY_BYTES} bytes"]})
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput({"_body": [f"larger than {MAX_BODY_BYTES} bytes"]})
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        raise InvalidInput({"_body": ["not valid JSON"]}) from None
    return data
