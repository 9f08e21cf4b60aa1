"""A TCP proxy the tests put between a service and RabbitMQ (or the store) to cut the
network and restore it: ``cut()`` drops every open connection and refuses new ones
(they are accepted and closed at once, as a dead link would), ``restore()`` lets
connections through again. Threads (green under the tests' eventlet)."""
from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.listener = socket.create_server((host, 0))
        self.host, self.port = host, self.listener.getsockname()[1]
        self.open = True
        self.links: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            self.open = False
            links, self.links = self.links, set()
        for s in links:
            _shut(s)          # each pipe wakes up and closes the socket it reads

    def restore(self) -> None:
        with self.lock:
            self.open = True

    def close(self) -> None:
        self.cut()
        _close(self.listener)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                passing = self.open
            if not passing:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self.lock:
                self.links |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except (OSError, EOFError):   # EOFError: eventlet's answer to a socket shut under us
            pass
        finally:
            # Only the pipe reading a socket closes it: closing one another green thread
            # waits on leaves eventlet's hub a stale reader for its file number, and the
            # next file to get that number (a Popen pipe, say) fails to be read.
            _shut(sink)
            source.close()


def _shut(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _close(s: socket.socket) -> None:
    _shut(s)
    s.close()
