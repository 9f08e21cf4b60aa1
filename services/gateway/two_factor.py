"""Staff two-factor login: TOTP (RFC 6238, ``pyotp``), 30-second steps, 6 digits.

A staff member enrols (a fresh secret, shown once as a provisioning URI), and the
enrolment is active only once a first valid code confirms it. From then on a login
needs password + code; a code is accepted for the step before, the current and the
next one (clock drift), and each step at most once: a code seen before (the step is
not after the last one accepted) is refused, so an overheard code cannot be replayed
within its window. An admin may make two factors mandatory for some roles or for
everyone (``TwoFactorPolicy``); an account under that rule without enrolment gets a
token that can only enrol. An admin may reset a member's enrolment (audited).

The secret is stored sealed (AES-GCM, STAFF_OTP_KEY, bound to the username, so a
sealed secret copied onto another account does not open) and never logged.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime

import pyotp

from shared.contracts.events import iso
from shared.crypto import SealedBox
from shared.domain import Aggregate
from shared.errors import InvalidTransition

ISSUER = "ILM"
STEP = 30             # seconds per code
DRIFT_STEPS = 1       # steps either side of now that are still accepted
ENROLMENT_SCOPE = "two_factor_enrolment"   # a token's scope that may only enrol
POLICY_ID = "two_factor"


def step_of(now: datetime) -> int:
    return int(now.timestamp()) // STEP


def matching_step(secret: str, code: str | None, now: datetime, after: int) -> int | None:
    """The time step ``code`` is valid for, near ``now`` and after the step ``after``
    (the last one accepted), or None."""
    if not code or not code.isdigit():
        return None
    totp, current = pyotp.TOTP(secret, interval=STEP), step_of(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


class OtpVault:
    """Seals and opens TOTP secrets, each bound to its account."""

    def __init__(self, key: bytes):
        self._box = SealedBox(key)

    def seal(self, secret: str, username: str) -> str:
        return self._box.seal(secret, f"staff-otp|{username}")

    def open(self, sealed: str, username: str) -> str:
        return self._box.open(sealed, f"staff-otp|{username}")


class TwoFactor:
    """Mixed into StaffAccount (fields ``otp_secret``, ``otp_pending``, ``otp_last_step``:
    sealed secrets and the last accepted step)."""

    @property
    def two_factor(self) -> bool:
        return self.otp_secret is not None

    def begin_enrolment(self, sealed_secret: str, now: datetime) -> None:
        if self.two_factor:
            raise InvalidTransition("two-factor login is already active; an admin may reset it")
        self.otp_pending = sealed_secret
        self._audit({"id": self.username, "role": self.role}, now, "two_factor_enrolment_started", {})

    def confirm_enrolment(self, step: int, now: datetime) -> None:
        self.otp_secret, self.otp_pending, self.otp_last_step = self.otp_pending, None, step
        self._audit({"id": self.username, "role": self.role}, now, "two_factor_enrolled", {})

    def use_step(self, step: int) -> None:
        """Spend a code's step; a step at or before the last accepted one is a replay."""
        if step <= self.otp_last_step:
            raise InvalidTransition("code already used")
        self.otp_last_step = step

    def reset_two_factor(self, by: dict, now: datetime) -> None:
        if not self.two_factor and self.otp_pending is None:
            raise InvalidTransition(f"{self.username} has no two-factor enrolment to reset")
        self.otp_secret = self.otp_pending = None
        self.otp_last_step = 0
        self._audit(by, now, "two_factor_reset", {})


@dataclass
class TwoFactorPolicy(Aggregate):
    """Which roles must log in with two factors (admins decide; audited)."""
    required_roles: list = field(default_factory=list)
    version: int = 0
    audit: list = field(default_factory=list)
    raised: list = field(default_factory=list, repr=False, compare=False)

    def requires(self, role: str) -> bool:
        return role in self.required_roles

    def require(self, roles: list, by: dict, now: datetime) -> None:
        self.required_roles = sorted(set(roles))
        self.version += 1
        self.audit.append({"at": iso(now), "actor": {"id": by["id"], "role": by["role"]},
                           "action": "require_two_factor", "detail": {"roles": self.required_roles}})

    def view(self) -> dict:
        return {"required_roles": list(self.required_roles)}


def new_secret(username: str) -> tuple[str, str]:
    """(secret, provisioning URI) for an authenticator app."""
    secret = pyotp.random_base32()
    return secret, pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=username, issuer_name=ISSUER)


@dataclass
class SecondFactor:
    """What a login needs to check codes: the vault, the policies (a unit of work of
    TwoFactorPolicy) and the time."""
    vault: OtpVault
    policies: object
    now: datetime
