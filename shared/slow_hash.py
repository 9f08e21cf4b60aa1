"""Slow hashes of secrets people type (workers' receipts, staff passwords): argon2id
at OWASP's minimum (19 MiB, 2 passes, 1 lane: about 20 ms here), run in a native
thread (``eventlet.tpool``; argon2 releases the GIL) so a web worker keeps serving.

``verify`` always does the same slow work: given no stored hash it checks against
a decoy, so the time taken does not tell whether an account or a case exists.
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DECOY = HASHER.hash("decoy: no such secret")


def hash_secret(secret: str) -> str:
    return tpool.execute(HASHER.hash, secret)


def verify(stored_hash: str | None, secret: str) -> bool:
    try:
        return bool(tpool.execute(HASHER.verify, stored_hash or _DECOY, secret)) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
