"""The review desk's side index, filled from each log record in the transaction that appends it.

This module only reads the log record it is handed. It writes one `review_index` row per entry,
`review_term` rows for the multi-valued facts (data categories, subject pseudonyms, queue memberships) and a
`review_obligation` row for each obligation of an allowed exchange that carries a deadline. Because these rows
are written once and never derived from the entry again, a later retention purge of the entry's content does
not take a record out of the DPO's statistics and queues; the purge does remove the person and professional
pseudonyms from the index (`forget_identities`), so a purged entry can no longer be found by person.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, insert, select
from sqlmodel import Session

from gateway.review.models import ReviewIndex, ReviewObligation, ReviewTerm

SPECIAL = frozenset({"health", "justice"})
QUEUE_TERMS = {"special": "queue:special", "break_glass": "queue:break_glass", "reporter": "queue:reporter",
               "conflict": "queue:conflict"}
_INDEX = ReviewIndex.__table__  # type: ignore[attr-defined]
_TERMS = ReviewTerm.__table__  # type: ignore[attr-defined]
_OBLIGATIONS = ReviewObligation.__table__  # type: ignore[attr-defined]
# Built once: on the append path every statement's construction and cache-key lookup counts.
_INSERT_INDEX, _INSERT_TERMS, _INSERT_OBLIGATIONS = insert(_INDEX), insert(_TERMS), insert(_OBLIGATIONS)

_NUMBERS = {"een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8,
            "negen": 9, "tien": 10, "twaalf": 12}
_UNIT_DAYS = {"dag": 1, "dagen": 1, "week": 7, "weken": 7, "maand": 30, "maanden": 30}
_DEADLINE = re.compile(r"\bbinnen\s+(\d+|" + "|".join(_NUMBERS) + r")\s+(" + "|".join(_UNIT_DAYS) + r")\b",
                       re.IGNORECASE)


def deadline_days(obligation: str) -> int | None:
    """The deadline an obligation's plain text names ("binnen vier weken" → 28), or None."""
    match = _DEADLINE.search(obligation)
    if match is None:
        return None
    count = match.group(1).lower()
    number = int(count) if count.isdigit() else _NUMBERS[count]
    return number * _UNIT_DAYS[match.group(2).lower()]


@dataclass
class IndexRows:
    index: dict[str, Any]
    terms: list[str] = field(default_factory=list)
    obligations: list[dict[str, Any]] = field(default_factory=list)


def _released(fields: list[dict[str, Any]], categories: Iterable[str], treatments: set[str]) -> bool:
    wanted = set(categories)
    return any(f.get("category") in wanted and f.get("treatment") in treatments for f in fields)


def _queue_terms(record: dict[str, Any]) -> list[str]:
    fields = [f for f in record.get("fields") or [] if isinstance(f, dict)]
    context = (record.get("policy_input") or {}).get("context") or {}
    found = []
    if _released(fields, SPECIAL, {"pass", "pseudonymise", "encrypt", "generalise"}):
        found.append(QUEUE_TERMS["special"])  # special-category data actually left the sender
    if record.get("break_glass"):
        found.append(QUEUE_TERMS["break_glass"])
    if _released(fields, {"reporter"}, {"pass"}):
        found.append(QUEUE_TERMS["reporter"])  # the reporter's identity went to the recipient as is
    if context.get("conflict_van_plichten"):
        found.append(QUEUE_TERMS["conflict"])
    return found


def rows_for(*, position: int, kind: str, record: dict[str, Any], recorded_at: dt.datetime) -> IndexRows:
    sender = record.get("sender") or {}
    recipient = record.get("recipient") or {}
    outcome = (record.get("decision") or {}).get("outcome") or record.get("outcome")
    rows = IndexRows(index={
        "position": position, "recorded_at": recorded_at, "kind": kind, "exchange_id": record.get("exchange_id"),
        "organisation_id": record.get("caller") or sender.get("id"), "sender_id": sender.get("id"),
        "recipient_id": recipient.get("id"), "flow": record.get("flow"), "purpose": record.get("purpose"),
        "outcome": outcome, "legal_basis": (record.get("legal_basis") or {}).get("id"),
        "professional": (record.get("professional") or {}).get("pseudonym") or None})
    terms = {f"cat:{c}" for c in record.get("categories") or []}
    terms |= {f"person:{s['pseudonym']}" for s in record.get("subjects") or [] if s.get("pseudonym")}
    terms |= set(_queue_terms(record))
    rows.terms = sorted(t for t in terms if len(t) <= 120)
    if kind == "exchange" and outcome == "allow":
        for number, text in enumerate(record.get("obligations") or []):
            days = deadline_days(str(text))
            if days is not None:
                rows.obligations.append({
                    "position": position, "number": number, "recipient_id": recipient.get("id"),
                    "flow": record.get("flow"), "text": str(text), "due_at": recorded_at + dt.timedelta(days=days),
                    "fulfilled_at": None, "fulfilled_by": None})
    return rows


def _write(connection: Connection, rows: IndexRows) -> None:
    connection.execute(_INSERT_INDEX, [rows.index])
    if rows.terms:
        connection.execute(_INSERT_TERMS, [{"term": t, "position": rows.index["position"]} for t in rows.terms])
    if rows.obligations:
        connection.execute(_INSERT_OBLIGATIONS, rows.obligations)


def index_entry(session: Session, *, position: int, kind: str, record: dict[str, Any],
                recorded_at: dt.datetime) -> None:
    """Called by the log's append, in its transaction: an entry is never in the log without its index rows."""
    # On the session's connection (same transaction), without the ORM session's per-statement overhead.
    _write(session.connection(), rows_for(position=position, kind=kind, record=record, recorded_at=recorded_at))


def missing(engine: Engine) -> bool:
    """Whether some log entry has no index row: one statement (one snapshot) compares the two row counts.

    Index rows are only ever written for log entries, one per entry, so equal counts mean nothing is missing.
    """
    from gateway.exchange_log.models import LogEntry

    log = LogEntry.__table__  # type: ignore[attr-defined]
    statement = select(select(func.count()).select_from(log).scalar_subquery()
                       - select(func.count()).select_from(_INDEX).scalar_subquery())
    with engine.connect() as connection:
        return int(connection.execute(statement).scalar_one()) != 0


def backfill(connection: Connection, *, batch: int = 1000) -> int:
    """Index the entries that are not indexed yet; returns the count. Idempotent: run by migration 0007 (a
    database from before the review desk) and at every start, under the log's append lock (entries appended by
    a replica still on an older version during a rolling upgrade)."""
    from gateway.exchange_log.models import LogEntry

    log = LogEntry.__table__  # type: ignore[attr-defined]
    done = 0
    last = -1
    while True:
        statement = (select(log.c.position, log.c.kind, log.c.recorded_at, log.c.entry)
                     .where(log.c.position > last, ~log.c.position.in_(select(_INDEX.c.position)))
                     .order_by(log.c.position).limit(batch))
        chunk = connection.execute(statement).all()
        if not chunk:
            return done
        for position, kind, recorded_at, entry in chunk:
            try:
                record = orjson.loads(entry) if entry else {}
            except orjson.JSONDecodeError:
                record = {}  # purged or unreadable content: index what the row's columns say
            _write(connection, rows_for(position=position, kind=kind, record=record if isinstance(record, dict)
                                        else {}, recorded_at=recorded_at))
            last = position
            done += 1


def forget_identities(session: Session, positions: list[int]) -> None:
    """A retention purge also ends what the index knows about who was involved in the purged entries.

    The person pseudonyms (`person:` terms) and the professional pseudonym go; the codes that carry no identity
    (kind, organisations, flow, purpose, outcome, legal basis, categories, queues) stay, so statistics over time
    still add up. Called by the purge in its own transaction.
    """
    if not positions:
        return
    session.execute(_TERMS.delete().where(_TERMS.c.position.in_(positions), _TERMS.c.term.like("person:%")))
    session.execute(_INDEX.update().where(_INDEX.c.position.in_(positions)).values(professional=None))
