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
from shared.auth import Principal
from shared.errors import Unauthorized

REFUSED = "a valid API key or staff access token is required"


class Doorkeeper:
    def __init__(self, accounts, keys, staff_tokens, limits, api_rate: str):
        self.accounts, self.keys, self.staff_tokens = accounts, keys, staff_tokens
        self.limits, self.api_rate = limits, api_rate

    def authenticate(self, authorization: str | None, now: datetime) -> Principal:
        scheme, _, credential = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise Unauthorized(REFUSED)
        credential = credential.strip()
        principal = self._api_key(credential, now) if credential.startswith(KEY_PREFIX) else self._staff(credential)
        self.limits.hit(self.api_rate, f"api:{principal.key_id or principal.id}")
        return principal

    def _api_key(self, presented: str, now: datetime) -> Principal:
        key_id = key_id_of(presented)
        key = self.keys.get(key_id) if key_id else None
        if key is None or not key.matches(presented):
            raise Unauthorized(REFUSED)
        if key.used(now):       # last_used_at, written at most once a minute
            self.keys.change(key_id, lambda k: k.used(now))
        return key.principal()

    def _staff(self, token: str) -> Principal:
        username, _ = self.staff_tokens.verify(token)
        account = self.accounts.get(username)
        if account is None or not account.active:      # deactivated since the login
            raise Unauthorized(REFUSED)
        return account.principal()                     # the role as it is now, not as it was
