"""The operations endpoint of every service process: liveness, readiness and
Prometheus metrics on ``OPS_ADDRESS`` (default 0.0.0.0:9000).

It is a small WSGI server of its own, started by the runner beside the nameko
containers, not a nameko entrypoint: a probe must answer even when every worker is
busy, or Kubernetes would restart a pod for being loaded.

- ``/livez``: the process is serving and none of its nameko containers has died.
- ``/readyz``: the broker accepts a connection and the store answers a ping (checked
  at most every ``READINESS_CACHE_SECONDS``), and no event consumer is pausing for a
  dependency (shared/messaging.py; the answer names the queue and the error): take
  the pod out of rotation otherwise.
- ``/metrics``: prometheus-client exposition (see shared/metrics.py).
"""
from __future__ import annotations

import json
import time

import eventlet
from eventlet import wsgi
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.logging import get_logger
from shared.messaging import backing_off

LIVENESS_PATH = "/livez"
READINESS_PATH = "/readyz"
METRICS_PATH = "/metrics"
READINESS_CACHE_SECONDS = 2.0

log = get_logger(__name__)


class OpsServer:
    def __init__(self, address: str, dead_containers, amqp_uri: str, mongo_ping):
        host, port = address.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.dead_containers, self.amqp_uri, self.mongo_ping = dead_containers, amqp_uri, mongo_ping
        self._ready_at, self._ready = 0.0, (False, {})
        self._gt = None

    # --- checks ------------------------------------------------------------------
    def live(self) -> tuple[bool, dict]:
        dead = self.dead_containers()
        return not dead, {"dead_containers": dead}

    def ready(self) -> tuple[bool, dict]:
        if time.monotonic() - self._ready_at < READINESS_CACHE_SECONDS:
            return self._ready
        checks = {"broker": self._check(self._broker), "store": self._check(self.mongo_ping)}
        live, _ = self.live()
        checks["containers"] = "ok" if live else "dead"
        paused = backing_off()
        checks["consumers"] = {"backing_off": paused} if paused else "ok"
        self._ready = (all(v == "ok" for v in checks.values()), checks)
        self._ready_at = time.monotonic()
        return self._ready

    def _broker(self):
        from kombu import Connection
        with Connection(self.amqp_uri, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)

    @staticmethod
    def _check(fn) -> str:
        try:
            with eventlet.Timeout(3):
                fn()
            return "ok"
        except BaseException as exc:  # noqa: BLE001 - eventlet.Timeout is a BaseException
            return f"failed: {type(exc).__name__}"

    # --- WSGI --------------------------------------------------------------------
    def app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == METRICS_PATH:
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest()]
        if path in (LIVENESS_PATH, READINESS_PATH):
            ok, detail = self.live() if path == LIVENESS_PATH else self.ready()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")])
            return [json.dumps({"status": "ok" if ok else "failing", **detail}).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    def start(self) -> None:
        sock = eventlet.listen((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._gt = eventlet.spawn(wsgi.server, sock, self.app, log_output=False)
        log.info("ops_server_started", address=f"{self.host}:{self.port}")

    def stop(self) -> None:
        if self._gt:
            self._gt.kill()
