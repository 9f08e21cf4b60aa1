"""Encryption at rest and pseudonymous keys.

``SealedBox`` is AES-256-GCM (an AEAD): each value gets a fresh 96-bit nonce and is
bound to its record by associated data, so a ciphertext copied onto another record
fails to open. Tokens carry a version prefix: ``v1:`` sealed directly with the master
key (before envelope encryption), ``v2:`` sealed with a case's own data key.

Envelope encryption (``Keyring``): each case gets a random 256-bit data key; the
data key is stored only wrapped (AES-256-GCM) by a master key, with the master key's
id and bound to the case reference and that id. Rotating the master key rewraps the
small data keys and never touches the sealed values; deleting a case's data key
makes every value sealed for it unreadable for good (crypto-erasure).
``pseudonym`` is a keyed hash (HMAC-SHA256): the same worker gets the same key in
every event, and nobody without the key can test a guessed phone number against it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.errors import InvalidTransition

TOKEN_PREFIX = "v1:"          # sealed with the master key itself (legacy, id LEGACY_KEY_ID)
ENVELOPE_PREFIX = "v2:"       # sealed with the case's data key
LEGACY_KEY_ID = "k1"
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class Erased(InvalidTransition):
    """The case's data key was erased (crypto-erasure): what was sealed for it can
    never be opened again, nor anything new sealed for it (a 409 at the door; an
    event about it is not retried)."""


class SealedBox:
    def __init__(self, key: bytes, prefix: str = TOKEN_PREFIX):
        if len(key) != 32:
            raise ValueError("SealedBox needs a 32-byte key")
        self._aead, self.prefix = AESGCM(key), prefix

    def seal(self, plaintext: str, bound_to: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), bound_to.encode("utf-8"))
        return self.prefix + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, token: str, bound_to: str) -> str:
        if not token.startswith(self.prefix):
            raise ValueError("unknown token version")
        raw = base64.b64decode(token[len(self.prefix):])
        return self._aead.decrypt(raw[:12], raw[12:], bound_to.encode("utf-8")).decode("utf-8")


def new_data_key() -> bytes:
    return os.urandom(32)


class Keyring:
    """Master keys by id; ``current`` wraps new data keys, any listed id unwraps.
    A master key leaves the ring only after every data key it wrapped was rewrapped
    (``services.intake.keys rotate``) and no ``v1:`` token needs it."""

    def __init__(self, keys: dict[str, bytes], current: str):
        if current not in keys:
            raise ValueError(f"the current master key id {current!r} is not in the keyring")
        for key_id, key in keys.items():
            if not KEY_ID.fullmatch(key_id) or len(key) != 32:
                raise ValueError(f"master key {key_id!r}: ids are [A-Za-z0-9_-], keys 32 bytes")
        self._keys, self.current = dict(keys), current

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    @staticmethod
    def _bound(case_ref: str, key_id: str) -> str:
        return f"ilm-data-key|{case_ref}|{key_id}"    # the wrapped key opens only for this case and id

    def wrap(self, data_key: bytes, case_ref: str) -> tuple[str, str]:
        """(master key id, wrapped data key) under the current master key."""
        box = AESGCM(self._keys[self.current])
        nonce = os.urandom(12)
        wrapped = box.encrypt(nonce, data_key, self._bound(case_ref, self.current).encode())
        return self.current, base64.b64encode(nonce + wrapped).decode("ascii")

    def unwrap(self, key_id: str, wrapped: str, case_ref: str) -> bytes:
        if key_id not in self._keys:
            raise KeyError(f"master key {key_id!r} is not in the keyring (IDENTITY_KEYS)")
        raw = base64.b64decode(wrapped)
        return AESGCM(self._keys[key_id]).decrypt(raw[:12], raw[12:], self._bound(case_ref, key_id).encode())

    def legacy_box(self) -> SealedBox:
        """Opens ``v1:`` tokens, sealed with IDENTITY_KEY before envelope encryption."""
        if LEGACY_KEY_ID not in self._keys:
            raise KeyError(f"v1 tokens need master key {LEGACY_KEY_ID!r} (the former IDENTITY_KEY) in the keyring")
        return SealedBox(self._keys[LEGACY_KEY_ID])


def pseudonym(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return "wk_" + digest[:32]


def new_key() -> str:
    """A fresh base64 32-byte key (scripts use it to create local keys)."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


if __name__ == "__main__":
    print(new_key())
