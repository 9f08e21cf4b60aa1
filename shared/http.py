"""JSON over nameko's HTTP entrypoint, for the public doors (intake, the gateway).

``@json_http(method, url, path=Schema, body=Schema, answers={status: Schema},
problems=(statuses,))`` declares a route once: the path values and the body are
validated with those schemas before a worker is spent on the request (the method
gets ``body=`` and the validated path values), a ``(status, payload)`` result is
dumped with ``answers[status]``, and shared/openapi.py documents the route from the
same declaration, so the document and the behaviour cannot drift apart.

Every error is a problem (shared/problems.py): the shared error types with their
status and message, an outage of a dependency (shared/failures.py) a 503 with
Retry-After, anything else a bare 500 logged by type only. The connection
limits are the server's (shared/web_server.py); the body's, shared/json_body.py.
The caller's ``X-Correlation-ID`` is continued and every answer carries the id.
"""
from __future__ import annotations

import json
from functools import partial

from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from shared import problems
from shared.context import CORRELATION_ID, acceptable
from shared.contracts.common import load, schema_instance
from shared.errors import EXPECTED
from shared.failures import as_unavailable
from shared.json_body import body_bytes, parse_object
from shared.logging import get_logger
from shared.web_server import BoundedWebServer

log = get_logger(__name__)


def json_response(status: int, body) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def read_json(request, schema) -> dict:
    """A JSON object body validated by ``schema`` (shared/json_body.py's checks first)."""
    return load(schema, parse_object(body_bytes(request)))


class JsonHttp(HttpRequestHandler):
    server = BoundedWebServer()

    def __init__(self, method, url, *, path=None, body=None, reads=None, answers=None, problems=(),
                 documented=True, **kwargs):
        # ``reads``: a body schema the method loads itself, after checking who calls
        # (so a stranger gets 401 and a wrong role 403 before any 400); documented
        # like ``body``. ``documented=False``: a route shared/openapi.py leaves out (a
        # catch-all whose operations the service describes itself).
        kwargs.setdefault("expected_exceptions", EXPECTED)
        self.path_schema, self.body_schema, self.reads = path, body, reads
        self.answers, self.problems, self.documented = dict(answers or {}), tuple(problems), documented
        super().__init__(method, url, **kwargs)

    def get_entrypoint_parameters(self, request):
        values = dict(request.path_values)
        if self.path_schema is not None:
            values.update(load(self.path_schema, values))
        if self.body_schema is not None:
            values["body"] = read_json(request, self.body_schema)
        return (request,), values

    def handle_request(self, request):
        request.shallow = False
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            answered = Event()
            context = {CORRELATION_ID: acceptable(request.headers.get("X-Correlation-ID"))}
            self.container.spawn_worker(self, args, kwargs, context_data={k: v for k, v in context.items() if v},
                                        handle_result=partial(self.handle_result, answered))
            return answered.wait()
        except Exception as exc:       # before any worker: bad input, or the container is stopping
            return self._problem(exc, request.path)

    def handle_result(self, answered, worker_ctx, result, exc_info):
        # In the worker's greenthread: its correlation id is still bound to the log lines.
        request = worker_ctx.args[0]
        try:
            response = (self._problem(exc_info[1], request.path) if exc_info
                        else self.response_from_result(result))
        except Exception as exc:   # a result this entrypoint cannot send
            response = self._problem(exc, request.path)
        response.headers["X-Correlation-ID"] = worker_ctx.data[CORRELATION_ID]
        answered.send(response)
        return result, exc_info

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, payload = result
        schema = self.answers.get(status)
        return json_response(status, schema_instance(schema).dump(payload) if schema else payload)

    def _problem(self, exc, path):
        answer = as_unavailable(exc)
        if answer is not exc:
            log.warning("http_dependency_unavailable", error_type=type(exc).__name__)
        elif not isinstance(exc, self.expected_exceptions):
            log.error("http_unhandled_error", error_type=type(exc).__name__)
        return problems.from_exception(answer, path)


json_http = JsonHttp.decorator
