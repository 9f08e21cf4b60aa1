"""Integration fixtures: the four services as real processes against the real
RabbitMQ and the embedded Mongo server, a webhook receiver, an RPC client."""
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from scripts.stack import Stack, free_port
from shared.store import database


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


@pytest.fixture
def db():
    """Direct read access to a service's database, for asserting what was stored."""
    return database


class Received:
    def __init__(self, path, headers, body):
        self.path, self.headers, self.body = path, headers, body
        self.json = json.loads(body)
        self.at = time.monotonic()


class WebhookReceiver:
    """A partner's endpoint: records every request; answers 200 (or what a path is
    told to answer, to exercise retries)."""

    def __init__(self):
        self.received: list[Received] = []
        self.fail_next: dict[str, int] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                with receiver.lock:
                    failing = receiver.fail_next.get(self.path, 0)
                    if failing:
                        receiver.fail_next[self.path] = failing - 1
                    else:
                        receiver.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(503 if failing else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait(self, path: str, predicate, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path)
            if predicate(got):
                return got
            time.sleep(0.05)
        raise AssertionError(f"webhooks at {path} never satisfied the condition; got {len(self.at(path))}")

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="session")
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


def eventually(fn, timeout: float = 20.0, interval: float = 0.1):
    """Poll ``fn`` until it returns a truthy value (asynchronous flows settle)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last error: {last_exc!r})")
