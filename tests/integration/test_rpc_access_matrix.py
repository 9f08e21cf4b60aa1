"""Every RPC method of every service against every kind of caller, over RabbitMQ to
the real service processes: no token or a forged one is Unauthorized everywhere; a
role a method does not allow is Forbidden before its payload is even read; an
allowed role gets past the door (its scope is then the domain's, tested elsewhere).

The methods are discovered from the service classes, so a new entrypoint is in the
matrix the day it is written."""
import time

import jwt
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared import auth
from shared.auth import TOKEN_KEY, Principal
from shared.errors import Forbidden, Unauthorized
from shared.runner import PROCESSES, service_class
from tests.integration.helpers import unique

pytestmark = pytest.mark.integration
REF = unique("ILM")
PRINCIPALS = {
    "case_worker": Principal("cw-1", "case_worker"),
    "safeguarding_lead": Principal("lead-1", "safeguarding_lead"),
    "admin": Principal("admin-1", "admin"),
    "supplier": Principal("SUP-1", "supplier"),
    "agency": Principal("AG-1", "agency"),
    "partner": Principal("BRAND-1", "partner"),
    "worker": Principal("wk_" + "a" * 32, "worker", case_ref=REF),
    "system": Principal("remediation", "system"),
}
METHODS = sorted({(cls.name, name, frozenset(fn.allowed_roles))
                  for cls in map(service_class, PROCESSES)
                  for name, fn in vars(cls).items() if hasattr(fn, "allowed_roles")})


def test_the_matrix_covers_every_service_with_rpc():
    assert {service for service, _, _ in METHODS} == {"intake", "remediation", "validation", "notifications"}
    assert len(METHODS) >= 15


def forged_token() -> str:
    now = int(time.time())
    return jwt.encode({"iss": "gateway", "aud": auth.AUDIENCE, "sub": "cw-1", "role": "case_worker",
                       "iat": now, "exp": now + 30}, auth.parse_signing_key(auth.new_signing_key()),
                      algorithm="EdDSA", headers={"kid": "gateway"})


@pytest.mark.parametrize("context", [{}, {TOKEN_KEY: "not-a-token"}, "forged"], ids=["none", "garbage", "forged"])
def test_no_method_answers_a_caller_without_a_valid_token(stack, context):
    context = {TOKEN_KEY: forged_token()} if context == "forged" else context
    with ClusterRpcProxy(stack.rpc_config(), context_data=context, timeout=20) as rpc:
        for service, method, _ in METHODS:
            with pytest.raises(Unauthorized):
                # The old exploit: an actor stated in the payload.
                getattr(getattr(rpc, service), method)({"case_ref": REF,
                                                         "actor": {"id": "cw-1", "role": "case_worker"}})


@pytest.mark.parametrize("role", sorted(PRINCIPALS))
def test_each_role_passes_exactly_the_methods_that_allow_it(actors, role):
    client = actors(PRINCIPALS[role])
    for service, method, allowed in METHODS:
        call = getattr(getattr(client, service), method)
        if role in allowed:
            try:
                call({"case_ref": REF})
            except Unauthorized:
                pytest.fail(f"{role} was not recognised by {service}.{method}")
            except Forbidden as exc:       # the domain's scope may still refuse; the role did not
                assert "may not do this" not in str(exc), f"{role} refused by {service}.{method}"
            except Exception:  # noqa: BLE001 - InvalidInput, NotFound...: past the door
                pass
        else:
            with pytest.raises(Forbidden, match="may not do this"):
                call({"case_ref": REF})
