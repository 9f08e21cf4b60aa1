"""One webhook POST: to the address the SSRF guard checked (the Host header and the
TLS server name stay the URL's host, so the certificate is verified for that name),
within a total deadline (connect + send + read; a receiver dripping a byte at a time
is cut when the deadline passes, not when it stops dripping), without following
redirects, at most ``concurrency`` at once per endpoint host."""
from __future__ import annotations

import time
from collections import defaultdict
from typing import NamedTuple
from urllib.parse import urlsplit

import eventlet
import urllib3
from eventlet.semaphore import Semaphore

from services.notifications.egress import REFUSED_PRIVATE, Policy, UnsafeUrl, check, system_resolver

MAX_RESPONSE_BYTES = 64 * 1024   # a receiver's answer is read (to reuse the connection), not kept
MAX_POOLS = 500
EXCERPT_BYTES = 256              # the start of an answer kept in the delivery log (never logged)


class Answer(NamedTuple):
    ok: bool
    outcome: str
    retry_after: str | None = None   # the raw header, parsed by the domain
    excerpt: str = ""


class Deadline(Exception):
    """The attempt's total time ran out."""


class Client:
    def __init__(self, timeout: float, policy: Policy, concurrency: int = 4, resolve=system_resolver,
                 ca_certs: str | None = None):
        """``ca_certs``: a CA bundle instead of the system's (tests)."""
        self.timeout, self.policy, self.resolve, self.ca_certs = timeout, policy, resolve, ca_certs
        self._pools: dict = {}
        self._limits = defaultdict(lambda: Semaphore(concurrency))   # (host, port) -> slots
        self._concurrency = concurrency

    def post(self, url: str, headers: dict, body: bytes) -> tuple[bool, str]:
        """(delivered, outcome). Outcomes are coarse classes (http_NNN, timeout,
        connection_error, tls_error, refused: ...), so the delivery log tells a
        partner what happened without describing our network."""
        return tuple(self.exchange(url, headers, body)[:2])

    def exchange(self, url: str, headers: dict, body: bytes) -> Answer:
        """``post``, with what the receiver said beyond its status: ``Retry-After`` and
        the start of its answer."""
        with self._limits[urlsplit(url).netloc.lower()]:    # waiting for a slot is not part of the attempt
            return self._attempt(url, headers, body)

    def _attempt(self, url: str, headers: dict, body: bytes) -> Answer:
        deadline = time.monotonic() + self.timeout
        try:
            # eventlet.Timeout bounds the whole attempt (DNS included) on green sockets;
            # urllib3's own timeout bounds it where sockets are not green.
            with eventlet.Timeout(self.timeout, Deadline):
                target = check(url, self.policy, self.resolve)   # again: the name may resolve elsewhere now
                status, retry_after, excerpt = self._request(target, headers, body, deadline)
        except UnsafeUrl as exc:
            return Answer(False, REFUSED_PRIVATE if "private" in str(exc) else f"refused: {exc}")
        except urllib3.exceptions.NewConnectionError:   # a subclass of the timeout error, checked first
            return Answer(False, "connection_error")
        except (Deadline, urllib3.exceptions.TimeoutError):
            return Answer(False, "timeout")
        except urllib3.exceptions.SSLError:
            return Answer(False, "tls_error")
        except (urllib3.exceptions.HTTPError, OSError):
            return Answer(False, "connection_error")
        return Answer(200 <= status < 300, f"http_{status}", retry_after, excerpt)

    def _request(self, target, headers: dict, body: bytes, deadline: float) -> tuple[int, str | None, str]:
        pool = self._pool(target)
        response = pool.urlopen("POST", target.path, body=body, headers={**headers, "host": target.host_header},
                                redirect=False, retries=False, preload_content=False,
                                assert_same_host=False, timeout=urllib3.Timeout(total=self.timeout))
        try:
            excerpt = self._drain(response, deadline)
        except BaseException:
            response.close()   # cut mid-answer: this connection must not be reused
            raise
        finally:
            response.release_conn()
        return response.status, response.headers.get("retry-after"), excerpt.decode("utf-8", "replace")

    @staticmethod
    def _drain(response, deadline: float) -> bytes:
        read, start = 0, b""
        while read < MAX_RESPONSE_BYTES:
            if time.monotonic() > deadline:
                raise Deadline()
            chunk = response.read(4096, decode_content=False)
            if not chunk:
                return start
            start = (start + chunk)[:EXCERPT_BYTES] if len(start) < EXCERPT_BYTES else start
            read += len(chunk)
        response.close()   # a larger answer than any receipt needs: do not reuse this connection
        return start

    def _pool(self, target):
        key = (target.scheme, target.address, target.port, target.host)
        if key not in self._pools:
            if len(self._pools) >= MAX_POOLS:
                self._close_pools()
            self._pools[key] = self._new_pool(target)
        return self._pools[key]

    def _new_pool(self, target):
        common = dict(host=target.address, port=target.port, maxsize=self._concurrency, block=False, retries=False)
        if target.scheme == "http":
            return urllib3.HTTPConnectionPool(**common)
        return urllib3.HTTPSConnectionPool(**common, server_hostname=target.host, assert_hostname=target.host,
                                           cert_reqs="CERT_REQUIRED", ca_certs=self.ca_certs)

    def _close_pools(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def close(self) -> None:
        self._close_pools()
