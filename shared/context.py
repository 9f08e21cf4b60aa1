"""Correlation ids carried through nameko context data.

nameko copies every ``worker_ctx.context_data`` key into message headers
(``nameko.<key>``) on RPC calls and event dispatch, and back into context data on the
receiving side. ``RequestContext`` makes sure each worker has a ``correlation_id``
(kept from the caller when present, new otherwise) and binds it, with the service
and entrypoint, to the worker's log lines.
"""
from __future__ import annotations

import time
import uuid
from weakref import WeakKeyDictionary

import structlog
from nameko.extensions import DependencyProvider

from shared import metrics

CORRELATION_ID = "correlation_id"


def new_id() -> str:
    return uuid.uuid4().hex


def acceptable(correlation_id: str | None) -> str | None:
    """A correlation id from outside (an HTTP header) if it is short, printable text."""
    if correlation_id and len(correlation_id) <= 128 and correlation_id.isprintable():
        return correlation_id
    return None


# Entrypoint class -> the "kind" label of the latency metric.
KINDS = {"Rpc": "rpc", "ReliableEventHandler": "event", "JsonHttp": "http", "Timer": "timer"}


class RequestContext(DependencyProvider):
    """Injects a small accessor; its real work is in worker_setup/teardown: ids bound
    to the log lines, and the entrypoint's latency recorded."""

    def __init__(self):
        self._started = WeakKeyDictionary()

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()
        data = worker_ctx.data   # .context_data is a copy
        if not data.get(CORRELATION_ID):
            data[CORRELATION_ID] = new_id()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self.container.service_name,
            entrypoint=worker_ctx.entrypoint.method_name,
            correlation_id=data[CORRELATION_ID],
        )
        if getattr(worker_ctx.entrypoint, "contract", None):   # an event handler
            event = worker_ctx.args[0]
            structlog.contextvars.bind_contextvars(case_id=event["case_ref"], event_id=event["event_id"])

    def worker_teardown(self, worker_ctx):
        started = self._started.pop(worker_ctx, None)
        if started is not None:
            entrypoint = worker_ctx.entrypoint
            metrics.ENTRYPOINT_SECONDS.labels(
                entrypoint.method_name, KINDS.get(type(entrypoint).__name__, "other"),
            ).observe(time.perf_counter() - started)
        structlog.contextvars.clear_contextvars()

    def get_dependency(self, worker_ctx):
        return _Context(worker_ctx)


class _Context:
    def __init__(self, worker_ctx):
        self._data = worker_ctx.data

    @property
    def correlation_id(self) -> str:
        return self._data[CORRELATION_ID]

    def adopt(self, correlation_id: str | None) -> None:
        """Continue a correlation id that arrived in a body (HTTP header, event)."""
        if acceptable(correlation_id):
            self._data[CORRELATION_ID] = correlation_id
            structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
