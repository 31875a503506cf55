"""Checkpoints as C2SP signed notes: the text a verifier needs, and nothing else.

A checkpoint body (C2SP tlog-checkpoint) is

    <origin>\\n<tree size>\\n<base64 root hash>\\n<RFC 3339 time>\\n

and the note adds a blank line and one line per signature, `— <name> <base64(key id || signature)>`, where the key
id is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || Ed25519 public key) (C2SP signed-note, Ed25519). The
gateway signs under its origin; witnesses (partner organisations) sign the same body bytes under their own names.
Pure text handling: importable by the offline verifier without the web app or a database.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from dataclasses import dataclass

from gateway.pseudonymise import signing

SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space, as in C2SP signed notes
ED25519_ALGORITHM = b"\x01"


class NoteError(ValueError):
    """The text is not a well-formed checkpoint or signed note."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    time: dt.datetime

    def body(self) -> str:
        stamp = self.time.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root_hash).decode()}\n{stamp}\n"


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


@dataclass(frozen=True)
class SignedNote:
    body: str
    signatures: tuple[NoteSignature, ...]

    def text(self) -> str:
        return self.body + "\n" + "".join(s.line() for s in self.signatures)

    def checkpoint(self) -> Checkpoint:
        return parse_body(self.body)

    def verified_by(self, name: str, public_key: bytes) -> bool:
        """True when some signature line under `name` with this key's id verifies over the body."""
        wanted = key_id(name, public_key)
        return any(s.name == name and s.key_id == wanted and signing.verify(public_key, s.signature,
                                                                             self.body.encode())
                   for s in self.signatures)


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519_ALGORITHM + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The C2SP verifier key string `<name>+<hex key id>+<base64(0x01 || key)>`."""
    return f"{name}+{key_id(name, public_key).hex()}+{base64.b64encode(ED25519_ALGORITHM + public_key).decode()}"


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    try:
        name, hex_id, encoded = text.strip().split("+", 2)  # the base64 key may itself contain '+'
        raw = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise NoteError("not a verifier key") from exc
    if raw[:1] != ED25519_ALGORITHM or len(raw) != 1 + signing.PUBLIC_KEY_SIZE:
        raise NoteError("verifier key is not Ed25519")
    if key_id(name, raw[1:]).hex() != hex_id:
        raise NoteError("verifier key id does not match its key")
    return name, raw[1:]


def sign(body: str, *, name: str, signer: signing.Signer) -> NoteSignature:
    return NoteSignature(name=name, key_id=key_id(name, signer.public_key), signature=signer.sign(body.encode()))


def parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 5 or lines[-1] != "":
        raise NoteError("a checkpoint body has origin, tree size, root hash and time lines")
    try:
        size = int(lines[1])
        root_hash = base64.b64decode(lines[2], validate=True)
        time = dt.datetime.fromisoformat(lines[3])
    except (ValueError, binascii.Error) as exc:
        raise NoteError("checkpoint size, root or time malformed") from exc
    if not lines[0] or size < 0 or len(root_hash) != hashlib.sha256().digest_size or lines[1] != str(size):
        raise NoteError("checkpoint origin, size or root malformed")
    return Checkpoint(origin=lines[0], tree_size=size, root_hash=root_hash, time=time)


def parse_note(text: str) -> SignedNote:
    body, separator, tail = text.partition("\n\n")
    if not separator or not tail.endswith("\n"):
        raise NoteError("a signed note is a body, a blank line and signature lines")
    signatures = []
    for line in tail[:-1].split("\n"):
        name, _, encoded = line.removeprefix(SIGNATURE_PREFIX).rpartition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise NoteError("signature line malformed") from exc
        if not line.startswith(SIGNATURE_PREFIX) or not name or len(raw) != 4 + signing.SIGNATURE_SIZE:
            raise NoteError("signature line malformed")
        signatures.append(NoteSignature(name=name, key_id=raw[:4], signature=raw[4:]))
    return SignedNote(body=body + "\n", signatures=tuple(signatures))
