"""A partner's webhook endpoint on localhost: records every delivery it receives.
Used by the demo, the integration tests and the bench."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scripts.stack import free_port


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
