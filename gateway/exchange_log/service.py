"""Append to and read the exchange log.

Entries are serialised canonically (sorted keys, no insignificant whitespace, UTF-8: RFC 8785 for the value
types we log — we never log floats) and each row keeps its RFC 9162 leaf hash `SHA-256(0x00 || entry)`, the
basis for the Merkle tree, checkpoints and proofs. The log is a sink: it is written, never updated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import orjson
from sqlalchemy import func, insert, text
from sqlmodel import Session, col, select

from gateway.exchange_log.models import LogEntry

SCHEMA = "kgb-gateway/log-record/v1"
APPEND_LOCK_KEY = 0x6B6762_6C6F67  # "kgb" "log": one advisory lock for the whole log
_TABLE = LogEntry.__table__  # type: ignore[attr-defined]
_INSERT = insert(_TABLE)
_LAST_POSITION = select(func.max(_TABLE.c.position))


def canonical_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def leaf_hash(entry: bytes) -> str:
    return hashlib.sha256(b"\x00" + entry).hexdigest()


def payload_hash(payload: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(payload)).hexdigest()


def append(session: Session, *, kind: str, record: dict[str, Any], now: dt.datetime) -> LogEntry:
    """Add one entry at the next position within the caller's transaction (committed by the caller).

    Appends are serialised so positions form one gapless sequence: SQLite takes its write lock at BEGIN
    (BEGIN IMMEDIATE, see core.database); PostgreSQL takes a transaction-scoped advisory lock, which also
    serialises several gateway replicas on one database.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    last = session.execute(_LAST_POSITION).scalar_one_or_none()
    position = 0 if last is None else int(last) + 1
    record_id = str(uuid.uuid4())
    body = {"schema": SCHEMA, "record_id": record_id, "position": position, "kind": kind,
            "time": now.isoformat(timespec="microseconds"), **record}
    entry = canonical_json(body)
    row = LogEntry(
        position=position,
        record_id=record_id,
        kind=kind,
        exchange_id=record.get("exchange_id"),
        recorded_at=now,
        sender_id=(record.get("sender") or {}).get("id"),
        recipient_id=(record.get("recipient") or {}).get("id"),
        purpose=record.get("purpose"),
        flow=record.get("flow"),
        outcome=(record.get("decision") or {}).get("outcome") or record.get("outcome"),
        trace_id=record.get("trace_id"),
        entry=entry.decode(),
        leaf_hash=leaf_hash(entry),
    )
    # A Core insert: the ORM's unit of work costs more than the write itself on this hot path.
    session.execute(_INSERT, [row.model_dump()])
    return row


def entries_for_exchange(session: Session, exchange_id: str) -> list[LogEntry]:
    statement = select(LogEntry).where(col(LogEntry.exchange_id) == exchange_id).order_by(col(LogEntry.position))
    return list(session.exec(statement).all())


def verify_leaf_hashes(session: Session) -> list[int]:
    """Positions whose stored leaf hash no longer matches their entry (a first tamper check)."""
    rows = session.exec(select(LogEntry).order_by(col(LogEntry.position))).all()
    return [row.position for row in rows if leaf_hash(row.entry.encode()) != row.leaf_hash]
