"""Follow what the webhook receiver got, incrementally (it may get tens of thousands
of deliveries; ``WebhookReceiver.at`` copies the whole list on every call)."""
from __future__ import annotations

import time

import eventlet


class Follower:
    """Indexes deliveries by (path, webhook type, case_ref, to_status) -> first
    arrival time (``Received.at``, time.monotonic() when the request arrived)."""

    def __init__(self, receiver):
        self.receiver = receiver
        self.cursor = 0
        self.first: dict[tuple, float] = {}
        self.count_by_path: dict[str, int] = {}

    def poll(self) -> int:
        with self.receiver.changed:
            new = self.receiver.received[self.cursor:]
            self.cursor += len(new)
        for r in new:
            data = r.json.get("data", {})
            key = (r.path, r.json.get("type"), data.get("case_ref"), data.get("to_status"))
            self.first.setdefault(key, r.at)
            self.count_by_path[r.path] = self.count_by_path.get(r.path, 0) + 1
        return len(new)

    def arrival(self, path, type_, case_ref, to_status=None) -> float | None:
        return self.first.get((path, type_, case_ref, to_status))

    def count(self, path: str) -> int:
        return self.count_by_path.get(path, 0)

    def wait(self, predicate, timeout: float, interval: float = 0.01) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if predicate():
                return True
            if time.monotonic() > deadline:
                return False
            eventlet.sleep(interval)

    def wait_count(self, path: str, target: int, stall_timeout: float, hard_timeout: float,
                   progress=None) -> tuple[bool, float]:
        """Wait until ``path`` got ``target`` deliveries. Gives up when nothing new
        arrives for ``stall_timeout`` s or after ``hard_timeout`` s. Returns
        (reached, monotonic time of the last arrival seen)."""
        started = last_change = last_report = time.monotonic()
        seen = self.count(path)
        while True:
            self.poll()
            now = time.monotonic()
            n = self.count(path)
            if n != seen:
                seen, last_change = n, now
            if n >= target:
                return True, self.last_arrival(path)
            if now - last_change > stall_timeout or now - started > hard_timeout:
                return False, self.last_arrival(path)
            if progress and now - last_report > 10:
                progress(n, target)
                last_report = now
            eventlet.sleep(0.05)

    def last_arrival(self, path: str) -> float | None:
        with self.receiver.changed:
            for r in reversed(self.receiver.received):
                if r.path == path:
                    return r.at
        return None
