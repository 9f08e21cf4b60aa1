"""The principals the tests act as, and tokens for them signed with this run's dev
keyring (tests/conftest.py puts it in the environment), as the door that vouches for
each would sign them."""
import os

from scripts.stack import signing_keys
from shared.auth import TOKEN_KEY, Minter, Principal, issuer_for, parse_signing_key

CASE_WORKER = Principal("cw-1", "case_worker")
SAFEGUARDING = Principal("lead-1", "safeguarding_lead")
ADMIN = Principal("admin-1", "admin")


def supplier(ref: str) -> Principal:
    return Principal(ref, "supplier")


def partner(ref: str) -> Principal:
    return Principal(ref, "partner")


def worker(case_ref: str, worker_key: str = "wk_" + "a" * 32) -> Principal:
    return Principal(worker_key, "worker", case_ref=case_ref)


def token(principal: Principal) -> str:
    issuer = issuer_for(principal)
    return Minter(issuer, parse_signing_key(signing_keys(os.environ)[issuer])).mint(principal)


def context(principal: Principal) -> dict:
    """nameko context data for entrypoint_hook: the call comes with this token."""
    return {TOKEN_KEY: token(principal)}


def signing_key(issuer: str) -> str:
    return signing_keys(os.environ)[issuer]
