"""Integration fixtures: the four services as real processes against the real
RabbitMQ and the embedded Mongo server, a webhook receiver, RPC clients signed as
each principal."""
import os

import pytest

from scripts.api_client import Api
from scripts.demo import Actors, case_worker
from scripts.stack import Stack, free_port, wait_for
from scripts.webhook_receiver import WebhookReceiver


@pytest.fixture(scope="session")
def providers():
    """The chat apps' send APIs, recording what each worker received."""
    from scripts.fake_providers import FakeProviders
    from tests.conftest import PROVIDERS_PORT
    fake = FakeProviders(os.environ, port=PROVIDERS_PORT).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def smtp_sink(tmp_root):
    """The backup channel's mail server, recording each e-mail (its own process:
    aiosmtpd's asyncio and this process's eventlet do not mix)."""
    from scripts.smtp_sink import SmtpSink
    sink = SmtpSink(tmp_root).start()
    yield sink
    sink.stop()


# The backup contacts of the stack (not of os.environ: the bench's own stack has none).
BACKUP_CONTACTS = {"BACKUP_CONTACT_EMAILS": "safeguarding-backup@ilm.test", "BACKUP_CONTACT_PHONES": "+66800000099",
                   "BACKUP_SMS_FROM": "+66200000001"}


@pytest.fixture(scope="session")
def stack(mongo, rabbitmq, tmp_root, providers, smtp_sink):
    port = free_port()
    os.environ["SMS_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/channels/sms"   # the URL Twilio signs
    backup = {**BACKUP_CONTACTS, **smtp_sink.env(), "BACKUP_SMS_API_BASE": providers.url}
    s = Stack(dict(os.environ, **backup), tmp_root / "logs", port)
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def actors(stack):
    """``actors(principal)``: an RPC client whose calls carry that principal's signed token."""
    clients = Actors(stack)
    yield clients
    clients.close()


@pytest.fixture(scope="session")
def rpc(actors):
    """The demo's case worker: the staff member most tests act as."""
    return actors(case_worker())


@pytest.fixture(scope="session")
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


def eventually(fn, timeout: float = 20.0):
    """Poll ``fn`` until it returns a truthy value (asynchronous flows settle)."""
    return wait_for(fn, timeout, "condition")


@pytest.fixture(scope="module")
def staff(stack):
    """API clients of an admin (made with the ``ilm`` CLI), a case worker and a
    safeguarding lead (made by the admin), each logged in."""
    from tests.integration.helpers import PASSWORD, make_admin, unique
    admin_name = unique("admin").lower()
    made = make_admin(admin_name)
    assert made.returncode == 0, made.stderr
    admin = Api.login(stack.gateway_url, admin_name, PASSWORD)
    people = {"admin": admin}
    for role in ("case_worker", "safeguarding_lead"):
        name = unique(role.replace("_", "-")).lower()
        admin.ok("POST", "/v1/staff", {"username": name, "role": role, "password": PASSWORD})
        people[role] = Api.login(stack.gateway_url, name, PASSWORD)
    return people
