"""The public door against hostile input: every error is an RFC 9457 problem, nothing
is stored, and no input reaches a 500 (each of these did before: deep nesting blew
the parser's recursion, a lone surrogate failed at encoding time)."""
import json
import socket

import eventlet
import pytest
import requests

from services.intake.domain import Grievance
from services.intake.service import IntakeService
from shared.json_body import MAX_BODY_BYTES, MAX_DEPTH, nesting_depth
from tests.fakes import unit_of_work
from tests.interface.intake.test_http import REPORT
from tests.principals import signing_key
from nameko.testing.services import replace_dependencies

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def door(container_factory, make_config):
    def start(**settings):
        config = make_config(actor_signing_key=signing_key("intake"), **settings)
        container = container_factory(IntakeService, config)
        grievances = unit_of_work(Grievance)
        replace_dependencies(container, grievances=grievances)
        container.start()
        return f"http://{config['WEB_SERVER_ADDRESS']}", grievances
    return start


def deep(levels: int) -> str:
    return '{"text": ' + "[" * levels + "]" * levels + "}"


@pytest.mark.parametrize("raw,headers,status,where", [
    (deep(30_000).encode(), JSON, 400, "nested deeper than"),          # was a RecursionError: 500
    (json.dumps({**REPORT, "text": "\ud800 lone"}).encode(), JSON, 400, "lone surrogate"),   # was 500
    (json.dumps({**REPORT, "text": "x\ud800"}, ensure_ascii=False).encode("utf-8", "surrogatepass"), JSON, 400,
     "not UTF-8"),
    (b'["a", "list"]', JSON, 400, "expected a JSON object"),
    (b'{"text": NaN}', JSON, 400, "not valid JSON"),
    (b"", JSON, 400, "a JSON object is required"),
    (json.dumps(REPORT).encode(), {"Content-Type": "text/plain"}, 415, None),
    (json.dumps(REPORT).encode(), {"Content-Type": "application/x-www-form-urlencoded"}, 415, None),
    (json.dumps(REPORT).encode(), {"Content-Type": "application/json; charset=utf-16"}, 415, None),
    (json.dumps(REPORT).encode(), {}, 415, None),                                            # no type at all
    (json.dumps({**REPORT, "text": "x" * MAX_BODY_BYTES}).encode(), JSON, 413, None),        # was 400
])
def test_hostile_bodies_get_a_problem_and_store_nothing(door, raw, headers, status, where):
    url, grievances = door()
    response = requests.post(f"{url}/grievances", data=raw, headers=headers, timeout=10)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["instance"] == "/grievances"
    assert problem["type"].startswith("https://ilm.example/problems/") and problem["title"]
    if where:
        assert where in problem["errors"]["_body"][0]
    assert grievances.repo.docs == {} and grievances.relay.types() == []


def test_a_json_suffix_media_type_is_json(door):
    url, _ = door()
    response = requests.post(f"{url}/grievances", data=json.dumps(REPORT),
                             headers={"Content-Type": "application/vnd.ilm+json; charset=UTF-8"}, timeout=10)
    assert response.status_code == 201, response.text


def test_the_depth_count_ignores_brackets_inside_strings():
    assert nesting_depth(json.dumps({"a": "[[[[{{{{" * 50, "b": ["\\\"[", {"c": []}]})) == 4
    assert nesting_depth(deep(MAX_DEPTH)) == MAX_DEPTH + 1
    assert nesting_depth('"unterminated [[[') == 0


def test_unknown_paths_and_methods_are_problems_too(door):
    url, _ = door()
    missing = requests.get(f"{url}/nowhere", timeout=10)
    wrong_method = requests.get(f"{url}/grievances", timeout=10)
    assert missing.status_code == 404 and missing.json()["instance"] == "/nowhere"
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["Allow"]
    assert {missing.headers["Content-Type"], wrong_method.headers["Content-Type"]} == {"application/problem+json"}


def test_headers_over_the_limit_are_refused_before_the_service(door):
    url, _ = door(http_max_header_bytes=1024)
    response = requests.get(f"{url}/health", headers={"X-Padding": "x" * 2048}, timeout=10)
    assert response.status_code == 400
    assert requests.get(f"{url}/health", timeout=10).status_code == 200


def test_connections_beyond_the_limit_wait_for_a_free_slot(door):
    """With one slot, a client that connects and says nothing holds it: the next one
    is served only once the first has gone."""
    url, _ = door(http_max_connections=1)
    host, port = url.removeprefix("http://").split(":")
    idle = socket.create_connection((host, int(port)))
    eventlet.sleep(0.1)   # let the server take the idle connection first
    waiting = eventlet.spawn(requests.get, f"{url}/health", timeout=10)
    eventlet.sleep(0.5)
    assert not waiting.dead, "served beyond the connection limit"
    idle.close()
    assert waiting.wait().status_code == 200
