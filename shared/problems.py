"""RFC 9457 problem details: the body of every error answer of the HTTP doors.

``{"type", "title", "status", "detail", "instance"}`` as ``application/problem+json``,
plus ``errors`` (field -> messages) for invalid input. The type and title depend only
on the status, so a client (or the OpenAPI document) can rely on them; ``detail`` is
the error's own message, never for a 500, whose cause may quote the input.
"""
from __future__ import annotations

import json

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from shared.errors import InvalidInput

PROBLEM_JSON = "application/problem+json"
BASE = "https://ilm.example/problems/"
# status -> (type slug, title). Any other status is about:blank with its HTTP reason.
TYPES = {
    400: ("invalid-input", "Invalid input"),
    401: ("not-recognised", "Case reference or proof not recognised"),
    403: ("forbidden", "Not allowed for this caller"),
    404: ("not-found", "Not found"),
    409: ("invalid-transition", "Not possible in the current state"),
    413: ("body-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Request body must be JSON"),
    429: ("too-many-attempts", "Too many failed attempts"),
    503: ("unavailable", "Temporarily unavailable"),
}


def problem_type(status: int) -> str:
    return BASE + TYPES[status][0] if status in TYPES else "about:blank"


def problem(status: int, instance: str, detail: str | None = None, errors: dict | None = None,
            headers=None) -> Response:
    body = {"type": problem_type(status),
            "title": TYPES[status][1] if status in TYPES else HTTP_STATUS_CODES.get(status, "Error"),
            "status": status, "instance": instance}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON, headers=headers)


def from_exception(exc: BaseException, instance: str) -> Response:
    """The problem for an error of shared/errors.py; anything else is a bare 500."""
    status = getattr(exc, "http_status", None)
    if status is None:
        return problem(500, instance)
    response = problem(status, instance, str(exc),
                       errors=_messages(exc.errors) if isinstance(exc, InvalidInput) else None)
    if getattr(exc, "retry_after", None) is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _messages(errors: dict) -> dict:
    """field -> list of messages, whatever shape the schema library gave."""
    return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}


def from_http_exception(exc, instance: str) -> Response:
    """werkzeug's routing errors (no such path, method not allowed) as problems."""
    allow = [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]
    return problem(exc.code, instance, exc.description, headers=allow)
