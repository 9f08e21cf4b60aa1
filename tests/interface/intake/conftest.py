"""Intake's container with its grievances on the in-memory fakes (tests/fakes.py):
``url, grievances = intake()`` (or ``intake(repo)`` with a repository of the test's own);
intake beside remediation (the worker's door to a case): ``doors()``."""
from typing import NamedTuple

import pytest
from nameko.testing.services import replace_dependencies

from services.intake.domain import Grievance
from services.intake.service import IntakeService
from services.remediation.domain import Case
from services.remediation.reports import BusinessRecord
from services.remediation.service import RemediationService
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


class Doors(NamedTuple):
    url: str              # intake's HTTP door
    config: dict          # intake's container config
    remediation: object   # its container: a test hands it grievance.received
    cases: object         # remediation's cases, on the fakes
    grievances: object    # intake's grievances: the fake given, or None (the embedded store)


@pytest.fixture
def doors(container_factory, make_config):
    """``doors()``: intake with its grievances in the embedded store (what erasure must
    see gone); ``doors(grievances)``: on that fake (its relay holds what was published)."""
    def start(grievances=None):
        remediation = container_factory(RemediationService, make_config())
        cases = unit_of_work(Case)
        replace_dependencies(remediation, cases=cases, records=unit_of_work(BusinessRecord))
        config = make_config(actor_signing_key=signing_key("intake"))
        intake = container_factory(IntakeService, config)
        if grievances is not None:
            replace_dependencies(intake, grievances=grievances)
        remediation.start()
        intake.start()
        return Doors(f"http://{config['WEB_SERVER_ADDRESS']}", config, remediation, cases, grievances)
    return start
