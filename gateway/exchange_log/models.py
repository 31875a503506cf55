"""The exchange log table: append-only, one row per log entry, hash-linked by RFC 9162 leaf hashes."""

from __future__ import annotations

import datetime as dt

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
    entry: str = Field(description="Canonical JSON of the record (sorted keys, no whitespace)")
    leaf_hash: str = Field(max_length=64, description="hex SHA-256(0x00 || entry), RFC 9162")
