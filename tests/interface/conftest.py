"""Interface tier: one service class in this process, through nameko's own testing
tools (``worker_factory``, ``container_factory`` + ``replace_dependencies`` +
``entrypoint_hook``), its data on the in-memory fakes of tests/fakes.py. Containers
that consume from RabbitMQ do so in a vhost of their own, so they never take
messages meant for the integration tier's processes. Small stores that are not
aggregates (intake's receipt-failure counters) use the embedded Mongo server; a test
that stops the store starts one of its own (``own_mongo``), so others are unaffected."""
import pytest

from scripts.stack import EmbeddedMongo, create_vhost, delete_vhost, free_port
from shared.config import settings
from tests.conftest import RUN_ID, _BROKER


@pytest.fixture(scope="session")
def interface_amqp_uri(rabbitmq):
    vhost = f"ilm-test-{RUN_ID}-interface"
    uri = create_vhost(_BROKER, vhost)
    yield uri
    delete_vhost(vhost)


@pytest.fixture
def make_config(interface_amqp_uri, mongo):
    """A container config; keyword arguments change settings (no os.environ)."""
    def make(**changes):
        cfg = settings().replace(**{"amqp_uri": interface_amqp_uri, "http_address": f"127.0.0.1:{free_port()}",
                                    "mongo_db_prefix": f"i{RUN_ID}_",    # apart from the integration tier
                                    **changes})
        return cfg.nameko_config()
    return make


@pytest.fixture
def own_mongo(tmp_path):
    """An embedded Mongo server of this test's own: stop() and start() it at will."""
    server = EmbeddedMongo(tmp_path / "mongo", port=free_port()).start()
    yield server
    server.stop()
