"""The log API's answers. Hashes are base64 (as in the signed notes); a verifier needs nothing else."""

from __future__ import annotations

import base64
import datetime as dt

from pydantic import BaseModel, Field

from gateway.exchange_log.checkpoint import SignedNote
from gateway.exchange_log.models import LogCosignature


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


class CosignatureOut(BaseModel):
    organisation_id: str = Field(description="The witness; also the name on its signature line in the note")
    public_key: str = Field(description="base64 Ed25519 key registered for the witness")
    signature: str = Field(description="base64 Ed25519 signature over the checkpoint body")
    created_at: dt.datetime

    @classmethod
    def of(cls, row: LogCosignature) -> CosignatureOut:
        return cls(organisation_id=row.organisation_id, public_key=row.public_key, signature=row.signature,
                   created_at=row.created_at)


class CheckpointOut(BaseModel):
    origin: str
    tree_size: int
    root_hash: str = Field(description="base64 RFC 9162 Merkle tree hash of the first tree_size entries")
    time: dt.datetime
    body: str = Field(description="The signed checkpoint body; witnesses sign exactly these bytes (UTF-8)")
    note: str = Field(description="The C2SP signed note: body, blank line, the gateway's and witnesses' "
                                  "signature lines. Save it as the --checkpoint file of `gateway log verify`.")
    cosignatures: list[CosignatureOut]

    @classmethod
    def of(cls, note: SignedNote, rows: list[LogCosignature]) -> CheckpointOut:
        checkpoint = note.checkpoint()
        return cls(origin=checkpoint.origin, tree_size=checkpoint.tree_size, root_hash=b64(checkpoint.root_hash),
                   time=checkpoint.time, body=note.body, note=note.text(),
                   cosignatures=[CosignatureOut.of(r) for r in rows])


class CosignatureIn(BaseModel):
    signature: str = Field(min_length=88, max_length=88, description=(
        "base64 Ed25519 signature, with the key registered as the organisation's witness_key, over the "
        "checkpoint body (UTF-8)"))


class InclusionProofOut(BaseModel):
    position: int
    tree_size: int
    entry: str = Field(description="The canonical JSON entry; its leaf hash is SHA-256(0x00 || entry)")
    leaf_hash: str = Field(description="base64 leaf hash")
    root_hash: str = Field(description="base64 root at tree_size: compare with a signed checkpoint")
    proof: list[str] = Field(description="base64 audit path (RFC 9162 section 2.1.3)")


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    first_root: str = Field(description="base64 root at `first`: compare with a signed checkpoint")
    second_root: str = Field(description="base64 root at `second`: compare with a signed checkpoint")
    proof: list[str] = Field(description="base64 consistency proof (RFC 9162 section 2.1.4)")


class PublicKeyOut(BaseModel):
    origin: str
    algorithm: str = "Ed25519"
    public_key: str = Field(description="base64 of the raw 32-byte key")
    key_id: str = Field(description="hex key id as on the signature lines")
    verifier_key: str = Field(description="C2SP verifier key `<origin>+<key id>+<base64(0x01 || key)>`: save it "
                                          "as the --public-key file of `gateway log verify`")
    pem: str
