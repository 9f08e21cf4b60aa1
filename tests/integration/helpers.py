"""Helpers shared by the integration tests."""
import subprocess
import uuid

import requests

from scripts import demo
from scripts.api_client import Api
from shared.config import settings
from shared.contracts.events import GRIEVANCE_RECEIVED, iso, make_event, utc_now
from shared.outbox import EventPublisher

CASE_WORKER = demo.case_worker()   # the tests act as the demo's case worker


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def report(supplier_ref: str, **overrides) -> dict:
    body = {
        "channel": "line", "language": "my", "work_area": "working_conditions",
        "text": "We have not been paid overtime for three months. Somchai's team.",
        "contact": {"name": "Aung Aung", "phone": "+66 81 555 0199", "line_id": "aungaung99"},
        "supplier_ref": supplier_ref, "site_ref": "SITE-7",
    }
    body.update(overrides)
    return body


def grievance_event(ref: str, supplier: str) -> dict:
    """A grievance.received as intake would publish it: opens a case in remediation."""
    return make_event(GRIEVANCE_RECEIVED, ref, {
        "worker_key": "wk_" + uuid.uuid4().hex, "channel": "hotline", "language": "th",
        "work_area": "working_conditions", "forced_labour_indicators": [], "severity": "normal",
        "retaliation": False, "supplier_ref": supplier, "site_ref": None, "agency_ref": None,
        "received_at": iso(utc_now())}, correlation_id="reliability")


def post_grievance(stack, body: dict, **kw) -> requests.Response:
    return requests.post(f"{stack.intake_url}/grievances", json=body, timeout=10, **kw)


def publisher() -> EventPublisher:
    """The services' own outbox publisher (confirms, persistent, mandatory)."""
    return EventPublisher(settings().amqp_uri)


# --- the gateway's principals ---------------------------------------------------------

PASSWORD = "correct horse battery staple"


def make_admin(username: str) -> subprocess.CompletedProcess:
    """The first admin, the way an operator makes one: the ``ilm`` command line."""
    return demo.create_admin(username, PASSWORD)


def key_for(staff: dict, stack, party_ref: str, role: str) -> Api:
    """An API client with a key the case worker issued for ``party_ref``."""
    issued = staff["case_worker"].ok("POST", "/v1/api-keys", {"party_ref": party_ref, "role": role, "label": "test"})
    return Api(stack.gateway_url, issued["api_key"])


def consumer_queues(contract) -> set[str]:
    """The queue of every handler of ``contract`` in every service class, named as
    nameko names them: where a poison event of that type dies, once per queue."""
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    from services.intake.service import IntakeService
    from services.notifications.service import AlertLaneService, NotificationsService
    from services.remediation.service import RemediationService
    from services.validation.service import ValidationService
    from shared.messaging import ReliableEventHandler
    queues = set()
    for cls in (IntakeService, RemediationService, ValidationService, NotificationsService, AlertLaneService):
        for name in dir(cls):
            for ext in getattr(getattr(cls, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(ext, ReliableEventHandler) and ext.contract == contract:
                    queues.add(f"evt-{contract.source}-{contract.routing_key}--{cls.name}.{name}")
    return queues
