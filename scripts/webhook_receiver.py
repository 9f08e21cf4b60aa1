"""A partner's webhook endpoint on localhost: records every delivery it receives.
Used by the demo, the integration tests and the bench."""
import json
import time

from scripts.local_http import LocalHttpServer


# What notifications must allow to deliver to a receiver on this machine (http, a
# loopback address, any port): the local run, the tests and the bench only. Production
# keeps the defaults, which refuse all three (services/notifications/egress.py).
LOCAL_RECEIVER_SETTINGS = {"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
                           "WEBHOOK_ALLOWED_PORTS": "any"}


class Received:
    def __init__(self, path, headers, body):
        self.path, self.headers, self.body = path, headers, body
        self.json = json.loads(body)
        self.at = time.monotonic()


class WebhookReceiver(LocalHttpServer):
    """A partner's endpoint: records every request; answers 200 (or what a path is
    told to answer, to exercise retries)."""

    def __init__(self):
        super().__init__()
        self.received: list[Received] = []
        self.fail_next: dict[str, int] = {}
        self.answer: dict[str, tuple[int, dict]] = {}   # path -> (status, headers) answered instead, not recorded
        self.refused: list[Received] = []               # requests answered with a failure
        self.start()

    def respond(self, method, path, headers, body):
        if method != "POST":
            return 405, {}, b""
        with self.changed:
            failing = self.fail_next.get(path, 0)
            told = self.answer.get(path)
            if failing:
                self.fail_next[path] = failing - 1
            if failing or told:
                self.refused.append(Received(path, dict(headers), body.decode()))
            else:
                self.received.append(Received(path, dict(headers), body.decode()))
            self.changed.notify_all()
        if told:
            return told[0], told[1], b"told to refuse"
        return (503 if failing else 200), {}, b""

    def url(self, path: str) -> str:
        return self.base_url + path

    def at(self, path: str) -> list[Received]:
        with self.changed:
            return [r for r in self.received if r.path == path]

    def wait(self, path: str, predicate, timeout: float = 30.0) -> list[Received]:
        def satisfied():
            got = self.at(path)
            return (got,) if predicate(got) else None
        try:
            return self.wait_until(satisfied, timeout, f"webhooks at {path} satisfying the condition")[0]
        except AssertionError:
            raise AssertionError(f"webhooks at {path} never satisfied the condition; got {len(self.at(path))}") from None

    def close(self):
        self.stop()
