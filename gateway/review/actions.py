"""The review desk's actions, each with its entry in the admin audit trail, in one transaction.

Audit details hold filter *names*, counts and positions — never a BSN, never an annotation's text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.core.database import run_db
from gateway.core.errors import GatewayError
from gateway.exchange import delivery as exchange_delivery
from gateway.exchange_log.models import LogEntry
from gateway.pseudonymise.sealing import Sealer
from gateway.review import desk, insights, views
from gateway.review.deps import EntryNotFound
from gateway.review.schemas import (
    AnnotationOut,
    BucketOut,
    EntryDetail,
    FlagOut,
    MarkOut,
    ObligationOut,
    SearchResult,
)
from gateway.review.search import ReviewFilter, queue_page, search
from gateway.web import audit


class AnnotationInvalid(GatewayError):
    """The annotation was refused (empty, too long, or it contains a BSN)."""

    code = "annotation-refused"
    title = "Annotation refused"
    status = 422


class NotRetryable(GatewayError):
    """Only a dead letter that still holds its sealed delivery can be retried."""

    code = "not-retryable"
    title = "Delivery cannot be retried"
    status = 409


class SealerMissing(GatewayError):
    code = "review-key-missing"
    title = "Review key unavailable"
    status = 503


@dataclass(frozen=True)
class Actor:
    username: str
    client: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _record(session: Session, actor: Actor, action: str, *, target: str | None = None,
            detail: dict[str, Any] | None = None, outcome: str = "ok") -> None:
    audit.record(session, actor=actor.username, action=action, outcome=outcome, target=target, detail=detail,
                 client=actor.client)


async def run_search(db: Engine, f: ReviewFilter, *, actor: Actor, tables: dict[str, Any], limit: int,
                     offset: int) -> SearchResult:
    def work(session: Session) -> SearchResult:
        page = search(session, f, limit=limit, offset=offset)
        _record(session, actor, "review_search", detail={"filters": f.used(), "person_search": f.is_person_search,
                                                         "results": page.total})
        return SearchResult(total=page.total, offset=offset, limit=limit,
                            entries=views.summaries(session, page.entries, tables))

    return await run_db(db, work, write=True)


async def run_queue(db: Engine, queue: str, *, state: str, actor: Actor, tables: dict[str, Any], limit: int,
                    offset: int) -> SearchResult:
    def work(session: Session) -> SearchResult:
        page = queue_page(session, queue, state=state, limit=limit, offset=offset)
        _record(session, actor, "review_search", detail={"queue": queue, "state": state, "results": page.total})
        return SearchResult(total=page.total, offset=offset, limit=limit,
                            entries=views.summaries(session, page.entries, tables))

    return await run_db(db, work, write=True)


async def view_entry(db: Engine, position: int, *, actor: Actor, tables: dict[str, Any],
                     sealer: Sealer | None) -> EntryDetail:
    def work(session: Session) -> EntryDetail | None:
        entry = session.get(LogEntry, position)
        if entry is None:
            return None
        _record(session, actor, "review_viewed", target=f"log:{position}")
        return views.detail(session, entry, tables, sealer)

    found = await run_db(db, work, write=True)
    if found is None:
        raise EntryNotFound(detail="Er is geen logregel op deze positie.")
    return found


async def annotate(db: Engine, position: int, text: str, *, actor: Actor, sealer: Sealer | None) -> AnnotationOut:
    if sealer is None:
        raise SealerMissing(detail="De sleutel voor aantekeningen is niet geladen.")
    try:
        checked = desk.check_annotation(text)
    except desk.AnnotationRefused as exc:
        raise AnnotationInvalid(detail=str(exc)) from exc

    def work(session: Session) -> AnnotationOut | None:
        try:
            row = desk.annotate(session, position=position, author=actor.username, text=checked, sealer=sealer,
                                now=_now())
        except desk.NoSuchEntry:
            return None
        _record(session, actor, "annotation", target=f"log:{position}", detail={"length": len(checked)})
        return AnnotationOut(id=row.id, author=row.author, created_at=row.created_at, text=checked)

    found = await run_db(db, work, write=True)
    if found is None:
        raise EntryNotFound(detail="Er is geen logregel op deze positie.")
    return found


async def mark_reviewed(db: Engine, position: int, *, actor: Actor) -> MarkOut:
    def work(session: Session) -> MarkOut | None:
        try:
            mark = desk.mark_reviewed(session, position=position, reviewer=actor.username, now=_now())
        except desk.NoSuchEntry:
            return None
        _record(session, actor, "reviewed", target=f"log:{position}")
        reviewed_at = mark.reviewed_at if mark.reviewed_at.tzinfo else mark.reviewed_at.replace(tzinfo=dt.UTC)
        return MarkOut(position=position, reviewed_by=mark.reviewed_by, reviewed_at=reviewed_at)

    found = await run_db(db, work, write=True)
    if found is None:
        raise EntryNotFound(detail="Er is geen logregel op deze positie.")
    return found


async def statistics(db: Engine, *, since: dt.datetime, until: dt.datetime, bucket: str, timezone: str,
                     actor: Actor) -> list[BucketOut]:
    def work(session: Session) -> list[BucketOut]:
        rows = insights.exchange_rows(session, since, until)
        _record(session, actor, "review_search", detail={"view": "statistics", "bucket": bucket})
        return [BucketOut(**vars(b)) for b in insights.statistics(rows, bucket=bucket, timezone=timezone)]

    return await run_db(db, work, write=True)


async def flags(db: Engine, *, since: dt.datetime, until: dt.datetime, thresholds: insights.Thresholds,
                actor: Actor) -> list[FlagOut]:
    def work(session: Session) -> list[FlagOut]:
        found = insights.flags(session, since=since, until=until, t=thresholds)
        _record(session, actor, "review_search", detail={"view": "flags", "results": len(found)})
        return [FlagOut(**vars(f)) for f in found]

    return await run_db(db, work, write=True)


async def obligations(db: Engine, *, state: str, warning_days: int, actor: Actor) -> list[ObligationOut]:
    now = _now()

    def work(session: Session) -> list[ObligationOut]:
        rows = insights.obligations(session, now=now, state=state, warning_days=warning_days)
        _record(session, actor, "review_search", detail={"view": "obligations", "state": state})
        return [views.obligation_out(r, now) for r in rows]

    return await run_db(db, work, write=True)


async def fulfil(db: Engine, position: int, number: int, *, actor: Actor) -> bool:
    def work(session: Session) -> bool:
        done = desk.fulfil_obligation(session, position=position, number=number, by=actor.username, now=_now())
        if done:
            _record(session, actor, "reviewed", target=f"obligation:{position}:{number}")
        return done

    return await run_db(db, work, write=True)


async def retry_delivery(db: Engine, exchange_id: str, *, actor: Actor) -> None:
    retried = await exchange_delivery.retry_dead_letter(db, exchange_id)
    await run_db(db, lambda s: _record(s, actor, "delivery_retry", target=f"exchange:{exchange_id}",
                                       outcome="ok" if retried else "refused"), write=True)
    if not retried:
        raise NotRetryable(detail="Deze aflevering staat niet (meer) als onbestelbaar klaar voor een nieuwe poging.")
