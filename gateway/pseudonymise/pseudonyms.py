"""Keyed pseudonyms (HMAC-SHA256) and reversible deterministic encryption (AES-SIV) per domain.

A pseudonym reads `PS1.<kid>.<26 base32 chars>` (130 bits of HMAC): the key id lets keys rotate, the domain
(e.g. `org:research-utrecht` or `log`) makes pseudonyms of different recipients unlinkable. An encrypted
value reads `ENC1.<kid>.<base64url>`: only the gateway, on behalf of the domain's owner, can reverse it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from gateway.pseudonymise.keyring import KeyRing, KeyRingError

LOG_DOMAIN = "log"


class PseudonymError(Exception):
    """A token could not be decrypted (no token content in the message)."""


def organisation_domain(organisation_id: str) -> str:
    return f"org:{organisation_id}"


class Pseudonymiser:
    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring
        self._siv: dict[tuple[str, str], AESSIV] = {}

    def pseudonym(self, value: str, domain: str, *, kid: str | None = None) -> str:
        kid = kid or self.keyring.active.kid
        key = self.keyring.derive(kid, "pseudonym", domain)
        mac = hmac.new(key, value.encode(), hashlib.sha256).digest()
        return f"PS1.{kid}.{base64.b32encode(mac).decode()[:26]}"

    def pseudonyms_all_keys(self, value: str, domain: str) -> list[str]:
        """The value's pseudonym under every key in the ring: for searching across a rotation."""
        return [self.pseudonym(value, domain, kid=kid) for kid in self.keyring.kids]

    def _cipher(self, kid: str, domain: str) -> AESSIV:
        cipher = self._siv.get((kid, domain))
        if cipher is None:
            cipher = AESSIV(self.keyring.derive(kid, "siv", domain, length=64))
            self._siv[(kid, domain)] = cipher
        return cipher

    def encrypt(self, value: str, domain: str) -> str:
        kid = self.keyring.active.kid
        token = self._cipher(kid, domain).encrypt(value.encode(), [domain.encode()])
        return f"ENC1.{kid}.{base64.urlsafe_b64encode(token).decode().rstrip('=')}"

    def decrypt(self, token: str, domain: str) -> str:
        try:
            prefix, kid, body = token.split(".", 2)
            if prefix != "ENC1":
                raise PseudonymError("not an encrypted value")
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return self._cipher(kid, domain).decrypt(raw, [domain.encode()]).decode()
        except (ValueError, InvalidTag, KeyRingError) as exc:
            raise PseudonymError("value cannot be decrypted in this domain") from exc
