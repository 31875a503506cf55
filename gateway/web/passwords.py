"""Password hashing with Argon2id (argon2-cffi, the reference implementation's bindings; OWASP's first choice)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
_HASHER = PasswordHasher()  # Argon2id with argon2-cffi's RFC 9106 low-memory defaults
# Verified against when the username is unknown, so a wrong username costs as much time as a wrong password.
_DUMMY_HASH = _HASHER.hash("not-a-real-password-used-for-timing")


class WeakPassword(ValueError):
    pass


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Een wachtwoord heeft minstens {MIN_LENGTH} tekens.")
    if len(set(password)) < 5:
        raise WeakPassword("Dit wachtwoord is te eenvoudig.")


def hash_password(password: str) -> str:
    check_strength(password)
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)
