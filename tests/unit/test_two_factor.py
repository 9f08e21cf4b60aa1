"""Staff two-factor login on in-memory fakes with a fixed clock: enrolment confirmed by
a first code, login with password + code (missing, wrong or replayed: the same 401
as a bad password), a mandatory rule giving an enrolment-only token, an admin reset."""
import base64
import os
from datetime import datetime, timedelta, timezone

import pyotp
import pytest

from services.gateway import handlers
from services.gateway.credentials import ApiKey, StaffAccount
from services.gateway.doorkeeper import Doorkeeper
from services.gateway.sessions import StaffTokens
from services.gateway.two_factor import ENROLMENT_SCOPE, OtpVault, SecondFactor, TwoFactorPolicy
from shared import auth
from shared.errors import Forbidden, InvalidInput, InvalidTransition, TooManyAttempts, Unauthorized
from shared.ratelimit import RateLimits
from shared.slow_hash import hash_secret
from tests.fakes import unit_of_work

NOW = datetime(2026, 11, 1, 9, 0, 10, tzinfo=timezone.utc)
ADMIN = {"id": "root", "role": "admin"}
PASSWORD = "correct horse battery"
TOKENS = StaffTokens(auth.parse_signing_key(auth.new_signing_key()), 900)
VAULT = OtpVault(base64.b64decode(base64.b64encode(os.urandom(32))))


@pytest.fixture(scope="module")
def password_hash():
    return hash_secret(PASSWORD)


@pytest.fixture
def world(password_hash):
    accounts, policies = unit_of_work(StaffAccount), unit_of_work(TwoFactorPolicy)
    accounts.create("anna", StaffAccount.create("anna", "case_worker", password_hash, ADMIN, NOW))
    return accounts, policies, RateLimits("memory://")


def log_in(world, otp=None, at=NOW, rule="100/minute"):
    accounts, policies, limits = world
    body = {"username": "anna", "password": PASSWORD, "otp": otp}
    return handlers.login(accounts, TOKENS, limits, rule, body, "10.0.0.1", SecondFactor(VAULT, policies, at))


def enrol(world, at=NOW) -> pyotp.TOTP:
    accounts, _, limits = world
    started = handlers.begin_enrolment(accounts, VAULT, "anna", at)
    assert started["provisioning_uri"].startswith("otpauth://totp/ILM:anna?")
    totp = pyotp.TOTP(started["secret"])
    handlers.confirm_enrolment(accounts, TOKENS, VAULT, limits, "100/minute", "anna", totp.at(at), at)
    return totp


def test_the_secret_is_stored_sealed_and_active_only_once_confirmed(world):
    accounts, _, limits = world
    started = handlers.begin_enrolment(accounts, VAULT, "anna", NOW)
    stored = accounts.repo.docs["anna"]
    assert started["secret"] not in str(stored) and stored["otp_secret"] is None
    assert "access_token" in log_in(world)         # not active yet: the password is enough
    with pytest.raises(InvalidInput):
        handlers.confirm_enrolment(accounts, TOKENS, VAULT, limits, "100/minute", "anna", "000000", NOW)
    code = pyotp.TOTP(started["secret"]).at(NOW)
    token = handlers.confirm_enrolment(accounts, TOKENS, VAULT, limits, "100/minute", "anna", code, NOW)
    assert "scope" not in token and accounts.get("anna").view()["two_factor"] is True
    with pytest.raises(InvalidTransition):          # enrolled: only an admin reset starts over
        handlers.begin_enrolment(accounts, VAULT, "anna", NOW)
    sealed = accounts.get("anna").otp_secret
    with pytest.raises(Exception):                   # bound to its account
        VAULT.open(sealed, "bob")


def test_an_enrolled_login_needs_a_fresh_code_and_refuses_like_a_bad_password(world):
    totp = enrol(world)
    later = NOW + timedelta(seconds=60)
    refusals = []
    for otp in (None, "123456", totp.at(NOW)):       # missing, wrong, already used at confirmation
        with pytest.raises(Unauthorized) as refused:
            log_in(world, otp, later)
        refusals.append(str(refused.value))
    with pytest.raises(Unauthorized) as bad_password:
        handlers.login(world[0], TOKENS, world[2], "100/minute", {"username": "anna", "password": "nope" * 4},
                       "10.0.0.1", SecondFactor(VAULT, world[1], later))
    assert set(refusals) == {str(bad_password.value)}
    code = totp.at(later)
    assert "access_token" in log_in(world, code, later)
    with pytest.raises(Unauthorized):                # the same code again within its window: a replay
        log_in(world, code, later + timedelta(seconds=5))
    assert "access_token" in log_in(world, totp.at(later + timedelta(seconds=30)), later + timedelta(seconds=40))


def test_a_caller_that_cannot_check_codes_never_lets_an_enrolled_account_in(world):
    enrol(world)
    accounts, _, limits = world
    with pytest.raises(Unauthorized):
        handlers.login(accounts, TOKENS, limits, "100/minute", {"username": "anna", "password": PASSWORD}, "x")


def test_codes_are_rate_limited_like_passwords(world):
    totp = enrol(world)
    for _ in range(3):
        with pytest.raises(Unauthorized):
            log_in(world, "000000", rule="3/minute")
    with pytest.raises(TooManyAttempts):
        log_in(world, totp.now(), rule="3/minute")


def test_a_mandatory_rule_gives_an_account_without_enrolment_a_token_that_can_only_enrol(world):
    accounts, policies, limits = world
    assert "scope" not in log_in(world)
    assert handlers.require_two_factor(policies, ADMIN, {"roles": ["admin"], "everyone": False}, NOW) == {
        "required_roles": ["admin"]}
    assert "scope" not in log_in(world)                                  # case workers not yet
    handlers.require_two_factor(policies, ADMIN, {"roles": [], "everyone": True}, NOW)
    assert policies.get("two_factor").audit[-1]["actor"] == ADMIN
    limited = log_in(world)
    assert limited["scope"] == ENROLMENT_SCOPE
    door = Doorkeeper(accounts, unit_of_work(ApiKey), TOKENS, limits, "100/minute")
    header = f"Bearer {limited['access_token']}"
    with pytest.raises(Forbidden):
        door.authenticate(header, NOW)
    assert door.authenticate(header, NOW, enrolling=True).id == "anna"
    totp = enrol(world)
    assert "scope" not in log_in(world, totp.at(NOW + timedelta(seconds=30)), NOW + timedelta(seconds=30))


def test_an_admin_reset_is_audited_and_the_member_enrols_again(world):
    accounts = world[0]
    enrol(world)
    view = handlers.reset_two_factor(accounts, ADMIN, "anna", NOW)
    assert view["two_factor"] is False
    assert accounts.get("anna").audit[-1]["action"] == "two_factor_reset"
    assert accounts.get("anna").audit[-1]["actor"] == ADMIN
    assert "access_token" in log_in(world)
    with pytest.raises(InvalidTransition):
        handlers.reset_two_factor(accounts, ADMIN, "anna", NOW)
    enrol(world, NOW + timedelta(minutes=5))


def test_ilm_login_sends_the_code_and_says_when_the_token_can_only_enrol(monkeypatch, tmp_path):
    import json

    from typer.testing import CliRunner

    from services.gateway import cli

    sent = []

    def fake_log_in(url, username, password, otp=None):
        sent.append(otp)
        return {"access_token": "t", "expires_in": 900, **({} if otp else {"scope": ENROLMENT_SCOPE})}

    monkeypatch.setattr(cli, "log_in", fake_log_in)
    monkeypatch.setenv("ILM_CONFIG", str(tmp_path / "session.json"))
    run = lambda *extra: CliRunner().invoke(cli.app, ["login", "--url", "http://x", "--username", "anna",  # noqa: E731
                                                      "--password-stdin", "--json", *extra], input="pw\n")
    with_code = run("--otp", "123456")
    assert with_code.exit_code == 0 and sent == ["123456"] and "scope" not in json.loads(with_code.output)
    enrol_only = json.loads(run().output)
    assert enrol_only["scope"] == ENROLMENT_SCOPE and "/v1/auth/two-factor" in enrol_only["next"]
