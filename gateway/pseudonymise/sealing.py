"""Sealed storage: authenticated encryption (AES-256-GCM) for data the gateway must hold for a while.

The transactional outbox keeps a minimised payload until the recipient has it; that payload may carry BSNs and
names (say, a melding to Veilig Thuis), which must never sit in the database in plaintext. Keys derive from the
same key ring (HKDF, per purpose), so rotating the ring rotates these keys too; the key id travels with the
sealed value.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.pseudonymise.keyring import KeyRing, KeyRingError


class SealError(Exception):
    """A sealed value could not be opened (no content in the message)."""


class Sealer:
    def __init__(self, keyring: KeyRing, purpose: str) -> None:
        self.keyring = keyring
        self.purpose = purpose
        self._ciphers: dict[str, AESGCM] = {}

    def _cipher(self, kid: str) -> AESGCM:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            cipher = AESGCM(self.keyring.derive(kid, "seal", self.purpose))
            self._ciphers[kid] = cipher
        return cipher

    def seal(self, plaintext: bytes, *, context: str) -> str:
        """`context` (e.g. the exchange id) is bound as associated data: a sealed value moved to another row fails."""
        kid = self.keyring.active.kid
        nonce = os.urandom(12)
        sealed = self._cipher(kid).encrypt(nonce, plaintext, context.encode())
        return f"SEAL1.{kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, value: str, *, context: str) -> bytes:
        try:
            prefix, kid, body = value.split(".", 2)
            if prefix != "SEAL1":
                raise SealError("not a sealed value")
            raw = base64.urlsafe_b64decode(body)
            return self._cipher(kid).decrypt(raw[:12], raw[12:], context.encode())
        except (ValueError, InvalidTag, KeyRingError) as exc:
            raise SealError("sealed value cannot be opened") from exc
