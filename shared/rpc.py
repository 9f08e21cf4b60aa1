"""The RPC entrypoints every service uses: ``@command(Schema, allow=ROLES)`` for a use
case that changes something, ``@query(Schema, allow=ROLES)`` for one that only reads.

One decorator instead of ``@rpc`` plus hand-written checks, in this order:
1. the caller is authenticated: the actor comes only from the signed token in the
   call's context data (shared/auth.py), never from the payload (Unauthorized);
2. its role is one of ``allow`` (Forbidden), and a worker's token, which is bound
   to one case, names the payload's case (Forbidden);
3. the payload is validated against the contract schema (InvalidInput naming the bad
   fields; nothing is changed).
The method then gets ``(payload, actor)``: ``actor`` is the principal's plain dict
(id, role, and case_ref for a worker) that the domains check and the audit trails
record. Finer scope (the business a case is referred to, a partner's supply chain)
is the owning service's domain rule. The shared caller errors are declared expected,
so nameko logs them as warnings and the caller gets the same exception class back.
"""
import functools

import eventlet
from nameko.rpc import rpc

from shared.contracts.common import load
from shared.errors import EXPECTED, Forbidden, ServiceUnavailable
from shared.logging import bind


def _entrypoint(schema_cls, allow):
    roles = frozenset(allow)

    def wrap(fn):
        @functools.wraps(fn)
        def checked(self, payload):
            principal = self.caller.principal(roles)
            loaded = load(schema_cls, payload)
            if principal.case_ref and loaded.get("case_ref") != principal.case_ref:
                raise Forbidden("a worker acts on their own case only")
            bind(case_id=loaded.get("case_ref"), actor_role=principal.role)
            return fn(self, loaded, principal.actor)
        checked.allowed_roles = roles
        return rpc(expected_exceptions=EXPECTED)(checked)
    return wrap


command = _entrypoint
query = _entrypoint


def call_within(seconds: float, method, payload: dict):
    """An RPC call made from inside a service, bounded in time (nameko 2's proxy
    waits forever): ServiceUnavailable (503) when the answer does not come."""
    timeout = eventlet.Timeout(seconds)
    try:
        return method(payload)
    except eventlet.Timeout as exc:
        if exc is not timeout:
            raise
        raise ServiceUnavailable("the service that owns this did not answer in time; try again shortly") from None
    finally:
        timeout.cancel()
