"""An unexpected error while handling a worker's report: the worker gets a bare 500
problem, and the process's log lines (ours and nameko's, through the production
logging set-up) name the error's type and the correlation id, never the worker's
words or contact, even though the error's message and its cause quote them."""
import io
import json
import re
import logging

import pytest
import requests
import structlog
from nameko.testing.services import replace_dependencies

from services.intake.domain import Grievance
from services.intake.service import IntakeService
from shared.logging import configure_structlog, json_handler
from tests.fakes import unit_of_work
from tests.principals import signing_key

WORDS, PHONE, LINE_ID = "the supervisor kept our passports", "+66 81 555 0142", "somchai.k.1987"
REPORT = {"channel": "line", "language": "th", "work_area": "working_conditions", "text": WORDS,
          "contact": {"phone": PHONE, "line_id": LINE_ID}, "supplier_ref": "SUP-1"}


class LeakyVault:
    """Fails the way a careless library would: with the plaintext in the message."""

    def __init__(self):
        self.seen = []

    def worker_key(self, contact):
        return "wk-1"

    def seal(self, plaintext, case_ref):
        self.seen.append(plaintext)
        if len(self.seen) < 2:
            return "sealed"
        try:
            raise KeyError(f"no key for {plaintext}")
        except KeyError as cause:
            raise RuntimeError(f"could not seal {self.seen!r}") from cause


@pytest.fixture
def production_logs():
    """The service processes' logging (shared/logging.py) writing into a buffer."""
    buffer, root, saved = io.StringIO(), logging.getLogger(), structlog.get_config()
    handler, level = json_handler(buffer), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    configure_structlog("INFO")
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)
    structlog.configure(**saved)


def test_a_500_logs_the_error_type_and_correlation_id_but_no_input(container_factory, make_config,
                                                                  production_logs, capfd):
    config = make_config(actor_signing_key=signing_key("intake"))
    container = container_factory(IntakeService, config)
    replace_dependencies(container, grievances=unit_of_work(Grievance), vault=LeakyVault())
    container.start()

    response = requests.post(f"http://{config['WEB_SERVER_ADDRESS']}/grievances", json=REPORT, timeout=10,
                             headers={"X-Correlation-ID": "corr-500-test"})

    assert response.status_code == 500
    assert response.json() == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                               "instance": "/grievances"}
    assert response.headers["X-Correlation-ID"] == "corr-500-test"
    lines = [json.loads(line) for line in production_logs.getvalue().splitlines()]
    errors = [line for line in lines if line.get("error_type") == "RuntimeError"]
    assert errors and all(line["correlation_id"] == "corr-500-test" for line in errors), lines
    assert any(line["event"] == "http_unhandled_error" for line in errors)
    assert any(line.get("logger") == "nameko.containers" for line in errors)     # nameko's own line
    out, err = capfd.readouterr()
    for text in (production_logs.getvalue(), out, err):
        # nameko names a worker by its memory address (<WorkerContext ... at 0x7f65c0142050>),
        # which may hold the digits by chance: addresses are not input.
        text = re.sub(r"0x[0-9a-f]+", "0x", text)
        for secret in (WORDS, PHONE, LINE_ID, "passports", "0142", "somchai"):
            assert secret not in text
