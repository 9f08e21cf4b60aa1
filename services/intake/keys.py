"""Master keys of the identity vault: the keyring from the settings, and rotation.

Rotating rewraps each case's data key under the current master key
(``IDENTITY_KEY_ID``); the sealed values are not touched. Ops, after adding the new
key to ``IDENTITY_KEYS`` and making it current (and restarting intake):

    python -m services.intake.keys rotate     # rewrap every data key
    python -m services.intake.keys status     # data keys per master key id
    python -m services.intake.keys reseal-v1  # v1 tokens (before envelopes) under data keys

When ``status`` shows no data key under an old id, that id can leave the keyring,
except ``k1`` while ``v1:`` tokens (sealed with the former IDENTITY_KEY, before
envelope encryption) remain: ``reseal-v1`` seals those again under their case's
data key, after which ``status`` counts no ``v1_grievances``."""
from __future__ import annotations

import argparse
import json
import sys

from shared import config
from shared.errors import ConfigError
from shared.crypto import KEY_ID, TOKEN_PREFIX, Keyring
from shared.logging import get_logger

log = get_logger(__name__)
COLLECTION, GRIEVANCES = "data_keys", "grievances"


def parse_keyring(raw: str | None, name: str = "IDENTITY_KEYS") -> dict[str, bytes]:
    """``id:base64,...`` -> {id: 32-byte key}, in the order listed."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in (raw or "").split(","))):
        key_id, sep, value = item.partition(":")
        if not sep or not KEY_ID.fullmatch(key_id) or key_id in keys:
            raise ConfigError(f"{name} must be id:base64,... with distinct ids of [A-Za-z0-9_-]")
        keys[key_id] = config._decoded(f"{name} ({key_id})", value)
    return keys


def keyring_from_settings() -> Keyring:
    """IDENTITY_KEYS, with the former single IDENTITY_KEY as id ``k1`` (so the v1
    tokens it sealed still open); the current id is IDENTITY_KEY_ID, else the last
    listed in IDENTITY_KEYS, else k1."""
    keys = parse_keyring(config._raw("IDENTITY_KEYS"))
    listed = list(keys)
    if config._raw("IDENTITY_KEY"):
        single = config._key("IDENTITY_KEY")
        if keys.setdefault("k1", single) != single:
            raise ConfigError("IDENTITY_KEY differs from the k1 key of IDENTITY_KEYS")
    if not keys:
        raise ConfigError("IDENTITY_KEYS is not set: id:base64,... (python -m shared.crypto makes a key)")
    current = config._raw("IDENTITY_KEY_ID") or (listed[-1] if listed else "k1")
    if current not in keys:
        raise ConfigError(f"IDENTITY_KEY_ID {current!r} is not an id of IDENTITY_KEYS")
    return Keyring(keys, current)


def rotate(db, keyring: Keyring) -> dict:
    """Rewrap every data key not under the current master key. Each rewrap is
    guarded by the old wrapped value, so a key erased meanwhile stays erased, and a
    run cut short is simply run again. Returns counts."""
    col = db[COLLECTION]
    done = {"rewrapped": 0, "skipped": 0}
    for doc in col.find({"key_id": {"$exists": True, "$ne": keyring.current}}):
        data_key = keyring.unwrap(doc["key_id"], doc["wrapped"], doc["_id"])
        key_id, wrapped = keyring.wrap(data_key, doc["_id"])
        guard = {"_id": doc["_id"], "key_id": doc["key_id"], "wrapped": doc["wrapped"]}
        changed = col.replace_one(guard, {**doc, "key_id": key_id, "wrapped": wrapped}).matched_count
        done["rewrapped" if changed else "skipped"] += 1
    log.info("data_keys_rotated", key_id=keyring.current, **done)
    return done


def status(db) -> dict:
    """{master key id: data keys it wraps}, how many cases were erased, and how many
    grievances still hold ``v1:`` tokens (they need master key k1)."""
    counts: dict = {}
    for doc in db[COLLECTION].find({}, {"key_id": 1, "erased_at": 1}):
        name = "erased" if doc.get("erased_at") else doc.get("key_id")
        counts[name] = counts.get(name, 0) + 1
    legacy = sum(1 for doc in db[GRIEVANCES].find({}) if _legacy_tokens(doc))
    return {**counts, "v1_grievances": legacy} if legacy else counts


def reseal_v1(db, vault) -> dict:
    """Seal every ``v1:`` token of the grievances again under its case's data key
    (erasable, rotatable). Revision-guarded: a grievance changed meanwhile is
    skipped, and running the command again takes it."""
    done = {"resealed": 0, "skipped": 0}
    for doc in db[GRIEVANCES].find({}):
        if not _legacy_tokens(doc):
            continue
        ref = doc["_id"]
        again = lambda token: vault.seal(vault.open(token, ref), ref) if _v1(token) else token  # noqa: E731
        new = dict(doc, sealed_text=again(doc.get("sealed_text")), sealed_contact=again(doc.get("sealed_contact")),
                   _rev=doc["_rev"] + 1)
        for name in ("follow_ups", "validation_answers"):
            new[name] = [dict(m, sealed_text=again(m.get("sealed_text"))) for m in doc.get(name) or ()]
        matched = db[GRIEVANCES].replace_one({"_id": ref, "_rev": doc["_rev"]}, new).matched_count
        done["resealed" if matched else "skipped"] += 1
    log.info("v1_tokens_resealed", **done)
    return done


def _v1(token) -> bool:
    return isinstance(token, str) and token.startswith(TOKEN_PREFIX)


def _legacy_tokens(doc: dict) -> bool:
    messages = [*(doc.get("follow_ups") or ()), *(doc.get("validation_answers") or ())]
    return any(map(_v1, (doc.get("sealed_text"), doc.get("sealed_contact"), *(m.get("sealed_text") for m in messages))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.intake.keys", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("rotate", "status", "reseal-v1"))
    args = parser.parse_args(argv)
    from services.intake.identity import DataKeys, Vault
    from shared.repository import database
    db = database("intake")
    if args.command == "rotate":
        result = rotate(db, keyring_from_settings())
    elif args.command == "reseal-v1":
        result = reseal_v1(db, Vault(DataKeys(db, keyring_from_settings()), b"", config.settings().default_phone_region))
    else:
        result = status(db)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
