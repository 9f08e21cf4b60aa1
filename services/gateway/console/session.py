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
# The business and partner portal (portal_pages.py): its own path and cookie, holding a
# short token that names the API key verified at login (never the key itself).
PORTAL = "/portal"
PORTAL_COOKIE = "ilm_portal"


def over_https(request, behind_https_proxy: bool) -> bool:
    """Whether the browser reached us over https: directly, or through the trusted
    TLS-terminating proxy (CONSOLE_HTTPS_PROXY) that says so. Only then is a
    client-sent X-Forwarded-Proto believed."""
    if request.scheme == "https":
        return True
    return behind_https_proxy and request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def keep_session(response: Response, token: dict, secure: bool, path: str = ROOT,
                 cookie: str = SESSION_COOKIE) -> Response:
    """``token``: the login's answer (access_token, expires_in); ``path``, ``cookie``: the
    console's, or the portal's (portal_session.py)."""
    response.set_cookie(cookie, token["access_token"], max_age=int(token["expires_in"]), path=path,
                        httponly=True, samesite="Strict", secure=secure)
    return response


def end_session(response: Response, secure: bool, path: str = ROOT, cookie: str = SESSION_COOKIE) -> Response:
    response.delete_cookie(cookie, path=path, httponly=True, samesite="Strict", secure=secure)
    return response


def session_token(request, cookie: str = SESSION_COOKIE) -> str:
    """The session cookie's token (Unauthorized: not logged in)."""
    token = request.cookies.get(cookie, "")
    if not token or len(token) > 4096:
        raise Unauthorized("not logged in")
    return token


def bearer(request) -> str:
    """The Authorization value the doorkeeper checks, from the session cookie."""
    return f"Bearer {session_token(request)}"
