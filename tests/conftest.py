"""Test set-up. eventlet must patch sockets before anything imports them, or
nameko's clients hang: these are the first lines to run."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from scripts.stack import (  # noqa: E402
    EmbeddedMongo, add_service_users, create_vhost, delete_vhost, ensure_rabbitmq, free_port, new_dev_keys,
    with_vhost,
)
from scripts.webhook_receiver import LOCAL_RECEIVER_SETTINGS  # noqa: E402

pytest_plugins = ["tests.watchdog"]   # a hung test fails alone; progress is flushed

# One environment for the test process and the service processes it starts. Each
# run gets its own database prefix, so runs never see each other's data.
RUN_ID = uuid.uuid4().hex[:8]
_MONGO_PORT = free_port()
_BROKER = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
_VHOST = f"ilm-test-{RUN_ID}"
os.environ["AMQP_URI"] = with_vhost(_BROKER, _VHOST)
os.environ["MONGO_URI"] = os.environ.get("ILM_TEST_MONGO_URI") or f"mongodb://127.0.0.1:{_MONGO_PORT}/"
os.environ["MONGO_DB_PREFIX"] = f"t{RUN_ID}_"
# Fresh keys per run: data keys, and the dev keyring of token signing keys (each
# service process gets only its own, scripts/stack.py).
os.environ.update(new_dev_keys())
os.environ.setdefault("LOG_LEVEL", "INFO")
os.environ["OUTBOX_GRACE_SECONDS"] = "1.0"
os.environ["WEBHOOK_RETRY_SCHEDULE"] = "0,0.5,1,1,1,1,1,1"   # the partners' schedule, compressed to seconds
os.environ["WEBHOOK_CIRCUIT_COOLDOWN"] = "1"
os.environ["METRICS_REFRESH_INTERVAL"] = "2"   # the operations test reads the gauges
os.environ["LOGIN_RATE_LIMIT"] = "200/15 minutes"   # every test logs in from 127.0.0.1
# Safeguarding alerts unacknowledged after 6 s go to the backup contacts (set only in the
# stack's environment: tests/integration/conftest.py), whose sends retry in seconds.
os.environ.update(SAFEGUARDING_ACK_MINUTES="0.1", SAFEGUARDING_SWEEP_SECONDS="0.5", BACKUP_RETRY_SCHEDULE="0,0.5,1")
# Webhook receivers (scripts/webhook_receiver.py) listen on 127.0.0.1 over http, any port.
os.environ.update(LOCAL_RECEIVER_SETTINGS)
# The chat providers' send APIs: scripts/fake_providers.py on a port chosen now, so the
# service processes know it before the fake server starts (tests/integration/conftest.py).
PROVIDERS_PORT = free_port()
_PROVIDERS = f"http://127.0.0.1:{PROVIDERS_PORT}"
os.environ.update(LINE_API_BASE=_PROVIDERS, GRAPH_API_BASE=f"{_PROVIDERS}/v21.0", VIBER_API_BASE=_PROVIDERS,
                  TWILIO_API_BASE=_PROVIDERS, CHAT_SEND_INTERVAL="0.1")


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ilm")


@pytest.fixture(scope="session")
def mongo(tmp_root):
    """The embedded Mongo server (nx-27017) as its own process, unless the run points
    ILM_TEST_MONGO_URI at a real MongoDB."""
    if os.environ.get("ILM_TEST_MONGO_URI"):
        yield os.environ["MONGO_URI"]
        return
    server = EmbeddedMongo(tmp_root / "mongo", port=_MONGO_PORT).start()
    yield server.uri
    server.stop()


@pytest.fixture(scope="session")
def rabbitmq():
    """The machine's RabbitMQ (started if down), in a vhost of this run's own, with a
    user per service there (the service processes connect as their own; the tests'
    clients, the harness, stay the admin user of the vhost)."""
    ensure_rabbitmq(_BROKER)
    uri = create_vhost(_BROKER, _VHOST)
    os.environ.update(add_service_users(_BROKER, _VHOST))
    yield uri
    delete_vhost(_VHOST)
