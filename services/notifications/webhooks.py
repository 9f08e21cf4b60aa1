"""The notifications service's window on the outside: the HTTP client that posts
signed webhooks, the key that opens endpoints' signing secrets, and the cache of
subscriptions. One per container (a nameko dependency), configured at setup."""
from __future__ import annotations

import time

import requests
from nameko.extensions import DependencyProvider

from services.notifications.domain import sign
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
        self.max_attempts, self.retry_base = cfg.webhook_max_attempts, cfg.webhook_retry_base
        if self.cache_seconds is None:
            self.cache_seconds = cfg.subscription_cache_seconds
        self.box = SealedBox(cfg.webhook_secrets_key)
        self._secrets: dict = {}
        self._cache: dict = {}     # ("subscriptions", event type) or "chains" -> (read at, value)
        self._forgotten = 0        # how many times the cache was told of a change
        self.session = requests.Session()
        self.session.trust_env = False   # no proxy/netrc lookups per request (profiled)
        adapter = requests.adapters.HTTPAdapter(pool_connections=20, pool_maxsize=50, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def get_dependency(self, worker_ctx):
        return self

    def seal_secret(self, secret: str, subscription_id: str) -> str:
        return self.box.seal(secret, subscription_id)

    def secret_of(self, sub) -> str:
        key = (sub.subscription_id, sub.sealed_secret)
        if key not in self._secrets:
            self._secrets[key] = self.box.open(sub.sealed_secret, sub.subscription_id)
        return self._secrets[key]

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

    def post(self, url: str, delivery_id_: str, secret: str, body: str) -> tuple[bool, str, float]:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json", "user-agent": USER_AGENT,
            "webhook-id": delivery_id_, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, delivery_id_, timestamp, body),
        }
        started = time.perf_counter()
        try:
            response = self.session.post(url, data=body.encode("utf-8"), headers=headers,
                                         timeout=self.timeout, allow_redirects=False)
            ok, outcome = 200 <= response.status_code < 300, f"http_{response.status_code}"
        except requests.RequestException as exc:
            ok, outcome = False, type(exc).__name__
        return ok, outcome, (time.perf_counter() - started) * 1000
