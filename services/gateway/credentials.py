"""Who may use the gateway, and how they prove it: staff accounts and API keys.

Staff (case workers, safeguarding leads, admins) have local accounts with argon2id
password hashes (shared/slow_hash.py) and log in for a short-lived access token
(sessions.py). Businesses and partners use API keys that staff issue, one party
each: ``ilmk_<key id>_<secret>``, shown once, stored only as a SHA-256 of the whole
key (the secret is 256 random bits, so a fast hash is safe and keeps every request
cheap), revocable, with the time it was last used.

Both are aggregates with their audit trail (who created, changed or revoked them).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from services.gateway.two_factor import TwoFactor
from shared.auth import Principal
from shared.contracts.common import ADMIN_ROLES, STAFF_ROLES
from shared.contracts.events import iso
from shared.domain import Aggregate
from shared.errors import Forbidden, InvalidTransition

ACCOUNT_ROLES = STAFF_ROLES + ADMIN_ROLES
KEY_PREFIX = "ilmk_"
LAST_USED_RESOLUTION = 60.0     # seconds: last_used_at is written at most once a minute


@dataclass
class StaffAccount(TwoFactor, Aggregate):
    username: str
    role: str
    password_hash: str
    created_at: str
    active: bool = True
    version: int = 0
    audit: list = field(default_factory=list)
    raised: list = field(default_factory=list, repr=False, compare=False)
    otp_secret: str | None = None      # sealed TOTP secret once enrolment is confirmed (two_factor.py)
    otp_pending: str | None = None     # sealed secret of an enrolment not yet confirmed
    otp_last_step: int = 0             # the last TOTP step accepted: no code is taken twice
    languages: list = field(default_factory=list)   # what the person works in: choosing an assignee

    @classmethod
    def create(cls, username: str, role: str, password_hash: str, by: dict, now: datetime,
               languages=()) -> "StaffAccount":
        account = cls(username=username, role=role, password_hash=password_hash, created_at=iso(now),
                      languages=sorted(set(languages)))
        account._audit(by, now, "create", {"role": role, "languages": account.languages})
        return account

    def set_languages(self, by: dict, now: datetime, languages) -> None:
        """An admin, or the person themselves, says which languages they work in."""
        if by["role"] not in ADMIN_ROLES and by["id"] != self.username:
            raise Forbidden("only an admin or the person themselves sets their languages")
        self.languages = sorted(set(languages))
        self._audit(by, now, "languages", {"languages": self.languages})

    def principal(self) -> Principal:
        return Principal(self.username, self.role, issuer="gateway")

    def deactivate(self, by: dict, now: datetime) -> None:
        if by["id"] == self.username:
            raise InvalidTransition("an admin does not deactivate their own account")
        self.active = False
        self._audit(by, now, "deactivate", {})

    def view(self) -> dict:
        return {"username": self.username, "role": self.role, "active": self.active, "created_at": self.created_at,
                "two_factor": self.two_factor, "languages": self.languages}

    def _audit(self, by: dict, now: datetime, action: str, detail: dict) -> None:
        self.version += 1
        self.audit.append({"at": iso(now), "actor": {"id": by["id"], "role": by["role"]}, "action": action,
                           "detail": detail})


def new_api_key() -> tuple[str, str, str]:
    """(key id, the whole key shown once, its digest to store)."""
    key_id = "key_" + secrets.token_hex(8)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return key_id, key, digest(key)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    """The id inside a presented key (``ilmk_key_<hex>_<secret>``), or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    parts = key[len(KEY_PREFIX):].split("_")
    return f"{parts[0]}_{parts[1]}" if len(parts) >= 3 and parts[0] == "key" else None


@dataclass
class ApiKey(Aggregate):
    key_id: str
    party_ref: str
    role: str                  # supplier, agency or partner: the party's kind
    label: str
    key_digest: str
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None
    version: int = 0
    audit: list = field(default_factory=list)
    raised: list = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def issue(cls, key_id: str, key_digest: str, party_ref: str, role: str, label: str, by: dict,
              now: datetime) -> "ApiKey":
        key = cls(key_id=key_id, party_ref=party_ref, role=role, label=label, key_digest=key_digest,
                  created_at=iso(now))
        key._audit(by, now, "issue")
        return key

    def matches(self, presented: str) -> bool:
        return self.revoked_at is None and hmac.compare_digest(self.key_digest, digest(presented))

    def principal(self) -> Principal:
        return Principal(self.party_ref, self.role, issuer="gateway", key_id=self.key_id)

    def revoke(self, by: dict, now: datetime) -> None:
        if self.revoked_at is not None:
            raise InvalidTransition(f"key {self.key_id} is already revoked")
        self.revoked_at = iso(now)
        self._audit(by, now, "revoke")

    def used(self, now: datetime) -> bool:
        """Record a use; True when it is worth writing (at most once a minute)."""
        if self.last_used_at and (now - datetime.fromisoformat(self.last_used_at.replace("Z", "+00:00"))
                                  ).total_seconds() < LAST_USED_RESOLUTION:
            return False
        self.last_used_at = iso(now)
        return True

    def view(self) -> dict:
        return {"key_id": self.key_id, "party_ref": self.party_ref, "role": self.role, "label": self.label,
                "created_at": self.created_at, "revoked_at": self.revoked_at, "last_used_at": self.last_used_at}

    def _audit(self, by: dict, now: datetime, action: str) -> None:
        self.version += 1
        self.audit.append({"at": iso(now), "actor": {"id": by["id"], "role": by["role"]}, "action": action})
