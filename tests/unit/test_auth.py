"""Actor tokens: only a door's key vouches for the principals that door authenticates;
a forged, expired, over-long, tampered or unsigned token names no one."""
import time

import jwt
import pytest

from shared import auth
from shared.auth import Minter, Principal, Verifier, parse_signing_key, parse_verify_keys
from shared.errors import ConfigError, Forbidden, Unauthorized

KEYS = auth.dev_keyring()
VERIFIER = Verifier(parse_verify_keys(auth.verify_keys_of(KEYS)))
STAFF = Principal("cw-1", "case_worker")
WORKER = Principal("wk_" + "a" * 32, "worker", case_ref="ILM-1")


def minter(issuer, **kw):
    return Minter(issuer, parse_signing_key(KEYS[issuer]), **kw)


def test_a_door_vouches_for_whom_it_authenticates():
    got = VERIFIER.verify(minter("gateway").mint(STAFF))
    assert (got.id, got.role, got.issuer) == ("cw-1", "case_worker", "gateway")
    got = VERIFIER.verify(minter("intake").mint(WORKER))
    assert got.actor == {"id": WORKER.id, "role": "worker", "case_ref": "ILM-1"}
    got = VERIFIER.verify(minter("remediation").mint(auth.service_principal("remediation")))
    assert got.actor == {"id": "remediation", "role": "system"}


@pytest.mark.parametrize("issuer,principal", [
    ("intake", STAFF),                                         # intake authenticates workers only
    ("gateway", WORKER),                                       # the gateway never sees a receipt
    ("remediation", STAFF),                                    # a service names only itself
    ("remediation", auth.service_principal("validation")),
    ("intake", Principal("wk_1", "worker")),                   # a worker's token is for one case
])
def test_no_door_vouches_beyond_its_rights(issuer, principal):
    with pytest.raises(Forbidden):
        minter(issuer).mint(principal)


def test_a_token_claiming_more_than_its_issuer_may_is_refused_even_if_signed():
    # A stolen remediation key signing a case worker, bypassing Minter's own check.
    now = int(time.time())
    forged = jwt.encode({"iss": "remediation", "aud": auth.AUDIENCE, "sub": "cw-1", "role": "case_worker",
                         "iat": now, "exp": now + 30}, parse_signing_key(KEYS["remediation"]),
                        algorithm="EdDSA", headers={"kid": "remediation"})
    with pytest.raises(Unauthorized):
        VERIFIER.verify(forged)


def _claims(**over):
    now = int(time.time())
    return {"iss": "gateway", "aud": auth.AUDIENCE, "sub": "cw-1", "role": "case_worker",
            "iat": now, "exp": now + 30, **over}


@pytest.mark.parametrize("token", [
    None, "", "not-a-token", "a.b.c",
    # signed with a key that is not the gateway's
    jwt.encode(_claims(), parse_signing_key(auth.new_signing_key()), algorithm="EdDSA", headers={"kid": "gateway"}),
    # expired, beyond the leeway
    jwt.encode(_claims(iat=int(time.time()) - 100, exp=int(time.time()) - 60),
               parse_signing_key(KEYS["gateway"]), algorithm="EdDSA", headers={"kid": "gateway"}),
    # longer-lived than any door mints
    jwt.encode(_claims(exp=int(time.time()) + 3600), parse_signing_key(KEYS["gateway"]), algorithm="EdDSA",
               headers={"kid": "gateway"}),
    # another audience
    jwt.encode(_claims(aud="elsewhere"), parse_signing_key(KEYS["gateway"]), algorithm="EdDSA",
               headers={"kid": "gateway"}),
    # an unsigned token, and one MAC'ed with the public key (algorithm confusion)
    jwt.encode(_claims(), None, algorithm="none", headers={"kid": "gateway"}),
    jwt.encode(_claims(), auth.public_key_of(KEYS["gateway"]).encode() * 2, algorithm="HS256",
               headers={"kid": "gateway"}),
    # an issuer nobody knows
    jwt.encode(_claims(iss="mallory"), parse_signing_key(KEYS["gateway"]), algorithm="EdDSA",
               headers={"kid": "mallory"}),
])
def test_bad_tokens_name_no_one(token):
    with pytest.raises(Unauthorized):
        VERIFIER.verify(token)


def test_a_tampered_token_is_refused():
    token = minter("gateway").mint(Principal("SUP-1", "supplier"))
    header, payload, sig = token.split(".")
    other = minter("gateway").mint(Principal("SUP-2", "supplier")).split(".")[1]
    with pytest.raises(Unauthorized):
        VERIFIER.verify(".".join((header, other, sig)))


def test_ttl_is_capped_and_keys_are_checked_at_start():
    assert minter("gateway", ttl=3600).ttl == auth.MAX_TTL
    with pytest.raises(ConfigError):
        parse_signing_key(None)
    with pytest.raises(ConfigError):
        parse_verify_keys("mallory=" + auth.public_key_of(KEYS["gateway"]))
    with pytest.raises(ConfigError):
        parse_verify_keys("gateway=not-base64!")
