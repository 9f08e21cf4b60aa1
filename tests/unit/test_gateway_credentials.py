"""The gateway's credentials below process level: API keys (shown once, stored as a
digest, revocable, last use recorded at most once a minute), staff access tokens
(forged, expired, other audience), and the doorkeeper on in-memory fakes."""
from datetime import datetime, timedelta, timezone

import pytest

from services.gateway import handlers
from services.gateway.credentials import ApiKey, StaffAccount, key_id_of, new_api_key
from services.gateway.doorkeeper import PORTAL_SCOPE, Doorkeeper
from services.gateway.sessions import StaffTokens
from shared import auth
from shared.errors import InvalidTransition, TooManyAttempts, Unauthorized
from shared.ratelimit import RateLimits
from tests.fakes import unit_of_work

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
STAFF = {"id": "cw-1", "role": "case_worker"}
KEY = auth.parse_signing_key(auth.new_signing_key())


def test_a_key_names_its_id_and_is_stored_only_as_a_digest():
    key_id, key, key_digest = new_api_key()
    assert key.startswith("ilmk_" + key_id + "_") and key_id_of(key) == key_id
    assert key not in key_digest and len(key) > 50
    record = ApiKey.issue(key_id, key_digest, "SUP-1", "supplier", "ERP", STAFF, NOW)
    assert record.matches(key) and not record.matches(key + "x") and not record.matches(new_api_key()[1])
    assert "key_digest" not in record.view()
    assert record.principal().actor == {"id": "SUP-1", "role": "supplier"} and record.principal().key_id == key_id


@pytest.mark.parametrize("presented", ["", "ilmk_", "ilmk_key_abc", "Bearer x", "ilmk_" + "a" * 300, "key_1_x"])
def test_malformed_keys_name_no_id(presented):
    assert key_id_of(presented) is None


def test_a_revoked_key_matches_nothing_and_cannot_be_revoked_twice():
    key_id, key, key_digest = new_api_key()
    record = ApiKey.issue(key_id, key_digest, "SUP-1", "supplier", "ERP", STAFF, NOW)
    record.revoke(STAFF, NOW)
    assert not record.matches(key)
    with pytest.raises(InvalidTransition):
        record.revoke(STAFF, NOW)
    assert [a["action"] for a in record.audit] == ["issue", "revoke"]


def test_last_use_is_written_at_most_once_a_minute():
    record = ApiKey.issue(*new_api_key()[::2], "SUP-1", "supplier", "ERP", STAFF, NOW)
    assert record.used(NOW) and not record.used(NOW + timedelta(seconds=30))
    assert record.used(NOW + timedelta(seconds=61))


def test_staff_tokens_are_refused_when_forged_expired_or_for_another_audience():
    tokens = StaffTokens(KEY, 900)
    issued = tokens.issue("anna", "case_worker")
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 900
    assert tokens.verify(issued["access_token"]) == ("anna", "case_worker")
    forged = StaffTokens(auth.parse_signing_key(auth.new_signing_key()), 900).issue("anna", "admin")
    expired = StaffTokens(KEY, -60).issue("anna", "case_worker")
    actor_token = auth.Minter("gateway", KEY).mint(auth.Principal("anna", "case_worker"))   # ilm-rpc, not ilm-api
    for token in (forged["access_token"], expired["access_token"], actor_token, "x.y.z"):
        with pytest.raises(Unauthorized):
            tokens.verify(token)


def doorkeeper(rate="100/minute"):
    accounts, keys = unit_of_work(StaffAccount), unit_of_work(ApiKey)
    return Doorkeeper(accounts, keys, StaffTokens(KEY, 900), RateLimits("memory://"), rate), accounts, keys


def test_the_doorkeeper_knows_keys_and_active_accounts_only():
    door, accounts, keys = doorkeeper()
    key_id, key, key_digest = new_api_key()
    keys.create(key_id, ApiKey.issue(key_id, key_digest, "BRAND-1", "partner", "ops", STAFF, NOW))
    accounts.create("anna", StaffAccount.create("anna", "case_worker", "hash", STAFF, NOW))
    token = StaffTokens(KEY, 900).issue("anna", "admin")["access_token"]   # the role in a token is not trusted
    assert door.authenticate(f"Bearer {key}", NOW).actor == {"id": "BRAND-1", "role": "partner"}
    assert keys.get(key_id).last_used_at is not None
    assert door.authenticate(f"bearer {token}", NOW).actor == {"id": "anna", "role": "case_worker"}
    accounts.change("anna", lambda a: a.deactivate(STAFF, NOW))
    for header in (f"Bearer {token}", None, "", key, f"Basic {key}", f"Bearer {key}x", "Bearer ilmk_key_0_x"):
        with pytest.raises(Unauthorized):
            door.authenticate(header, NOW)


def test_each_principal_is_rate_limited():
    door, _, keys = doorkeeper(rate="2/minute")
    key_id, key, key_digest = new_api_key()
    keys.create(key_id, ApiKey.issue(key_id, key_digest, "SUP-1", "supplier", "ERP", STAFF, NOW))
    door.authenticate(f"Bearer {key}", NOW)
    door.authenticate(f"Bearer {key}", NOW)
    with pytest.raises(TooManyAttempts) as limited:
        door.authenticate(f"Bearer {key}", NOW)
    assert 0 < limited.value.retry_after <= 60


def test_only_admins_make_accounts_and_only_staff_issue_keys():
    assert set(handlers.ACCOUNT_MAKERS) == {"admin"}
    assert set(handlers.KEY_ISSUERS) == {"admin", "case_worker", "safeguarding_lead"}
    keys = unit_of_work(ApiKey)
    issued = handlers.issue_key(keys, STAFF, {"party_ref": "SUP-1", "role": "supplier", "label": "ERP"}, NOW)
    assert issued["api_key"].startswith("ilmk_") and keys.get(issued["key_id"]).matches(issued["api_key"])
    assert "api_key" not in keys.repo.load(issued["key_id"]) and issued["api_key"] not in str(keys.repo.load(issued["key_id"]))


def test_login_is_limited_per_account_and_per_source_and_refuses_alike():
    from shared.slow_hash import HASHER
    accounts, tokens, limits = unit_of_work(StaffAccount), StaffTokens(KEY, 900), RateLimits("memory://")
    accounts.create("anna", StaffAccount.create("anna", "case_worker", HASHER.hash("x" * 12), STAFF, NOW))

    def login(username, password, source="10.0.0.1"):
        return handlers.login(accounts, tokens, limits, "3/minute", {"username": username, "password": password},
                              source)
    assert tokens.verify(login("Anna", "x" * 12)["access_token"]) == ("anna", "case_worker")
    refusals = []
    for username in ("anna", "nobody"):
        with pytest.raises(Unauthorized) as refused:
            login(username, "wrong password")
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1]                      # an unknown account looks the same
    with pytest.raises(TooManyAttempts):
        login("bob", "whatever")                           # the 4th try from this source, any account
    login("anna", "x" * 12, source="10.0.0.2")             # 3rd on anna: still allowed elsewhere
    with pytest.raises(TooManyAttempts):
        login("anna", "x" * 12, source="10.0.0.3")         # 4th on anna, from anywhere


def test_a_portal_session_names_a_key_that_must_still_be_valid_and_is_no_staff_token():
    door, accounts, keys = doorkeeper()
    key_id, key, key_digest = new_api_key()
    keys.create(key_id, ApiKey.issue(key_id, key_digest, "SUP-1", "supplier", "ops", STAFF, NOW))
    session = StaffTokens(KEY, 900).issue(key_id, "supplier", scope=PORTAL_SCOPE)["access_token"]
    assert door.portal(session, NOW).actor == {"id": "SUP-1", "role": "supplier"}
    accounts.create(key_id, StaffAccount.create(key_id, "case_worker", "hash", STAFF, NOW))
    with pytest.raises(Unauthorized):            # never a staff member's, whatever the accounts hold
        door.authenticate(f"Bearer {session}", NOW)
    with pytest.raises(Unauthorized):            # a staff token is no portal session
        door.portal(StaffTokens(KEY, 900).issue(key_id, "supplier")["access_token"], NOW)
    keys.change(key_id, lambda k: k.revoke(STAFF, NOW))
    with pytest.raises(Unauthorized):            # revoked: out at the next request
        door.portal(session, NOW)
