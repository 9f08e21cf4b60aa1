"""nameko's web server with the limits a public door needs.

nameko's ``WebServer`` accepts every connection and serves each in a new
greenthread, with no timeout: enough slow clients hold the process's memory and
sockets. Here at most ``HTTP_MAX_CONNECTIONS`` connections are served at once (the
rest wait in the kernel's listen backlog), a client silent for
``HTTP_CLIENT_TIMEOUT`` seconds is dropped, the request line and headers are capped
at ``HTTP_MAX_HEADER_BYTES``, and routing errors (no such path or method) are
problem details like every other error.
"""
from __future__ import annotations

from functools import partial

from eventlet import wsgi
from eventlet.semaphore import Semaphore
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from shared import problems
from shared.config import settings_of


class BoundedWebServer(WebServer):

    def setup(self):
        limits = settings_of(self.container)
        self.max_connections = limits.http_max_connections
        self.client_timeout = limits.http_client_timeout
        self.max_header_bytes = limits.http_max_header_bytes
        self._slots = Semaphore(self.max_connections)
        super().setup()

    def run(self):
        while self._is_accepting:
            self._slots.acquire()
            try:
                sock, addr = self._sock.accept()
            except BaseException:
                self._slots.release()
                raise
            sock.settimeout(self.client_timeout)
            self.container.spawn_managed_thread(partial(self._serve, sock, addr))

    def _serve(self, sock, addr):
        try:
            self.process_request(sock, addr)
        finally:
            self._slots.release()

    def get_wsgi_app(self):
        return ProblemWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, protocol=HttpOnlyProtocol, debug=False):
        # eventlet reads its header limits from module globals: one value per process,
        # which serves at most one HTTP door.
        wsgi.MAX_HEADER_LINE = wsgi.MAX_TOTAL_HEADER_SIZE = self.max_header_bytes
        server = super().get_wsgi_server(sock, wsgi_app, protocol, debug)
        server.url_length_limit = self.max_header_bytes
        server.socket_timeout = server.keepalive = self.client_timeout   # keepalive: idle seconds
        return server


class ProblemWsgiApp(WsgiApp):

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)   # the entrypoint reads the body, once
        try:
            provider, request.path_values = self.url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            return problems.from_http_exception(exc, request.path)(environ, start_response)
        return provider.handle_request(request)(environ, start_response)
