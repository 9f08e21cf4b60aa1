"""Staff access tokens: what a staff member gets for a good password, sent back as
``Authorization: Bearer <token>`` until it expires (STAFF_TOKEN_TTL, 15 minutes by
default; no refresh: log in again).

An EdDSA JWT signed with the gateway's key, for the audience ``ilm-api``: it is not
an actor token (audience ``ilm-rpc``, shared/auth.py), so neither can stand for the
other. The seam for single sign-on is ``StaffTokens.verify``: an OIDC provider's
verifier would return the same (username, role) from the provider's ID token, and
local accounts would then only hold roles.
"""
from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.errors import Unauthorized

AUDIENCE = "ilm-api"
ISSUER = "gateway"


class StaffTokens:
    def __init__(self, signing_key: Ed25519PrivateKey, ttl: float):
        self._key, self._public, self.ttl = signing_key, signing_key.public_key(), int(ttl)

    def issue(self, username: str, role: str, scope: str | None = None) -> dict:
        """``scope``: a token limited to one purpose (two-factor enrolment), or None."""
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": username, "role": role, "iat": now,
                  "exp": now + self.ttl, "jti": uuid.uuid4().hex}
        if scope:
            claims["scope"] = scope
        token = jwt.encode(claims, self._key, algorithm="EdDSA")
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.ttl}
        return {**answer, "scope": scope} if scope else answer

    def verify(self, token: str) -> tuple[str, str]:
        claims = self.claims(token)
        return str(claims["sub"]), str(claims.get("role"))

    def claims(self, token: str) -> dict:
        try:
            return jwt.decode(token, self._public, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER,
                              options={"require": ["exp", "iat", "sub", "aud", "iss"]})
        except jwt.PyJWTError:
            raise Unauthorized("the access token is not valid; log in again") from None
