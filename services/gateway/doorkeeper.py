"""Who is knocking: the principal of a gateway request, from its credential.

``Authorization: Bearer <credential>``: an API key (``ilmk_...``) names a business or
partner; anything else must be a staff access token (sessions.py) of an account
that is still active. Every principal is then rate limited (API_RATE_LIMIT, per key
or per account). Credentials never reach a log line; a refusal never says which
part was wrong.
"""
from __future__ import annotations

from datetime import datetime

from services.gateway.credentials import KEY_PREFIX, key_id_of
from services.gateway.two_factor import ENROLMENT_SCOPE
from shared.auth import Principal
from shared.errors import Forbidden, Unauthorized

REFUSED = "a valid API key or staff access token is required"
# A portal session's token (console/portal_session.py): names an API key, never an account.
PORTAL_SCOPE = "portal"


class Doorkeeper:
    def __init__(self, accounts, keys, staff_tokens, limits, api_rate: str):
        self.accounts, self.keys, self.staff_tokens = accounts, keys, staff_tokens
        self.limits, self.api_rate = limits, api_rate

    def authenticate(self, authorization: str | None, now: datetime, enrolling: bool = False) -> Principal:
        """``enrolling``: the two-factor enrolment endpoints, the only ones a token of
        the enrolment scope may use (two_factor.py)."""
        scheme, _, credential = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise Unauthorized(REFUSED)
        credential = credential.strip()
        if credential.startswith(KEY_PREFIX):
            principal = self._api_key(credential, now)
        else:
            principal = self._staff(credential, enrolling)
        self.limits.hit(self.api_rate, f"api:{principal.key_id or principal.id}")
        return principal

    def portal(self, token: str, now: datetime) -> Principal:
        """The principal of a portal session (a token the portal issued for an API key it
        verified at login): the key must still be valid now, so a revoked key is out at
        its next request; rate limited as the key itself."""
        claims = self.staff_tokens.claims(token)
        key = self.keys.get(str(claims["sub"])) if claims.get("scope") == PORTAL_SCOPE else None
        if key is None or key.revoked_at is not None:
            raise Unauthorized(REFUSED)
        self.limits.hit(self.api_rate, f"api:{key.key_id}")
        return self._in_use(key, now)

    def _api_key(self, presented: str, now: datetime) -> Principal:
        key_id = key_id_of(presented)
        key = self.keys.get(key_id) if key_id else None
        if key is None or not key.matches(presented):
            raise Unauthorized(REFUSED)
        return self._in_use(key, now)

    def _in_use(self, key, now: datetime) -> Principal:
        if key.used(now):       # last_used_at, written at most once a minute
            self.keys.change(key.key_id, lambda k: k.used(now))
        return key.principal()

    def _staff(self, token: str, enrolling: bool = False) -> Principal:
        claims = self.staff_tokens.claims(token)
        if claims.get("scope") == PORTAL_SCOPE:         # a portal session is no staff token
            raise Unauthorized(REFUSED)
        account = self.accounts.get(str(claims["sub"]))
        if account is None or not account.active:      # deactivated since the login
            raise Unauthorized(REFUSED)
        if claims.get("scope") == ENROLMENT_SCOPE and not enrolling:
            raise Forbidden("two-factor login is required for this account: enrol first "
                            "(POST /v1/auth/two-factor), then log in with a code")
        return account.principal()                     # the role as it is now, not as it was
