"""An endpoint that never finishes answering: it sends a status line, then a byte every
few seconds, for ever (the headers never end). What a slow or broken partner endpoint
looks like to the webhook sender (issue 14): tests/integration/test_webhook_isolation.py
and the bench's retaliation lane subscribe it beside a healthy one."""
import eventlet


class DripServer:
    """Answers every request with a status line, then one byte every ``every``
    seconds, for ever (the headers never end)."""

    def __init__(self, every: float):
        self.sock = eventlet.listen(("127.0.0.1", 0))
        self.every, self.requests = every, 0
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.thread = eventlet.spawn(self._serve)

    def _serve(self):
        while True:
            conn, _ = self.sock.accept()
            eventlet.spawn(self._drip, conn)

    def _drip(self, conn):
        self.requests += 1
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while True:
                eventlet.sleep(self.every)
                conn.sendall(b"x")
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.thread.kill()
        self.sock.close()
