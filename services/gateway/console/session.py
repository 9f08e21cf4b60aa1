"""The console's session: the staff access token (services/gateway/sessions.py) kept in
a cookie the page's script could never read (there is none anyway): HttpOnly,
SameSite=Strict, path /console, Secure when the browser came over https. Each page
a logged-in member opens renews it for another STAFF_TOKEN_TTL, so a session ends
after that long idle; logout clears it.

The token itself is the one POST /v1/auth/login answers (the same handlers.login),
checked on every request by the same doorkeeper as the /v1 API (a deactivated
account is out at once)."""
from __future__ import annotations

from werkzeug.wrappers import Response

from shared.errors import Unauthorized

ROOT = "/console"
SESSION_COOKIE = "ilm_console"


def over_https(request, behind_https_proxy: bool) -> bool:
    """Whether the browser reached us over https: directly, or through the trusted
    TLS-terminating proxy (CONSOLE_HTTPS_PROXY) that says so. Only then is a
    client-sent X-Forwarded-Proto believed."""
    if request.scheme == "https":
        return True
    return behind_https_proxy and request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def keep_session(response: Response, token: dict, secure: bool) -> Response:
    """``token``: the login's answer (access_token, expires_in)."""
    response.set_cookie(SESSION_COOKIE, token["access_token"], max_age=int(token["expires_in"]), path=ROOT,
                        httponly=True, samesite="Strict", secure=secure)
    return response


def end_session(response: Response, secure: bool) -> Response:
    response.delete_cookie(SESSION_COOKIE, path=ROOT, httponly=True, samesite="Strict", secure=secure)
    return response


def bearer(request) -> str:
    """The Authorization value the doorkeeper checks, from the session cookie."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token or len(token) > 4096:
        raise Unauthorized("not logged in")
    return f"Bearer {token}"
