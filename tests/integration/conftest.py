"""Integration fixtures: the four services as real processes against the real
RabbitMQ and the embedded Mongo server, a webhook receiver, an RPC client."""
import os

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from scripts.stack import Stack, free_port, wait_for
from scripts.webhook_receiver import WebhookReceiver


@pytest.fixture(scope="session")
def stack(mongo, rabbitmq, tmp_root):
    s = Stack(dict(os.environ), tmp_root / "logs", free_port())
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def rpc(stack):
    with ClusterRpcProxy(stack.rpc_config(), timeout=20) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


def eventually(fn, timeout: float = 20.0):
    """Poll ``fn`` until it returns a truthy value (asynchronous flows settle)."""
    return wait_for(fn, timeout, "condition")
