"""HTTP plumbing of the server-rendered pages (the worker page, services/intake/pages.py,
and the staff console, services/gateway/console/): an HTML entrypoint on the door's own
server, the security headers of every answer, form bodies read with the JSON door's
limits, and the double-submit CSRF token.

The pages show receipts and workers' words, so nothing of them may be cached, framed,
sent as a referrer or loaded from elsewhere, and they run no script at all (the CSP
forbids any).
"""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qsl

from werkzeug.wrappers import Response

from shared.errors import Forbidden, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from shared.http import JsonHttp
from shared.json_body import MAX_BODY_BYTES

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 40                    # the largest form has a dozen
CSRF_COOKIE, CSRF_FIELD = "ilm_csrf", "csrf_token"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",   # pages show receipts
}


def secured(response: Response, cache: str | None = None) -> Response:
    """``response`` with the page's security headers (``cache``: a static file's own)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if cache:
        response.headers["Cache-Control"] = cache
    return response


def html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html")


class PageHttp(JsonHttp):
    """An HTML route on the same (bounded) web server as the JSON door. The method gets
    the request and the path values and returns a Response; errors it does not turn
    into a page itself become a bare page with the status (never a JSON problem)."""

    def __init__(self, method, url, **kwargs):
        super().__init__(method, url, documented=False, **kwargs)

    def get_entrypoint_parameters(self, request):
        return (request,), dict(request.path_values)

    def response_from_result(self, result):
        return secured(result)

    def _problem(self, exc, path):
        problem = super()._problem(exc, path)      # the status, Retry-After and the log line
        response = html(f"<!doctype html><html lang='en'><title>{problem.status_code}</title>"
                        f"<p>Error {problem.status_code}</p></html>", problem.status_code)
        if "Retry-After" in problem.headers:
            response.headers["Retry-After"] = problem.headers["Retry-After"]
        return secured(response)


page = PageHttp.decorator


def read_form(request, max_bytes: int = MAX_BODY_BYTES) -> dict[str, str]:
    """A form body (first value of each field): 415 unless form-encoded, 413 over the
    JSON door's size limit (read no further), 400 when not UTF-8 or too many fields."""
    if request.mimetype != FORM_TYPE or (request.mimetype_params.get("charset") or "utf-8").lower() not in (
            "utf-8", "utf8"):
        raise UnsupportedMediaType("send the form as application/x-www-form-urlencoded (UTF-8)")
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    try:
        text = raw.decode("ascii")       # form encoding percent-escapes everything else
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput({"_body": ["not a UTF-8 form"]}) from None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value.replace("\r\n", "\n"))
    return form


# --- CSRF: double submit -------------------------------------------------------------------

def csrf_token(request) -> str:
    """The browser's token if it has a well-formed one (several tabs keep working), else a new one."""
    token = request.cookies.get(CSRF_COOKIE, "")
    return token if len(token) == 43 and token.replace("-", "").replace("_", "").isalnum() \
        else secrets.token_urlsafe(32)


def set_csrf_cookie(response: Response, request, token: str, path: str = "/app", secure: bool | None = None
                    ) -> Response:
    """``secure``: whether the browser reached us over https (default: this request's scheme)."""
    response.set_cookie(CSRF_COOKIE, token, path=path, httponly=True, samesite="Strict",
                        secure=request.scheme == "https" if secure is None else secure)
    return response


class CsrfRefused(Forbidden):
    """A form post without the token of the form the page gave (403): its own type, so
    the page tells the worker to send the form again, never for another refusal."""


def check_csrf(request, form: dict) -> None:
    """CsrfRefused unless the form's hidden token equals the cookie's (constant time)."""
    cookie, field = request.cookies.get(CSRF_COOKIE, ""), form.get(CSRF_FIELD, "")
    if not (cookie and field and hmac.compare_digest(cookie.encode(), field.encode())):
        raise CsrfRefused("the form's security token is missing or does not match")
