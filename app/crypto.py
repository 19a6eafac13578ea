"""Data encryption at rest: AES-GCM under a rotatable key ring, and keyed fingerprints.

DATA_ENCRYPTION_KEYS is "id:base64key[,id:base64key...]"; the first key encrypts, all decrypt, so
rotation is: put a new key first, run `flask --app wsgi keys rotate`, then drop the old one.
DATA_HMAC_KEY keys the fingerprints used to find duplicates without decrypting; it never rotates
(changing it would make every stored fingerprint unmatchable).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

NONCE_BYTES = 12
EXTENSION_KEY = "kameng.keyring"


class KeyRingError(ValueError):
    pass


@dataclass(frozen=True)
class Sealed:
    key_id: str
    blob: bytes  # nonce + ciphertext + tag


class KeyRing:
    def __init__(self, spec: str, hmac_key: str):
        self._keys: dict[str, AESGCM] = {}
        order: list[str] = []
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            key_id, sep, encoded = part.partition(":")
            if not sep or not key_id:
                raise KeyRingError("DATA_ENCRYPTION_KEYS entries look like id:base64key")
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if len(raw) != 32:
                raise KeyRingError(f"data key {key_id!r} must be 32 bytes (AES-256)")
            self._keys[key_id] = AESGCM(raw)
            order.append(key_id)
        if not order:
            raise KeyRingError("DATA_ENCRYPTION_KEYS is empty")
        self.current_id = order[0]
        self._hmac_key = hashlib.sha256(b"kameng-fingerprint:" + hmac_key.encode()).digest()

    def seal(self, plaintext: bytes, aad: bytes) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        blob = nonce + self._keys[self.current_id].encrypt(nonce, plaintext, aad)
        return Sealed(self.current_id, blob)

    def open(self, sealed: Sealed, aad: bytes) -> bytes:
        cipher = self._keys.get(sealed.key_id)
        if cipher is None:
            raise KeyRingError(f"data key {sealed.key_id!r} is not configured")
        return cipher.decrypt(sealed.blob[:NONCE_BYTES], sealed.blob[NONCE_BYTES:], aad)

    def fingerprint(self, plaintext: bytes) -> bytes:
        return hmac.new(self._hmac_key, plaintext, hashlib.sha256).digest()

    def has_key(self, key_id: str) -> bool:
        return key_id in self._keys


def keyring() -> KeyRing:
    return current_app.extensions[EXTENSION_KEY]


def init_app(app) -> None:
    app.extensions[EXTENSION_KEY] = KeyRing(
        app.config["DATA_ENCRYPTION_KEYS"], app.config["DATA_HMAC_KEY"]
    )


def seal_text(plaintext: str, purpose: str) -> str:
    """Encrypt a short secret for a text column: "key_id:base64(nonce+ciphertext)". The purpose
    (e.g. "payment-provider:alipay") is bound as associated data, so a value cannot be moved."""
    sealed = keyring().seal(plaintext.encode(), purpose.encode())
    return f"{sealed.key_id}:{base64.urlsafe_b64encode(sealed.blob).decode()}"


def open_text(token: str, purpose: str) -> str:
    key_id, _, encoded = token.partition(":")
    sealed = Sealed(key_id, base64.urlsafe_b64decode(encoded))
    return keyring().open(sealed, purpose.encode()).decode()
