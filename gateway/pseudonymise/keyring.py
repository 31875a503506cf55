"""The pseudonymisation key ring: an ordered list of master secrets, first one writes, all read.

Per recipient domain a key is derived with HKDF-SHA256, so two recipients' pseudonyms of the same BSN cannot
be linked, and rotating the master (prepend a new key) changes every pseudonym's key id. Keys come from
`keys/pseudonym-keyring.json` (generated on first start in development) or the env var
`GATEWAY_PSEUDONYM_KEYRING` (the same JSON) in production.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEYRING_FILE = "pseudonym-keyring.json"
_KID = re.compile(r"^[a-z0-9]{1,16}$")


class KeyRingError(Exception):
    """The key ring is missing or malformed (no key material in the message)."""


@dataclass(frozen=True)
class MasterKey:
    kid: str
    secret: bytes


class KeyRing:
    def __init__(self, keys: list[MasterKey]) -> None:
        if not keys:
            raise KeyRingError("key ring is empty")
        for key in keys:
            if not _KID.match(key.kid) or len(key.secret) < 32:
                raise KeyRingError("key ring entry malformed (kid [a-z0-9]{1,16}, secret >= 32 bytes)")
        self._keys = {k.kid: k for k in keys}
        self.active = keys[0]
        self.kids = [k.kid for k in keys]
        self._derive = lru_cache(maxsize=4096)(self._derive_uncached)

    def _derive_uncached(self, kid: str, purpose: str, domain: str, length: int) -> bytes:
        master = self._keys.get(kid)
        if master is None:
            raise KeyRingError("unknown key id")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                    info=f"kgb-gateway/{purpose}/v1/{domain}".encode())
        return hkdf.derive(master.secret)

    def derive(self, kid: str, purpose: str, domain: str, length: int = 32) -> bytes:
        return self._derive(kid, purpose, domain, length)

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        try:
            raw = json.loads(text)
            keys = [MasterKey(kid=str(k["kid"]), secret=base64.b64decode(k["secret"], validate=True))
                    for k in raw["keys"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyRingError("key ring JSON malformed") from exc
        return cls(keys)


def generate_keyring_json() -> str:
    kid = "k" + secrets.token_hex(3)
    return json.dumps({"keys": [{"kid": kid, "secret": base64.b64encode(secrets.token_bytes(32)).decode()}]},
                      indent=2)


def load_keyring(keys_dir: Path, *, generate: bool) -> KeyRing:
    env = os.environ.get("GATEWAY_PSEUDONYM_KEYRING")
    if env:
        return KeyRing.from_json(env)
    path = keys_dir / KEYRING_FILE
    if not path.exists():
        if not generate:
            raise KeyRingError("pseudonym key ring not found and key generation is disabled")
        keys_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_keyring_json())
    return KeyRing.from_json(path.read_text())
