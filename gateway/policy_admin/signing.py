"""The policy-signing key (Ed25519) and what it signs.

The key lives in `keys/policy-signing-key.pem` (PKCS#8): generated at first start in development, mounted in
production. It signs a version when it becomes active (first start, four-eyes approval); every replica verifies
the signature and the content hash before it loads a version, so a version changed in the database is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from gateway.pseudonymise.signing import Signer, load_signer, verify

POLICY_SIGNING_KEY_FILE = "policy-signing-key.pem"
_DOMAIN = b"kgb-gateway/policy-version/v1\n"


def load_policy_signer(keys_dir: Path, *, generate: bool) -> Signer:
    return load_signer(keys_dir, POLICY_SIGNING_KEY_FILE, label="policy", generate=generate)


def key_id(public_key: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()[:16]


def message(*, number: int, bundle_hash: str, author: str, approver: str) -> bytes:
    """What a signature covers: the version number, its content hash, and the two people who activated it."""
    return _DOMAIN + "\n".join((str(number), bundle_hash, author, approver)).encode() + b"\n"


def sign(signer: Signer, *, number: int, bundle_hash: str, author: str, approver: str) -> str:
    raw = signer.sign(message(number=number, bundle_hash=bundle_hash, author=author, approver=approver))
    return base64.b64encode(raw).decode()


def valid(public_key: bytes, signature: str, *, number: int, bundle_hash: str, author: str, approver: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    return verify(public_key, raw, message(number=number, bundle_hash=bundle_hash, author=author, approver=approver))
