"""Ed25519 signing for log checkpoints and witness cosignatures (the hazmat layer; callers see bytes only).

The log's signing key lives in `keys/log-signing-key.pem` (PKCS#8). In development it is generated at first
start, like the other dev keys; production mounts the file and refuses to generate one.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

LOG_SIGNING_KEY_FILE = "log-signing-key.pem"
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


class SigningKeyError(Exception):
    """The log signing key is missing or unreadable (the message names the kind of file, never key content)."""


class Signer:
    """Signs with a private Ed25519 key that never leaves this object."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key: bytes = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    def private_pem(self) -> bytes:
        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True only for a valid Ed25519 signature; malformed keys or signatures are simply not valid."""
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def public_key_from_pem(pem: bytes) -> bytes:
    """The raw 32-byte key of a PEM SubjectPublicKeyInfo holding an Ed25519 key."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise SigningKeyError("public key PEM unreadable") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("public key is not Ed25519")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(public_key: bytes) -> bytes:
    return Ed25519PublicKey.from_public_bytes(public_key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_signer(keys_dir: Path, filename: str, *, label: str, generate: bool) -> Signer:
    """An Ed25519 signing key from `keys_dir/filename` (PKCS#8 PEM), generated (mode 0600) when allowed."""
    path = keys_dir / filename
    if not path.exists():
        if not generate:
            raise SigningKeyError(f"{label} signing key not found and key generation is disabled")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Signer.generate().private_pem())
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise SigningKeyError(f"{label} signing key unreadable") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{label} signing key is not Ed25519")
    return Signer(key)


def load_log_signer(keys_dir: Path, *, generate: bool) -> Signer:
    return load_signer(keys_dir, LOG_SIGNING_KEY_FILE, label="log", generate=generate)
