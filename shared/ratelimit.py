"""Rate limits (the ``limits`` library, moving window): per API key or staff account
on the gateway, per account and per source on login.

Storage is a URI (``RATE_LIMIT_STORAGE``): ``memory://`` keeps the windows in the
process (a local run, one replica); ``mongodb://...`` shares them between replicas.
"""
from __future__ import annotations

import math
import time

from limits import parse, storage, strategies

from shared.errors import TooManyAttempts


class RateLimits:
    def __init__(self, storage_uri: str):
        self._limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))

    def hit(self, rule: str, *keys: str) -> None:
        """Count one request against ``rule`` (e.g. "120/minute") for each key;
        TooManyAttempts (429 with Retry-After) when any of them is over."""
        item = parse(rule)
        for key in keys:
            if not self._limiter.hit(item, key):
                reset = self._limiter.get_window_stats(item, key).reset_time
                raise TooManyAttempts(max(1, math.ceil(reset - time.time())))
