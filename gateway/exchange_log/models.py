"""The exchange log table: append-only, one row per log entry, hash-linked by RFC 9162 leaf hashes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Text
from sqlmodel import Field, SQLModel


class LogEntry(SQLModel, table=True):
    __tablename__ = "exchange_log"

    position: int = Field(primary_key=True, description="0-based position in the log (the Merkle leaf index)")
    record_id: str = Field(unique=True, max_length=36)
    kind: str = Field(max_length=32, index=True)
    exchange_id: str | None = Field(default=None, max_length=36, index=True)
    recorded_at: dt.datetime = Field(index=True)
    sender_id: str | None = Field(default=None, max_length=100, index=True)
    recipient_id: str | None = Field(default=None, max_length=100, index=True)
    purpose: str | None = Field(default=None, max_length=100)
    flow: str | None = Field(default=None, max_length=20)
    outcome: str | None = Field(default=None, max_length=20)
    trace_id: str | None = Field(default=None, max_length=32)
    entry: str = Field(sa_type=Text, description="Canonical JSON of the record (sorted keys, no whitespace)")
    leaf_hash: str = Field(max_length=64, description="hex SHA-256(0x00 || entry), RFC 9162")
    # Retention (gateway/exchange_log/retention.py): set when the content was replaced by a purge stub; the
    # leaf hash stays, so the tree still verifies. Migration 0008. Left out of model_dump(): append's insert never
    # sets it (so appends also work on a database from before 0008, as the migration test writes one).
    purged_at: dt.datetime | None = Field(default=None, index=True, exclude=True)


class LogCheckpoint(SQLModel, table=True):
    """A signed checkpoint: the note text is what verifiers use; size and root are kept for queries."""

    __tablename__ = "log_checkpoint"

    tree_size: int = Field(primary_key=True)
    root_hash: str = Field(max_length=64, description="hex MTH of the first tree_size leaves")
    issued_at: dt.datetime = Field(index=True)
    note: str = Field(sa_type=Text, description="The C2SP signed note, signed by the gateway")


class LogCosignature(SQLModel, table=True):
    """A partner organisation's (witness's) Ed25519 signature over a checkpoint body."""

    __tablename__ = "log_cosignature"

    tree_size: int = Field(primary_key=True, foreign_key="log_checkpoint.tree_size")
    organisation_id: str = Field(primary_key=True, max_length=100)
    public_key: str = Field(max_length=44, description="base64 Ed25519 key the signature verified with")
    signature: str = Field(max_length=88, description="base64 Ed25519 signature over the checkpoint body")
    created_at: dt.datetime
