"""Intake's OpenAPI document is served, readable, and true: schemathesis generates
requests for every operation from the served document (valid and invalid ones) and
checks each answer: no 5xx, a documented status, content type, headers and body.
The receipt guard is the real one (Mongo-backed, a database of this test's own), so
guessed receipts meet 401 and then 429 with Retry-After, both documented."""
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from nameko.testing.services import replace_dependencies
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, negative_data_rejection, response_headers_conformance, response_schema_conformance,
    status_code_conformance,
)

from services.intake.domain import Grievance
from services.intake.service import IntakeService
from tests.conftest import RUN_ID
from tests.fakes import unit_of_work
from tests.principals import signing_key

EXAMPLES = 20      # per operation and mode: about 15 s for the whole document
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def intake_url(container_factory, make_config):
    config = make_config(actor_signing_key=signing_key("intake"), mongo_db_prefix=f"i{RUN_ID}_oas_")
    container = container_factory(IntakeService, config)
    replace_dependencies(container, grievances=unit_of_work(Grievance))
    container.start()
    return f"http://{config['WEB_SERVER_ADDRESS']}"


def test_the_document_is_openapi_3_1_and_its_page_is_self_contained(intake_url):
    document = requests.get(f"{intake_url}/openapi.json", timeout=10).json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/grievances", "/grievances/{case_ref}/validation-answers",
                                      "/grievances/{case_ref}/follow-ups", "/grievances/{case_ref}/status",
                                      "/grievances/{case_ref}/withdrawal", "/grievances/{case_ref}/consent",
                                      "/health"}
    withdrawal = document["paths"]["/grievances/{case_ref}/withdrawal"]["post"]["responses"]
    assert set(withdrawal) == {"200", "400", "401", "409", "413", "415", "429", "503"}
    assert "Retry-After" in withdrawal["429"]["headers"]
    page = requests.get(f"{intake_url}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert all(path in page.text for path in document["paths"])
    assert "<script" not in page.text and "src=" not in page.text      # nothing fetched by the browser


def test_every_operation_answers_as_documented(intake_url):
    schema = schemathesis.openapi.from_url(f"{intake_url}/openapi.json")
    ran = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        modes = [(GenerationMode.POSITIVE, CHECKS)]
        if operation.path_parameters or operation.body:      # anything to make invalid
            modes.append((GenerationMode.NEGATIVE, [*CHECKS, negative_data_rejection]))
        for mode, checks in modes:
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def answers_as_documented(case):
                response = case.call_and_validate(base_url=intake_url, checks=checks, timeout=10)
                ran[operation.label, mode.value, response.status_code] += 1

            answers_as_documented()
    statuses = {status for (_, _, status) in ran}
    print(f"schemathesis: {sum(ran.values())} requests; statuses {sorted(statuses)}")
    assert {201, 400, 401, 429} <= statuses, ran
