"""The notifications service's window on the outside: the HTTP client that posts
signed webhooks, the key that opens endpoints' signing secrets, and the cache of
subscriptions. One per container (a nameko dependency), configured at setup."""
from __future__ import annotations

import time

import eventlet
from nameko.extensions import DependencyProvider

from services.notifications.client import Answer, Client
from services.notifications.domain import CircuitPolicy, RetryPolicy, signature_header
from services.notifications.egress import Policy, UnsafeUrl, check
from shared.errors import InvalidInput
from shared.config import settings_of
from shared.crypto import SealedBox

USER_AGENT = "ILM-Webhooks/1"


class WebhookSender(DependencyProvider):
    """``cache_seconds``: how long the subscriptions for an event type, and the
    partners' chains, are reused (None: the SUBSCRIPTION_CACHE_SECONDS setting). The
    alert lane passes 0: alerts are rare, and one registered a moment ago (or a chain
    changed a moment ago) must decide the next alert."""

    def __init__(self, cache_seconds: float | None = None):
        self.cache_seconds = cache_seconds

    def setup(self):
        cfg = settings_of(self.container)
        self.timeout = cfg.webhook_timeout
        self.lease_seconds = cfg.webhook_timeout + 10
        self.retry = RetryPolicy(cfg.webhook_retry_schedule, cfg.webhook_retry_jitter, cfg.webhook_retry_after_max)
        self.circuit = CircuitPolicy(cfg.webhook_circuit_failures, cfg.webhook_circuit_cooldown,
                                     cfg.webhook_disable_after_seconds)
        self.secret_overlap = cfg.webhook_secret_overlap_seconds
        if self.cache_seconds is None:
            self.cache_seconds = cfg.subscription_cache_seconds
        self.box = SealedBox(cfg.webhook_secrets_key)
        self._secrets: dict = {}
        self._cache: dict = {}     # ("subscriptions", event type) or "chains" -> (read at, value)
        self._forgotten = 0        # how many times the cache was told of a change
        egress = dict(cfg.webhook_egress)
        concurrency = egress.pop("concurrency", 4)
        self.policy = Policy(**egress)
        self.client = Client(self.timeout, self.policy, concurrency)
        self.background = eventlet.GreenPool(1000)   # the alert lane's sends, detached from its workers

    def stop(self):
        self.background.waitall()   # in-flight alerts finish (each within WEBHOOK_TIMEOUT)
        self.client.close()

    def check_url(self, url: str) -> None:
        """Refuse, as a 400 naming ``url``, an endpoint this service must not call."""
        try:
            check(url, self.policy, self.client.resolve)
        except UnsafeUrl as exc:
            raise InvalidInput({"url": [str(exc)]}) from None

    def get_dependency(self, worker_ctx):
        return self

    def seal_secret(self, secret: str, subscription_id: str) -> str:
        return self.box.seal(secret, subscription_id)

    def secrets_of(self, sub, now) -> list[str]:
        """The secrets that sign for ``sub`` at ``now`` (two during a rotation's overlap)."""
        opened = []
        for sealed in sub.signing_secrets(now):
            key = (sub.subscription_id, sealed)
            if key not in self._secrets:
                self._secrets[key] = self.box.open(sealed, sub.subscription_id)
            opened.append(self._secrets[key])
        return opened

    def subscriptions(self, store, event_type: str) -> list[dict]:
        """Subscriptions wanting ``event_type``: one database read per event type and
        interval instead of one per event, so a flood of events does not load the
        store."""
        return self._cached(("subscriptions", event_type), lambda: store.subscriptions_for(event_type))

    def forget_subscriptions(self) -> None:
        self._forget()

    def chains(self, store) -> dict:
        """Partner -> the refs of its supply chain, cached like the subscriptions: a
        chain change reaches other containers within the cache interval."""
        return self._cached("chains", store.all_chains)

    def forget_chains(self) -> None:
        self._forget("chains")

    def _cached(self, key, read):
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        forgotten, value = self._forgotten, read()
        if forgotten == self._forgotten:   # not a read from before a change another worker just stored
            self._cache[key] = (time.monotonic(), value)
        return value

    def _forget(self, key=None) -> None:
        self._forgotten += 1
        if key is None:
            self._cache.clear()
        else:
            self._cache.pop(key, None)

    def post(self, url: str, delivery_id_: str, secrets: list[str], body: str) -> tuple[Answer, float]:
        """(what the receiver answered, milliseconds the attempt took)."""
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json", "user-agent": USER_AGENT,
            "webhook-id": delivery_id_, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(secrets, delivery_id_, timestamp, body),
        }
        started = time.perf_counter()
        answer = self.client.exchange(url, headers, body.encode("utf-8"))
        return answer, (time.perf_counter() - started) * 1000
