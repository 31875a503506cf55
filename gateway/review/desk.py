"""What a DPO writes: annotations, the reviewed state, fulfilled obligations — never the log itself.

Annotations are free text, so they are sealed (AES-GCM, the review key) like a break-glass justification, and a
text that contains a BSN is refused: a DPO refers to people by the record, not by their number.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import update
from sqlmodel import Session, col, select

from gateway.exchange_log.models import LogEntry
from gateway.pseudonymise.sealing import Sealer
from gateway.review.models import ReviewAnnotation, ReviewIndex, ReviewItem, ReviewMark, ReviewObligation, ReviewTerm
from gateway.review.search import is_valid_bsn

MAX_ANNOTATION = 2000
_NINE_DIGITS = re.compile(r"(?<!\d)(\d[\s.]?){8}\d(?!\d)")


class AnnotationRefused(ValueError):
    """The annotation is empty, too long, or contains a BSN (the message never contains the text)."""


class NoSuchEntry(LookupError):
    """No log entry at this position."""


@dataclass(frozen=True)
class Annotation:
    id: str
    author: str
    created_at: dt.datetime
    text: str


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def contains_bsn(text: str) -> bool:
    return any(is_valid_bsn(re.sub(r"[\s.]", "", m.group(0))) for m in _NINE_DIGITS.finditer(text))


def check_annotation(text: str) -> str:
    text = text.strip()
    if not text:
        raise AnnotationRefused("Een aantekening mag niet leeg zijn.")
    if len(text) > MAX_ANNOTATION:
        raise AnnotationRefused(f"Een aantekening is hoogstens {MAX_ANNOTATION} tekens.")
    if contains_bsn(text):
        raise AnnotationRefused("Noteer geen BSN in een aantekening; verwijs naar de logregel.")
    return text


def _require_entry(session: Session, position: int) -> None:
    if session.get(ReviewIndex, position) is None:
        raise NoSuchEntry


def annotate(session: Session, *, position: int, author: str, text: str, sealer: Sealer,
             now: dt.datetime) -> ReviewAnnotation:
    text = check_annotation(text)
    _require_entry(session, position)
    annotation_id = str(uuid.uuid4())
    row = ReviewAnnotation(id=annotation_id, position=position, author=author[:64], created_at=now,
                           sealed_text=sealer.seal(text.encode(), context=f"annotation:{annotation_id}"))
    session.add(row)
    return row


def list_annotations(session: Session, position: int, sealer: Sealer) -> list[Annotation]:
    statement = (select(ReviewAnnotation).where(col(ReviewAnnotation.position) == position)
                 .order_by(col(ReviewAnnotation.created_at)))
    return [Annotation(id=r.id, author=r.author, created_at=_utc(r.created_at),
                       text=sealer.open(r.sealed_text, context=f"annotation:{r.id}").decode())
            for r in session.exec(statement)]


def annotation_counts(session: Session, positions: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    if positions:
        for position in session.exec(select(ReviewAnnotation.position).where(
                col(ReviewAnnotation.position).in_(positions))):
            counts[position] = counts.get(position, 0) + 1
    return counts


def mark_reviewed(session: Session, *, position: int, reviewer: str, now: dt.datetime) -> ReviewMark:
    """Idempotent: the first reviewer and time stay; a break-glass item of the exchange is marked too."""
    _require_entry(session, position)
    existing = session.get(ReviewMark, position)
    if existing is not None:
        return existing
    mark = ReviewMark(position=position, reviewed_by=reviewer[:64], reviewed_at=now)
    session.add(mark)
    index = session.get(ReviewIndex, position)
    if index is not None and index.exchange_id:
        session.execute(update(ReviewItem).where(col(ReviewItem.exchange_id) == index.exchange_id,
                                                 col(ReviewItem.reviewed_at).is_(None))
                        .values(reviewed_at=now, reviewer=reviewer[:100]))
    return mark


def marks(session: Session, positions: list[int]) -> dict[int, ReviewMark]:
    if not positions:
        return {}
    return {m.position: m for m in session.exec(select(ReviewMark).where(col(ReviewMark.position).in_(positions)))}


def break_glass_item(session: Session, exchange_id: str | None) -> ReviewItem | None:
    if not exchange_id:
        return None
    return session.exec(select(ReviewItem).where(col(ReviewItem.exchange_id) == exchange_id,
                                                 col(ReviewItem.kind) == "break_glass")).first()


def justification(item: ReviewItem, sealer: Sealer) -> str | None:
    if not item.sealed_note:
        return None
    return sealer.open(item.sealed_note, context=item.id).decode()


def fulfil_obligation(session: Session, *, position: int, number: int, by: str, now: dt.datetime) -> bool:
    row = session.get(ReviewObligation, (position, number))
    if row is None:
        return False
    if row.fulfilled_at is None:
        row.fulfilled_at, row.fulfilled_by = now, by[:64]
        session.add(row)
    return True


def record_of(entry: LogEntry) -> dict[str, Any] | None:
    """The entry's record, or None when its content was purged (retention) or cannot be read."""
    try:
        record = orjson.loads(entry.entry) if entry.entry else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or not record.get("record_id") or isinstance(record.get("purged"), dict):
        return None  # a retention purge leaves a stub naming the purge ({"purged": {"by": …, "at": …}})
    return record


def terms_of(session: Session, position: int) -> list[str]:
    return list(session.exec(select(ReviewTerm.term).where(col(ReviewTerm.position) == position)))
