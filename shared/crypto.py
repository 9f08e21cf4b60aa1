"""Encryption at rest and pseudonymous keys.

``SealedBox`` is AES-256-GCM (an AEAD): each value gets a fresh 96-bit nonce and is
bound to its record by associated data, so a ciphertext copied onto another record
fails to open. Tokens carry a key version prefix so keys can be rotated later.
``pseudonym`` is a keyed hash (HMAC-SHA256): the same worker gets the same key in
every event, and nobody without the key can test a guessed phone number against it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_PREFIX = "v1:"


class SealedBox:
    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("SealedBox needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, bound_to: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), bound_to.encode("utf-8"))
        return TOKEN_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, token: str, bound_to: str) -> str:
        if not token.startswith(TOKEN_PREFIX):
            raise ValueError("unknown token version")
        raw = base64.b64decode(token[len(TOKEN_PREFIX):])
        return self._aead.decrypt(raw[:12], raw[12:], bound_to.encode("utf-8")).decode("utf-8")


def pseudonym(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return "wk_" + digest[:32]


def new_key() -> str:
    """A fresh base64 32-byte key (scripts use it to create local keys)."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


if __name__ == "__main__":
    print(new_key())
