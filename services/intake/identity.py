"""The only place that holds the keys to worker identity. Contact details and free
text (and whatever else intake seals: chat ids, texts sent to the worker) are sealed
with the case's own data key, bound to the case reference, before they are stored;
other services only ever see the keyed pseudonym ``worker_key``.

Data keys live wrapped by a master key in intake's ``data_keys`` collection
(``_id`` = case reference, ``key_id`` of the master key, ``wrapped``). Erasing a case
replaces its document with a tombstone (``erased_at``, ``why``): the key is gone, and
nothing can be sealed for the case again. Unwrapped data keys are kept only for one
worker (a request, an event, a timer run) and never logged."""
from __future__ import annotations

import secrets
from collections import OrderedDict
from datetime import datetime

from nameko.extensions import DependencyProvider

from services.intake.domain import contact_identifier
from services.intake.keys import COLLECTION, keyring_from_settings
from services.intake.phones import normalise_phone
from shared.config import settings_of
from shared.contracts.events import iso, utc_now
from shared.crypto import ENVELOPE_PREFIX, TOKEN_PREFIX, Erased, Keyring, SealedBox, new_data_key, pseudonym
from shared.repository import DuplicateKeyError, database

CACHED_KEYS = 32        # data keys one worker keeps unwrapped (a sweep touches many cases)
PHONE_CHANNELS = ("sms", "whatsapp")


class DataKeys:
    """The wrapped data keys of every case, in intake's database."""

    def __init__(self, db, keyring: Keyring):
        self.col, self.keyring = db[COLLECTION], keyring

    def find(self, case_ref: str) -> bytes | None:
        """The case's data key; None if it has none yet; Erased after erasure."""
        doc = self.col.find_one({"_id": case_ref})
        if doc is None:
            return None
        if doc.get("erased_at") or not doc.get("wrapped"):
            raise Erased(f"case {case_ref}: its data key was erased ({doc.get('why')}); "
                         "what was sealed for it can no longer be opened")
        return self.keyring.unwrap(doc["key_id"], doc["wrapped"], case_ref)

    def find_or_create(self, case_ref: str, now: datetime) -> bytes:
        """Race-safe: the first insert of the case's key wins (unique ``_id``); a
        greenthread or replica that lost the race reads and uses the winner's key."""
        found = self.find(case_ref)
        if found is not None:
            return found
        key = new_data_key()
        key_id, wrapped = self.keyring.wrap(key, case_ref)
        try:
            self.col.insert_one({"_id": case_ref, "key_id": key_id, "wrapped": wrapped, "created_at": iso(now)})
            return key
        except DuplicateKeyError:
            return self.find(case_ref)

    def erase(self, case_ref: str, why: str, now: datetime) -> None:
        """Delete the key for good (idempotent); the tombstone says when and why."""
        self.col.replace_one({"_id": case_ref}, {"_id": case_ref, "erased_at": iso(now), "why": why},
                             upsert=True)

    def erased(self, case_ref: str) -> bool:
        return self.col.find_one({"_id": case_ref, "erased_at": {"$exists": True}}, {"_id": 1}) is not None


class Vault:
    """One worker's view of the vault: seals and opens for a case, erases it."""

    def __init__(self, keys: DataKeys, pseudonym_key: bytes, region: str):
        self.keys, self._pseudonym_key, self.region = keys, pseudonym_key, region
        self._cache: OrderedDict[str, bytes] = OrderedDict()

    def seal(self, value: str, case_ref: str) -> str:
        return SealedBox(self._data_key(case_ref, create=True), ENVELOPE_PREFIX).seal(value, case_ref)

    def open(self, token: str, case_ref: str) -> str:
        """The plaintext; ``Erased`` once the case was erased (a ``v1:`` token from
        before envelope encryption too: its master key is still there)."""
        if token.startswith(TOKEN_PREFIX):
            if self.keys.erased(case_ref):
                raise Erased(f"case {case_ref}: its worker data was erased")
            return self.keys.keyring.legacy_box().open(token, case_ref)
        return SealedBox(self._data_key(case_ref, create=False), ENVELOPE_PREFIX).open(token, case_ref)

    def erase(self, case_ref: str, why: str) -> None:
        """Crypto-erasure: delete the case's data key. Every value sealed for the case
        (texts, contact, chat ids) is unreadable from now on, wherever it is stored."""
        self._cache.pop(case_ref, None)
        self.keys.erase(case_ref, why, utc_now())

    def chat_key(self, channel: str, chat_id: str) -> str:
        """Finds a chat's thread without storing the chat id in the clear (a phone
        number in E.164 first, so one number is one chat whatever form it came in)."""
        if channel in PHONE_CHANNELS:
            chat_id = normalise_phone(chat_id, self.region)
        return pseudonym(self._pseudonym_key, f"chat:{channel}:{chat_id}")

    def worker_key(self, contact: dict | None) -> str:
        """Same worker, same key across reports; an anonymous report gets its own."""
        handle = contact_identifier(contact, self.region) or "anonymous:" + secrets.token_hex(16)
        return pseudonym(self._pseudonym_key, handle)

    def _data_key(self, case_ref: str, create: bool) -> bytes:
        key = self._cache.get(case_ref)
        if key is None:
            key = self.keys.find_or_create(case_ref, utc_now()) if create else self.keys.find(case_ref)
            if key is None:
                raise Erased(f"case {case_ref} has no data key: nothing sealed for it can be opened")
            self._cache[case_ref] = key
            if len(self._cache) > CACHED_KEYS:
                self._cache.popitem(last=False)
        return key


class IdentityVault(DependencyProvider):

    def setup(self):
        cfg = settings_of(self.container)
        self.keys = DataKeys(database("intake", cfg), keyring_from_settings())
        self.pseudonym_key = cfg.pseudonym_key
        self.region = cfg.default_phone_region

    def get_dependency(self, worker_ctx):
        # A fresh vault per worker: its unwrapped keys end with the worker, and an
        # erasure elsewhere is never hidden by a long-lived cache.
        return Vault(self.keys, self.pseudonym_key, self.region)
