"""Workers' secret receipts: how a worker proves, later, that a case is theirs.

At intake the worker gets the public case reference and a receipt of 20 random
digits (about 66 bits), shown once. Only a slow hash is stored: argon2id over an
HMAC of the receipt with a server-side pepper (``RECEIPT_PEPPER``), so a copy of the
database alone does not let anyone test guesses (shared/slow_hash.py).

``ReceiptGuard`` limits failed tries per case reference and per source: after
``RECEIPT_FREE_TRIES`` failures on a reference (``RECEIPT_SOURCE_FREE_TRIES`` from one
source address) each further one doubles a delay during which every try is refused
(429 with Retry-After), whether or not the reference exists.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from nameko.extensions import DependencyProvider
from pymongo import ReturnDocument

from shared.config import settings_of
from shared.contracts.events import iso
from shared.errors import TooManyAttempts, Unauthorized
from shared.repository import database
from shared.slow_hash import hash_secret, verify

DIGITS = 20
MAX_LOCK_SECONDS = 3600
REFUSED = "case reference or receipt not recognised"


def new_receipt() -> str:
    digits = "".join(secrets.choice("0123456789") for _ in range(DIGITS))
    return "-".join(digits[i:i + 4] for i in range(0, DIGITS, 4))


def normalise(receipt: str | None) -> str | None:
    """Digits only: a worker may type it with spaces or dashes."""
    digits = re.sub(r"[\s-]", "", receipt or "")
    return digits if re.fullmatch(rf"[0-9]{{{DIGITS}}}", digits) else None


class Receipts:
    """Issues receipts and checks a worker's proof against the stored hash."""

    def __init__(self, pepper: bytes, guard: "ReceiptGuard"):
        self.pepper, self.guard = pepper, guard

    def _peppered(self, digits: str) -> str:
        return hmac.new(self.pepper, digits.encode(), hashlib.sha256).hexdigest()

    def issue(self) -> tuple[str, str]:
        """(receipt shown once, hash to store)."""
        receipt = new_receipt()
        return receipt, hash_secret(self._peppered(normalise(receipt)))

    def matches(self, stored_hash: str | None, receipt: str | None) -> bool:
        """Always does the same slow work, so time does not tell whether the
        reference exists or the receipt was well formed."""
        digits = normalise(receipt)
        return verify(stored_hash, self._peppered(digits or "x")) and digits is not None

    def prove(self, grievances, case_ref: str, receipt: str | None, source: str, now: datetime):
        """The grievance, if ``receipt`` is its receipt; Unauthorized otherwise, with
        the same answer and the same work for an unknown reference."""
        self.guard.check(case_ref, source, now)
        grievance = grievances.get(case_ref)
        if not self.matches(getattr(grievance, "receipt_hash", None), receipt):
            self.guard.failed(case_ref, source, now)
            raise Unauthorized(REFUSED)
        self.guard.succeeded(case_ref)
        return grievance


class ReceiptKeeper(DependencyProvider):
    """Injects the container's Receipts (pepper and guard from its settings)."""

    def setup(self):
        cfg = settings_of(self.container)
        policy = AttemptPolicy(cfg.receipt_free_tries, cfg.receipt_lock_seconds, cfg.receipt_source_free_tries)
        guard = ReceiptGuard(database("intake", cfg), policy)
        self.receipts = Receipts(cfg.receipt_pepper, guard)

    def get_dependency(self, worker_ctx):
        return self.receipts


@dataclass(frozen=True)
class AttemptPolicy:
    free_tries: int
    lock_seconds: float
    # A source may be a shared address (an NGO office, a chat provider's gateway):
    # it gets more room, so one guesser there cannot lock out every worker behind it.
    source_free_tries: int = 20

    def lock_after(self, failures: int, free_tries: int | None = None) -> float:
        """Seconds every try is refused after the ``failures``-th failure."""
        free = self.free_tries if free_tries is None else free_tries
        if failures < free:
            return 0.0
        return min(self.lock_seconds * 2 ** (failures - free), MAX_LOCK_SECONDS)

    def lock_for(self, counter: str, failures: int) -> float:
        """The same for one counter (``counter_keys``): a source gets more room."""
        return self.lock_after(failures, self.source_free_tries if counter.startswith("src:") else None)


def counter_keys(case_ref: str, source: str) -> list[str]:
    """The failure counters one try counts against: its reference and its source."""
    return [f"ref:{case_ref}", f"src:{source}"]


class ReceiptGuard:
    """Failure counters in intake's database (shared by every intake replica)."""

    def __init__(self, db, policy: AttemptPolicy):
        self.col, self.policy = db["receipt_failures"], policy

    def check(self, case_ref: str, source: str, now: datetime) -> None:
        for doc in self.col.find({"_id": {"$in": counter_keys(case_ref, source)}}):
            locked_until = doc.get("locked_until") or ""
            if locked_until > iso(now):
                wait = datetime.fromisoformat(locked_until.replace("Z", "+00:00")) - now
                raise TooManyAttempts(max(1, int(wait.total_seconds()) + 1))

    def failed(self, case_ref: str, source: str, now: datetime) -> None:
        for key in counter_keys(case_ref, source):
            failures = self.col.find_one_and_update({"_id": key}, {"$inc": {"failures": 1}}, upsert=True,
                                                    return_document=ReturnDocument.AFTER)["failures"]
            lock = self.policy.lock_for(key, failures)
            if lock:
                self.col.update_one({"_id": key}, {"$set": {"locked_until": iso(now + timedelta(seconds=lock))}})

    def succeeded(self, case_ref: str) -> None:
        self.col.delete_one({"_id": f"ref:{case_ref}"})
