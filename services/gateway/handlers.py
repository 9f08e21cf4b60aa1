"""The gateway's own use cases: log staff in, keep staff accounts and API keys.
Everything else it forwards to the service that owns the data (routes.py)."""
from __future__ import annotations

from datetime import datetime

from services.gateway.credentials import ApiKey, StaffAccount, new_api_key
from shared.contracts.common import ADMIN_ROLES, STAFF_ROLES
from shared.errors import ConcurrentUpdate, InvalidInput, NotFound, Unauthorized
from shared.logging import get_logger
from shared.slow_hash import hash_secret, verify

log = get_logger(__name__)
LOGIN_REFUSED = "username or password not recognised"
# Who may use the gateway's own endpoints (checked at the door, service.py).
ACCOUNT_MAKERS = ADMIN_ROLES
KEY_ISSUERS = STAFF_ROLES + ADMIN_ROLES


def login(accounts, staff_tokens, limits, rule: str, body: dict, source: str) -> dict:
    """A short-lived access token for a good password. Attempts are limited per
    account and per source before the (slow) check, and the answer is the same for
    an unknown account, a deactivated one and a wrong password."""
    username = body["username"].strip().lower()
    limits.hit(rule, f"login:user:{username}", f"login:source:{source}")
    account = accounts.get(username)
    ok = verify(account.password_hash if account else None, body["password"])
    if not ok or not account.active:
        log.warning("login_refused")
        raise Unauthorized(LOGIN_REFUSED)
    log.info("login", role=account.role)
    return staff_tokens.issue(account.username, account.role)


def create_account(accounts, actor: dict, body: dict, now: datetime) -> dict:
    account = StaffAccount.create(body["username"], body["role"], hash_secret(body["password"]), actor, now)
    if not accounts.create(account.username, account):
        raise InvalidInput({"username": ["already taken"]})
    log.info("staff_account_created", role=account.role)
    return account.view()


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
