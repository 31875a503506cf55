"""Writing review items. The justification a professional gives for break-glass is free text, so it may name
people: it is stored sealed (AES-GCM) for the DPO, and the log keeps only its hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import orjson
from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.pseudonymise.sealing import Sealer
from gateway.review.models import ReviewItem

BREAK_GLASS_REVIEW_DAYS = 3
REPEAT_WINDOW_DAYS = 30
REPEAT_THRESHOLD = 2  # earlier uses within the window that make this one 'repeated'


def justification_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def earlier_break_glass(session: Session, *, organisation_id: str, professional_pseudonym: str,
                        now: dt.datetime) -> int:
    since = now - dt.timedelta(days=REPEAT_WINDOW_DAYS)
    statement = select(func.count()).select_from(ReviewItem).where(
        col(ReviewItem.kind) == "break_glass", col(ReviewItem.organisation_id) == organisation_id,
        col(ReviewItem.professional_pseudonym) == professional_pseudonym, col(ReviewItem.created_at) >= since)
    return int(session.exec(statement).one())


def queue_break_glass(session: Session, *, exchange_id: str, organisation_id: str, professional_pseudonym: str,
                      justification: str, flags: list[str], sealer: Sealer, now: dt.datetime) -> ReviewItem:
    item_id = str(uuid.uuid4())
    item = ReviewItem(id=item_id, exchange_id=exchange_id, kind="break_glass", organisation_id=organisation_id,
                      professional_pseudonym=professional_pseudonym, flags=orjson.dumps(flags).decode(),
                      sealed_note=sealer.seal(justification.encode(), context=item_id),
                      due_at=now + dt.timedelta(days=BREAK_GLASS_REVIEW_DAYS), created_at=now)
    session.add(item)
    return item
