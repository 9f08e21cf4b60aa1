"""A small HTTP server on localhost in a background thread, for the stand-ins of
outside parties (a partner's webhook endpoint, the chat providers' send APIs).

Subclasses answer ``respond(method, path, headers, body) -> (status, headers, body)``
and record what they got under ``self.changed`` (a Condition), so that a test waits
for a request with ``wait_until`` instead of polling.
"""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalHttpServer:
    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self.host, self.port = host, port
        self.changed = threading.Condition()
        self.server: ThreadingHTTPServer | None = None

    def respond(self, method: str, path: str, headers, body: bytes) -> tuple[int, dict, bytes]:
        raise NotImplementedError

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status, headers, out = owner.respond(self.command, self.path, self.headers, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.server.server_port}"

    def wait_until(self, check, timeout: float, what: str):
        """``check()`` (called holding ``changed``) once it is truthy; AssertionError
        after ``timeout`` seconds. Woken by every recorded request, no polling."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (result := check()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what} never happened in {timeout}s")
                self.changed.wait(left)
            return result

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start() if self.server is None else self

    def __exit__(self, *exc):
        self.stop()
