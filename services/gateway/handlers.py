"""The gateway's own use cases: log staff in, keep staff accounts and API keys.
Everything else it forwards to the service that owns the data (routes.py)."""
from __future__ import annotations

from datetime import datetime

from services.gateway.credentials import ACCOUNT_ROLES, ApiKey, StaffAccount, new_api_key
from services.gateway.two_factor import ENROLMENT_SCOPE, POLICY_ID, TwoFactorPolicy, matching_step, new_secret
from shared.contracts.common import ADMIN_ROLES, STAFF_ROLES
from shared.errors import ConcurrentUpdate, InvalidInput, InvalidTransition, NotFound, Unauthorized
from shared.logging import get_logger
from shared.slow_hash import hash_secret, verify

log = get_logger(__name__)
LOGIN_REFUSED = "username or password not recognised"
# Who may use the gateway's own endpoints (checked at the door, service.py).
ACCOUNT_MAKERS = ADMIN_ROLES
KEY_ISSUERS = STAFF_ROLES + ADMIN_ROLES


def login(accounts, staff_tokens, limits, rule: str, body: dict, source: str, second=None) -> dict:
    """A short-lived access token for a good password (and a good code, for an account
    enrolled in two-factor login). Attempts are limited per account and per source
    before the (slow) check, and the answer is the same for an unknown account, a
    deactivated one, a wrong password and a missing, wrong or replayed code.
    ``second`` (``SecondFactor``) checks codes; without it an enrolled account is
    refused (fail closed)."""
    username = body["username"].strip().lower()
    limits.hit(rule, f"login:user:{username}", f"login:source:{source}")
    account = accounts.get(username)
    ok = verify(account.password_hash if account else None, body["password"])
    if not ok or not account.active:
        log.warning("login_refused")
        raise Unauthorized(LOGIN_REFUSED)
    scope = _second_factor(accounts, account, body.get("otp"), second)
    log.info("login", role=account.role, scope=scope)
    return staff_tokens.issue(account.username, account.role, scope=scope)


def _second_factor(accounts, account, otp: str | None, second) -> str | None:
    """None (a full token), ENROLMENT_SCOPE (two factors are mandatory for the role and
    the account has none yet), or Unauthorized."""
    if account.two_factor:
        step = second and matching_step(second.vault.open(account.otp_secret, account.username), otp,
                                        second.now, account.otp_last_step)
        if not step:
            log.warning("login_refused")
            raise Unauthorized(LOGIN_REFUSED)
        try:       # spent in a revision-guarded write: of two logins racing with one code, one wins
            accounts.change(account.username, lambda a: a.use_step(step))
        except InvalidTransition:
            log.warning("login_refused")
            raise Unauthorized(LOGIN_REFUSED) from None
        return None
    policy = second.policies.get(POLICY_ID) if second else None
    return ENROLMENT_SCOPE if policy and policy.requires(account.role) else None


def create_account(accounts, actor: dict, body: dict, now: datetime) -> dict:
    account = StaffAccount.create(body["username"], body["role"], hash_secret(body["password"]), actor, now,
                                  body.get("languages") or ())
    if not accounts.create(account.username, account):
        raise InvalidInput({"username": ["already taken"]})
    log.info("staff_account_created", role=account.role)
    return account.view()


def set_languages(accounts, actor: dict, username: str, languages: list, now: datetime) -> dict:
    account = accounts.change(username, lambda a: a.set_languages(actor, now, languages),
                              missing=lambda _: NotFound(f"account {username} not found")).aggregate
    return account.view()


def list_staff(accounts, query: dict) -> dict:
    """Active staff members (case workers and leads; admins do no case work), by name,
    optionally only those working in a language: whom to assign a case to."""
    roles = [query["role"]] if query["role"] else list(STAFF_ROLES)
    docs = accounts.repo.active_staff(roles, query["language"])
    return {"items": [{k: d.get(k) for k in ("username", "role", "languages")} for d in docs]}


def deactivate_account(accounts, actor: dict, username: str, now: datetime) -> dict:
    """An account that leaves: every token it holds stops working at its next request
    (the doorkeeper checks the account on each one)."""
    account = accounts.change(username, lambda a: a.deactivate(actor, now),
                              missing=lambda _: NotFound(f"account {username} not found")).aggregate
    log.info("staff_account_deactivated", role=account.role)
    return account.view()


def issue_key(keys, actor: dict, body: dict, now: datetime) -> dict:
    """An API key for one party; the whole key is in this answer only."""
    key_id, key, key_digest = new_api_key()
    record = ApiKey.issue(key_id, key_digest, body["party_ref"], body["role"], body["label"], actor, now)
    if not keys.create(key_id, record):     # 64 random bits: never, but never answer for a key not stored
        raise ConcurrentUpdate(key_id)
    log.info("api_key_issued", key_id=key_id, party_role=body["role"])
    return {**record.view(), "api_key": key}


def revoke_key(keys, actor: dict, key_id: str, now: datetime) -> dict:
    key = keys.change(key_id, lambda k: k.revoke(actor, now),
                      missing=lambda _: NotFound(f"key {key_id} not found")).aggregate
    log.info("api_key_revoked", key_id=key_id)
    return key.view()


def list_keys(keys, actor: dict, page: dict) -> dict:
    docs = keys.repo.page(page["party_ref"], page["after"], page["limit"] + 1)
    items = [ApiKey.from_dict(d).view() for d in docs[:page["limit"]]]
    return {"items": items, "next": items[-1]["key_id"] if len(docs) > page["limit"] else None}


# --- two-factor login (two_factor.py) ----------------------------------------------------

def begin_enrolment(accounts, vault, username: str, now: datetime) -> dict:
    """A fresh TOTP secret for the caller, in this answer only; active once confirmed."""
    secret, uri = new_secret(username)
    accounts.change(username, lambda a: a.begin_enrolment(vault.seal(secret, username), now))
    log.info("two_factor_enrolment_started")
    return {"secret": secret, "provisioning_uri": uri}


def confirm_enrolment(accounts, staff_tokens, vault, limits, rule: str, username: str, otp: str,
                      now: datetime) -> dict:
    """The first valid code makes the enrolment active; the answer is a full token."""
    limits.hit(rule, f"login:user:{username}")

    def confirm(account):
        if account.otp_pending is None:
            raise InvalidTransition("no enrolment to confirm: start one with POST /v1/auth/two-factor")
        step = matching_step(vault.open(account.otp_pending, username), otp, now, 0)
        if step is None:
            raise InvalidInput({"otp": ["not a valid code for the new secret"]})
        account.confirm_enrolment(step, now)

    account = accounts.change(username, confirm).aggregate
    log.info("two_factor_enrolled", role=account.role)
    return staff_tokens.issue(account.username, account.role)


def reset_two_factor(accounts, actor: dict, username: str, now: datetime) -> dict:
    account = accounts.change(username, lambda a: a.reset_two_factor(actor, now),
                              missing=lambda _: NotFound(f"account {username} not found")).aggregate
    log.info("two_factor_reset", role=account.role)
    return account.view()


def require_two_factor(policies, actor: dict, body: dict, now: datetime) -> dict:
    roles = list(ACCOUNT_ROLES) if body["everyone"] else body["roles"]
    policy = policies.change_or_create(POLICY_ID, lambda p: p.require(roles, actor, now), TwoFactorPolicy).aggregate
    log.info("two_factor_policy_changed", roles=policy.required_roles)
    return policy.view()


def two_factor_policy(policies) -> dict:
    return (policies.get(POLICY_ID) or TwoFactorPolicy()).view()
