"""Every gateway endpoint against every kind of caller, across the real processes:
no credential, a garbage one, a forged or expired staff token and a revoked API key
are 401 everywhere; a role the owning service does not allow is 403; an allowed
role gets past the door (then scope and payload are the owner's business).

The forwarded routes and who may call them come from the route table and the
owning services' declarations, so a new endpoint is in the matrix at once."""
import pytest

from scripts.api_client import Api
from scripts.stack import signing_keys
from services.gateway.routes import FORWARDS
from services.gateway.sessions import StaffTokens
from shared import auth
from shared.contracts.common import ADMIN_ROLES, STAFF_ROLES
from shared.runner import service_class
from tests.integration.helpers import key_for, unique

pytestmark = pytest.mark.integration
REF = unique("ILM")
VALUES = {"case_ref": REF, "business_ref": "SUP-NOBODY", "subscription_id": "sub_" + "0" * 32,
          "ref": "SUP-NOBODY", "link": "sources_from", "to_ref": "SUP-OTHER", "action_id": "P1-1"}
OWN = [  # the gateway's own endpoints and who may use them
    ("POST", "/v1/staff", ADMIN_ROLES),
    ("DELETE", "/v1/staff/nobody-here", ADMIN_ROLES),
    ("POST", "/v1/api-keys", STAFF_ROLES + ADMIN_ROLES),
    ("GET", "/v1/api-keys", STAFF_ROLES + ADMIN_ROLES),
    ("DELETE", "/v1/api-keys/key_0000000000000000", STAFF_ROLES + ADMIN_ROLES),
    ("POST", "/v1/auth/two-factor", STAFF_ROLES + ADMIN_ROLES),
    ("POST", "/v1/auth/two-factor/confirmation", STAFF_ROLES + ADMIN_ROLES),
    ("DELETE", "/v1/staff/nobody-here/two-factor", ADMIN_ROLES),
    ("GET", "/v1/two-factor-policy", ADMIN_ROLES),
    ("POST", "/v1/two-factor-policy", ADMIN_ROLES),
]


def endpoints():
    for f in FORWARDS:
        allowed = getattr(service_class(f.service), f.method).allowed_roles
        path = f.path
        for name, value in VALUES.items():
            path = path.replace(f"<{name}>", value)
        yield f.verb, path, frozenset(allowed)
    for verb, path, allowed in OWN:
        yield verb, path, frozenset(allowed)


ENDPOINTS = list(endpoints())


@pytest.fixture(scope="module")
def callers(stack, staff):
    gateway_key = auth.parse_signing_key(signing_keys(stack.env)["gateway"])
    revoked = key_for(staff, stack, unique("SUP"), "supplier")
    return {
        "valid": {
            "case_worker": staff["case_worker"], "safeguarding_lead": staff["safeguarding_lead"],
            "admin": staff["admin"],
            "supplier": key_for(staff, stack, unique("SUP"), "supplier"),
            "agency": key_for(staff, stack, unique("AG"), "agency"),
            "partner": key_for(staff, stack, unique("BRAND"), "partner"),
        },
        "invalid": {
            "none": Api(stack.gateway_url),
            "garbage": Api(stack.gateway_url, "garbage"),
            "forged staff token": Api(stack.gateway_url, StaffTokens(
                auth.parse_signing_key(auth.new_signing_key()), 900).issue("anna", "admin")["access_token"]),
            "expired staff token": Api(stack.gateway_url, StaffTokens(gateway_key, -120).issue(
                "anna", "admin")["access_token"]),
            "actor token instead of a login": Api(stack.gateway_url, auth.Minter("gateway", gateway_key).mint(
                auth.Principal("anna", "admin"))),
            "revoked key": _revoke(staff, revoked),
        },
    }


def _revoke(staff, client: Api) -> Api:
    key_id = "_".join(client.session.headers["Authorization"].split(" ")[1].split("_")[1:3])
    staff["case_worker"].ok("DELETE", f"/v1/api-keys/{key_id}")
    return client


def test_the_matrix_covers_every_route():
    assert len(ENDPOINTS) == len(FORWARDS) + len(OWN) >= 18


@pytest.mark.parametrize("who", ["none", "garbage", "forged staff token", "expired staff token",
                                 "actor token instead of a login", "revoked key"])
def test_no_endpoint_answers_an_unproven_caller(callers, who):
    client = callers["invalid"][who]
    for verb, path, _ in ENDPOINTS:
        answer = client.call(verb, path, {} if verb == "POST" else None)
        assert answer.status_code == 401, (who, verb, path, answer.status_code, answer.text[:200])


@pytest.mark.parametrize("role", ["case_worker", "safeguarding_lead", "admin", "supplier", "agency", "partner"])
def test_each_role_passes_exactly_the_endpoints_that_allow_it(callers, role):
    client = callers["valid"][role]
    for verb, path, allowed in ENDPOINTS:
        answer = client.call(verb, path, {} if verb == "POST" else None)
        refused_for_role = answer.status_code == 403 and "may not do this" in answer.text
        assert answer.status_code != 401, (role, verb, path, answer.text[:200])
        assert refused_for_role == (role not in allowed), (role, verb, path, answer.status_code, answer.text[:200])
        assert answer.status_code < 500, (role, verb, path, answer.status_code, answer.text[:200])
