"""Append to and read the exchange log.

Entries are serialised canonically (sorted keys, no insignificant whitespace, UTF-8: RFC 8785 for the value
types we log — we never log floats) and each row keeps its RFC 9162 leaf hash `SHA-256(0x00 || entry)`, the
basis for the Merkle tree, checkpoints and proofs. Each entry also names the previous entry's leaf hash
(`prev_leaf_hash`), a hash chain that lets the verifier locate a change. The log is append-only, with one
sanctioned exception: retention (gateway/exchange_log/retention.py) replaces the content of an expired entry by a
stub, after logging the purge in an entry of its own; an entry's position and leaf hash never change, so the
Merkle tree, checkpoints and proofs stay valid. Signed checkpoints over the tree and the witnesses' cosignatures
are stored beside it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, event, insert, text
from sqlmodel import Session, col, select

from gateway.core.database import LOG_APPEND_LOCK_KEY, LOG_LOCK_HELD, recall, remember
from gateway.core.errors import CheckpointNotFound, InvalidCosignature, InvalidProofRequest, NotFound, NoWitnessKey
from gateway.exchange_log import merkle
from gateway.exchange_log.checkpoint import Checkpoint, NoteSignature, SignedNote, key_id, parse_note, sign
from gateway.exchange_log.models import LogCheckpoint, LogCosignature, LogEntry
from gateway.pseudonymise import signing
from gateway.registry.organisations import Organisation
from gateway.review import index as review_index

SCHEMA = "kgb-gateway/log-record/v1"
APPEND_LOCK_KEY = LOG_APPEND_LOCK_KEY  # one advisory lock for the whole log (group-commit batches take it first)
_TABLE = LogEntry.__table__  # type: ignore[attr-defined]
_INSERT = insert(_TABLE)
_LAST = select(_TABLE.c.position, _TABLE.c.leaf_hash).order_by(_TABLE.c.position.desc()).limit(1)
GENESIS_LINK = "0" * 64  # prev_leaf_hash of the entry at position 0


def canonical_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def leaf_hash(entry: bytes) -> str:
    return hashlib.sha256(b"\x00" + entry).hexdigest()


def payload_hash(payload: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(payload)).hexdigest()


def lock(session: Session) -> None:
    """Take the log's append lock for the rest of the caller's transaction (re-entrant within it).

    PostgreSQL: a transaction-scoped advisory lock, shared by every replica on the database; not asked for again
    in a transaction that holds it already (a group-commit batch takes it at BEGIN). SQLite: nothing to do, the
    gateway's write transactions take the database's write lock at BEGIN (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    connection = session.connection()
    if recall(connection, LOG_LOCK_HELD):
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    if connection.get_nested_transaction() is None:
        # Remembered only when taken outside any savepoint: rolling back a savepoint releases a lock taken in it.
        remember(connection, LOG_LOCK_HELD, True)


# `remember` key: (position, leaf hash) of the last entry this connection appended in its current transaction.
# Under the append lock nobody else appends, so the next append in the same transaction need not read the tail
# back; a rolled-back savepoint forgets it (below), and another transaction never matches.
_TAIL = "gateway_log_tail"


@event.listens_for(Engine, "rollback_savepoint")
def _forget_tail(connection: Connection, _name: str, _context: object) -> None:
    if connection.invalidated:  # its info is gone with it; reading it would mask the error being handled
        return
    connection.info.pop(_TAIL, None)


def _tail(session: Session) -> tuple[int, str] | None:
    """Position and leaf hash of the log's last entry (None: empty log)."""
    known: tuple[int, str] | None = recall(session.connection(), _TAIL)
    if known is not None:
        return known
    last = session.execute(_LAST).one_or_none()
    return None if last is None else (int(last[0]), str(last[1]))


@dataclass(frozen=True)
class Appended:
    """What `append` wrote: the entry's position, ids and hash (the row itself is a plain Core insert)."""

    position: int
    record_id: str
    kind: str
    leaf_hash: str
    entry: str


def append(session: Session, *, kind: str, record: dict[str, Any], now: dt.datetime) -> Appended:
    """Add one entry at the next position within the caller's transaction (committed by the caller).

    Appends are serialised so positions form one gapless sequence: SQLite takes its write lock at BEGIN
    (BEGIN IMMEDIATE, see core.database); PostgreSQL takes a transaction-scoped advisory lock, which also
    serialises several gateway replicas on one database.
    """
    lock(session)
    last = _tail(session)
    position, prev_leaf_hash = (0, GENESIS_LINK) if last is None else (last[0] + 1, last[1])
    record_id = str(uuid.uuid4())
    # The link to the previous leaf lets a verifier name the entry that was changed, even when someone
    # with SQL access recomputed its leaf hash; the Merkle root alone only says *that* something changed.
    body = {"schema": SCHEMA, "record_id": record_id, "position": position, "kind": kind,
            "time": now.isoformat(timespec="microseconds"), **record, "prev_leaf_hash": prev_leaf_hash}
    entry = canonical_json(body)
    appended = Appended(position=position, record_id=record_id, kind=kind, leaf_hash=leaf_hash(entry),
                        entry=entry.decode())
    # A Core insert of plain values: the ORM's unit of work (and even building the model) costs more than the
    # write itself on this hot path.
    session.execute(_INSERT, [{
        "position": position, "record_id": record_id, "kind": kind, "exchange_id": record.get("exchange_id"),
        "recorded_at": now, "sender_id": (record.get("sender") or {}).get("id"),
        "recipient_id": (record.get("recipient") or {}).get("id"), "purpose": record.get("purpose"),
        "flow": record.get("flow"), "outcome": (record.get("decision") or {}).get("outcome") or record.get("outcome"),
        "trace_id": record.get("trace_id"), "entry": appended.entry, "leaf_hash": appended.leaf_hash}])
    # (purged_at is left out on purpose: appends also work on a database from before migration 0008.)
    # The DPO's search index, in the same transaction: no entry without its index rows (gateway/review/index.py).
    review_index.index_entry(session, position=position, kind=kind, record=body, recorded_at=now)
    remember(session.connection(), _TAIL, (position, appended.leaf_hash))
    return appended


def entries_for_exchange(session: Session, exchange_id: str) -> list[LogEntry]:
    statement = select(LogEntry).where(col(LogEntry.exchange_id) == exchange_id).order_by(col(LogEntry.position))
    return list(session.exec(statement).all())


def log_size(session: Session) -> int:
    last = session.execute(_LAST).one_or_none()
    return 0 if last is None else int(last[0]) + 1


def leaf_hashes(session: Session, tree_size: int) -> list[bytes]:
    """The stored leaf hashes of the first `tree_size` entries, in position order."""
    statement = (select(_TABLE.c.leaf_hash).where(_TABLE.c.position < tree_size)
                 .order_by(_TABLE.c.position))
    hashes = [bytes.fromhex(h) for h in session.execute(statement).scalars()]
    if len(hashes) != tree_size:
        raise InvalidProofRequest(detail="The tree size exceeds the size of the log.")
    return hashes


def entry_at(session: Session, position: int) -> LogEntry | None:
    return session.get(LogEntry, position)


def issue_checkpoint(session: Session, *, signer: signing.Signer, origin: str, now: dt.datetime) -> LogCheckpoint:
    """Sign the current tree; when it has not grown since the latest checkpoint, that one is still current."""
    latest = latest_checkpoint(session)
    size = log_size(session)
    if latest is not None and latest.tree_size == size:
        return latest
    root_hash = merkle.root(leaf_hashes(session, size))
    body = Checkpoint(origin=origin, tree_size=size, root_hash=root_hash, time=now).body()
    note = SignedNote(body=body, signatures=(sign(body, name=origin, signer=signer),))
    row = LogCheckpoint(tree_size=size, root_hash=root_hash.hex(), issued_at=now, note=note.text())
    session.add(row)
    session.flush()
    return row


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    statement = select(LogCheckpoint).order_by(col(LogCheckpoint.tree_size).desc()).limit(1)
    return session.exec(statement).first()


def checkpoint_at(session: Session, tree_size: int) -> LogCheckpoint:
    row = session.get(LogCheckpoint, tree_size)
    if row is None:
        raise CheckpointNotFound(detail="No checkpoint was issued at this tree size.")
    return row


def cosignatures(session: Session, tree_size: int) -> list[LogCosignature]:
    statement = (select(LogCosignature).where(col(LogCosignature.tree_size) == tree_size)
                 .order_by(col(LogCosignature.organisation_id)))
    return list(session.exec(statement).all())


def cosigned_note(checkpoint: LogCheckpoint, rows: list[LogCosignature]) -> SignedNote:
    """The gateway's note with each witness's signature line added under the witness's organisation id."""
    note = parse_note(checkpoint.note)
    extra = tuple(NoteSignature(name=r.organisation_id, key_id=key_id(r.organisation_id, base64.b64decode(
        r.public_key)), signature=base64.b64decode(r.signature)) for r in rows)
    return SignedNote(body=note.body, signatures=note.signatures + extra)


def add_cosignature(session: Session, *, tree_size: int, witness: Organisation, signature: str,
                    now: dt.datetime) -> LogCosignature:
    """Store a witness's signature over a checkpoint body, after checking it with the witness's registered key."""
    if not witness.witness_key:
        raise NoWitnessKey(detail="This organisation has no witness key registered.")
    checkpoint = checkpoint_at(session, tree_size)
    public_key = base64.b64decode(witness.witness_key)
    try:
        raw = base64.b64decode(signature, validate=True)
    except binascii.Error as exc:
        raise InvalidCosignature(detail="The signature is not base64.") from exc
    if not signing.verify(public_key, raw, parse_note(checkpoint.note).body.encode()):
        raise InvalidCosignature(detail="The signature does not verify with the registered witness key.")
    row = LogCosignature(tree_size=tree_size, organisation_id=witness.id, public_key=witness.witness_key,
                         signature=base64.b64encode(raw).decode(), created_at=now)
    # A witness that signs again (for instance after rotating its key) replaces its earlier cosignature.
    return session.merge(row)


def inclusion_proof(session: Session, *, position: int, tree_size: int,
                    organisation_id: str) -> tuple[LogEntry, list[bytes], bytes]:
    """The entry, its audit path and the root at `tree_size` — only for the entry's sender or recipient."""
    row = entry_at(session, position)
    if row is None or organisation_id not in (row.sender_id, row.recipient_id):
        # Outsiders learn nothing, not even whether the position exists.
        raise NotFound(detail="No log entry at this position is visible to your organisation.")
    if position >= tree_size:
        raise InvalidProofRequest(detail="The position must lie below the tree size.")
    leaves = leaf_hashes(session, tree_size)
    return row, merkle.inclusion_proof(leaves, position, tree_size), merkle.root(leaves)


def consistency_proof(session: Session, *, first: int, second: int) -> tuple[list[bytes], bytes, bytes]:
    """The proof that the tree of `first` entries is a prefix of the tree of `second`, with both roots."""
    if not 0 < first <= second:
        raise InvalidProofRequest(detail="Consistency needs 0 < first <= second.")
    leaves = leaf_hashes(session, second)
    return merkle.consistency_proof(leaves, first, second), merkle.root(leaves[:first]), merkle.root(leaves)
