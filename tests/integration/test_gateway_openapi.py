"""The gateway's OpenAPI document is served, covers every route, and is true:
schemathesis generates requests for every operation from the served document, as a
case worker and as a supplier, and checks each answer against it (no 5xx, a
documented status, content type and body). The forwarded calls reach the real
services, so their refusals and validation errors are checked too."""
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)

from services.gateway.routes import FORWARDS
from tests.integration.helpers import key_for, unique

pytestmark = pytest.mark.integration
EXAMPLES = 6       # per operation and caller: the whole document in well under a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Registering parties or endpoints with random data is harmless in a test database;
# the one the run must not do is revoke the keys it is using.
SKIP = {"revoke_api_key"}


def test_the_document_describes_every_route(stack):
    document = requests.get(f"{stack.gateway_url}/openapi.json", timeout=10).json()
    assert document["openapi"] == "3.1.0"
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {f"{f.service}.{f.method}" for f in FORWARDS} <= operations
    assert {"login", "create_staff_account", "issue_api_key", "list_api_keys", "revoke_api_key"} <= operations
    page = requests.get(f"{stack.gateway_url}/docs", timeout=10)
    assert page.status_code == 200 and "/v1/cases/{case_ref}/referral" in page.text and "<script" not in page.text


@pytest.mark.parametrize("who", ["case_worker", "supplier"])
def test_every_operation_answers_as_documented(stack, staff, who):
    client = staff["case_worker"] if who == "case_worker" else key_for(staff, stack, unique("SUP"), "supplier")
    headers = {"Authorization": client.session.headers["Authorization"]}
    schema = schemathesis.openapi.from_url(f"{stack.gateway_url}/openapi.json")
    ran = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") in SKIP:
            continue

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def answers_as_documented(case):
            response = case.call_and_validate(base_url=stack.gateway_url, headers=headers, checks=CHECKS, timeout=20)
            ran[operation.label, response.status_code] += 1

        answers_as_documented()
    statuses = {status for (_, status) in ran}
    print(f"schemathesis as {who}: {sum(ran.values())} requests; statuses {sorted(statuses)}")
    assert 200 in statuses or 201 in statuses, ran
