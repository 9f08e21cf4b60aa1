"""The ``caller`` dependency: who the current worker acts for.

``principal(roles)`` verifies the actor token that came with the call (nameko context
data, shared/auth.py) once per worker and checks its role. A door that authenticates
people itself (intake: a worker with a valid receipt) declares ``Caller(signs=True)``
and gets ``vouch(principal)``: a fresh token in the worker's context, so the RPC
calls the worker makes carry it. Only a signing service needs ACTOR_SIGNING_KEY; it
is checked when the container starts, not at the first request.
"""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from shared.auth import (
    TOKEN_KEY, Minter, Principal, Verifier, issuer_of_process, parse_signing_key, parse_verify_keys,
)
from shared.config import settings_of


class Caller(DependencyProvider):
    def __init__(self, signs: bool = False):
        self.signs = signs
        self.minter: Minter | None = None

    def setup(self):
        s = settings_of(self.container)
        self.verifier = Verifier(parse_verify_keys(s.actor_verify_keys))
        if self.signs:
            self.minter = Minter(issuer_of_process(self.container.service_name),
                                 parse_signing_key(s.actor_signing_key), s.actor_token_ttl)

    def get_dependency(self, worker_ctx):
        return _Caller(worker_ctx.data, self.verifier, self.minter)


class _Caller:
    def __init__(self, data: dict, verifier: Verifier, minter: Minter | None):
        self._data, self._verifier, self._minter = data, verifier, minter
        self._principal: Principal | None = None

    def principal(self, roles=None) -> Principal:
        """The verified principal (Unauthorized without a valid token; Forbidden when
        its role is not among ``roles``)."""
        if self._principal is None:
            self._principal = self._verifier.verify(self._data.get(TOKEN_KEY))
        return self._principal if roles is None else self._principal.require(roles)

    def vouch(self, principal: Principal) -> None:
        if self._minter is None:
            raise RuntimeError("this service does not sign tokens: declare Caller(signs=True)")
        self._data[TOKEN_KEY] = self._minter.mint(principal)
