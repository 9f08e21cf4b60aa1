"""Intake's container with its grievances on the in-memory fakes (tests/fakes.py):
``url, grievances = intake()`` (or ``intake(repo)`` with a repository of the test's own)."""
import pytest
from nameko.testing.services import replace_dependencies

from services.intake.domain import Grievance
from services.intake.service import IntakeService
from tests.fakes import unit_of_work
from tests.principals import signing_key


@pytest.fixture
def intake(container_factory, make_config):
    def start(repo=None):
        config = make_config(actor_signing_key=signing_key("intake"))
        container = container_factory(IntakeService, config)
        grievances = unit_of_work(Grievance, repo=repo)
        replace_dependencies(container, grievances=grievances)
        container.start()
        return f"http://{config['WEB_SERVER_ADDRESS']}", grievances
    return start
