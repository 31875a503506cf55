"""The review API for DPOs (JSON, problem+json errors), authenticated by the web session.

Reads need the DPO role; every POST also needs the session's CSRF token in `X-CSRF-Token`. A person is searched
for with POST (the BSN travels in the body, never in a URL). Nothing here can change a log record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from gateway.core.database import run_db
from gateway.core.errors import ValidationFailed
from gateway.review import actions
from gateway.review.deps import (
    EntryNotFound,
    check_queue,
    db_of,
    moment,
    review_filter,
    sealer_of,
    settings_of,
    tables_of,
    thresholds,
)
from gateway.review.schemas import (
    AnnotationIn,
    AnnotationOut,
    BucketOut,
    DeliveryOut,
    EntryDetail,
    FlagOut,
    MarkOut,
    ObligationOut,
    PersonSearch,
    QueueCounts,
    SearchResult,
)
from gateway.review.search import InvalidBsn, person_pseudonyms, queue_counts
from gateway.review.views import deliveries
from gateway.web.deps import WebPrincipal, client_address, require_role, require_role_csrf

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "A filter value could not be read", **PROBLEM},
    401: {"description": "No live web session: log in at /ui/login", **PROBLEM},
    403: {"description": "The user lacks the role, or the CSRF token or Origin check failed", **PROBLEM},
    404: {"description": "No such log entry, queue or obligation", **PROBLEM},
    422: {"description": "Invalid parameters or body", **PROBLEM},
}

router = APIRouter(prefix="/ui/api/review", tags=["review"], responses=ERRORS)
Dpo = Annotated[WebPrincipal, Depends(require_role("dpo"))]
DpoPost = Annotated[WebPrincipal, Depends(require_role_csrf("dpo"))]
Reader = Annotated[WebPrincipal, Depends(require_role("dpo", "operator"))]
OperatorPost = Annotated[WebPrincipal, Depends(require_role_csrf("operator"))]
Text = Annotated[str | None, Query(max_length=200)]
# Positions and numbers are stored in INTEGER columns (32-bit on PostgreSQL, 64-bit on SQLite): a query with a larger
# one failed with a 500 (DataError, OverflowError). They are refused as invalid parameters (422) instead.
MAX_INDEX = 2**31 - 1
Position = Annotated[int, Path(ge=0, le=MAX_INDEX)]
Number = Annotated[int, Path(ge=0, le=MAX_INDEX)]


def actor(request: Request, principal: WebPrincipal) -> actions.Actor:
    return actions.Actor(principal.username, client_address(request))


@router.get("/entries", response_model=SearchResult, summary="Search the exchange log")
async def search_entries(request: Request, principal: Dpo, *, since: Text = None, until: Text = None,
                         organisation: Text = None, flow: Text = None, purpose: Text = None,
                         legal_basis: Text = None, decision: Text = None, category: Text = None,
                         professional: Text = None, kind: Text = None,
                         limit: Annotated[int, Query(ge=1, le=500)] = 50,
                         offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> SearchResult:
    """Filters combine (AND). `since`/`until` are dates (whole days in the review time zone) or ISO times;
    `organisation` matches sender or recipient; `decision` is the logged outcome (allow, deny, escalate, …)."""
    f = review_filter(settings_of(request), since=since, until=until, organisation=organisation, flow=flow,
                      purpose=purpose, legal_basis=legal_basis, decision=decision, category=category,
                      professional=professional, kind=kind)
    return await actions.run_search(db_of(request), f, actor=actor(request, principal), tables=tables_of(request),
                                    limit=limit, offset=offset)


@router.post("/person-search", response_model=SearchResult, summary="Find a person's exchanges by BSN")
async def person_search(request: Request, principal: DpoPost, body: PersonSearch) -> SearchResult:
    """The BSN is turned into the log's pseudonyms for it and then forgotten: not stored, not logged, not audited."""
    exchange = request.app.state.exchange
    try:
        persons = person_pseudonyms(exchange.pseudonymiser, exchange.registry, body.bsn)
    except InvalidBsn as exc:
        raise ValidationFailed(detail="Dit is geen geldig BSN (negen cijfers, elfproef).") from exc
    f = dataclasses.replace(review_filter(settings_of(request), persons=persons), since=body.since, until=body.until)
    return await actions.run_search(db_of(request), f, actor=actor(request, principal), tables=tables_of(request),
                                    limit=body.limit, offset=body.offset)


@router.get("/entries/{position}", response_model=EntryDetail, summary="One log entry in full")
async def entry_detail(request: Request, principal: Dpo, position: Position) -> EntryDetail:
    return await actions.view_entry(db_of(request), position, actor=actor(request, principal),
                                    tables=tables_of(request), sealer=sealer_of(request))


@router.post("/entries/{position}/annotations", response_model=AnnotationOut, status_code=201,
             summary="Annotate a log entry (kept beside the log, never in it)")
async def add_annotation(request: Request, principal: DpoPost, position: Position,
                         body: AnnotationIn) -> AnnotationOut:
    return await actions.annotate(db_of(request), position, body.text, actor=actor(request, principal),
                                  sealer=sealer_of(request))


@router.post("/entries/{position}/reviewed", response_model=MarkOut, summary="Mark a log entry as reviewed")
async def mark_reviewed(request: Request, principal: DpoPost, position: Position) -> MarkOut:
    return await actions.mark_reviewed(db_of(request), position, actor=actor(request, principal))


@router.get("/queues", response_model=QueueCounts, summary="Open items per review queue")
async def queues(request: Request, principal: Dpo) -> QueueCounts:
    del principal
    return QueueCounts(open=await run_db(db_of(request), queue_counts))


@router.get("/queues/{queue}", response_model=SearchResult, summary="One review queue, oldest first")
async def queue(request: Request, principal: Dpo, *,
                queue: Literal["refused", "escalated", "special", "break_glass", "reporter", "conflict"],
                state: Literal["open", "reviewed", "all"] = "open", limit: Annotated[int, Query(ge=1, le=500)] = 50,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> SearchResult:
    return await actions.run_queue(db_of(request), check_queue(queue), state=state,
                                   actor=actor(request, principal), tables=tables_of(request), limit=limit,
                                   offset=offset)


def period(request: Request, since: str | None, until: str | None, default_days: int) -> tuple[dt.datetime,
                                                                                                 dt.datetime]:
    zone = settings_of(request).review_timezone
    end = moment(until, timezone=zone, end=True) or dt.datetime.now(dt.UTC)
    start = moment(since, timezone=zone) or end - dt.timedelta(days=default_days)
    return start, end


@router.get("/statistics", response_model=list[BucketOut], summary="Exchanges per day or week")
async def statistics(request: Request, principal: Dpo, since: Text = None, until: Text = None,
                     bucket: Literal["day", "week"] = "day") -> list[BucketOut]:
    start, end = period(request, since, until, 28)
    return await actions.statistics(db_of(request), since=start, until=end, bucket=bucket,
                                    timezone=settings_of(request).review_timezone, actor=actor(request, principal))


@router.get("/flags", response_model=list[FlagOut], summary="Unusual patterns (thresholds in the settings)")
async def flags(request: Request, principal: Dpo, since: Text = None, until: Text = None) -> list[FlagOut]:
    start, end = period(request, since, until, 7)
    return await actions.flags(db_of(request), since=start, until=end, thresholds=thresholds(settings_of(request)),
                               actor=actor(request, principal))


@router.get("/obligations", response_model=list[ObligationOut], summary="Obligations with a deadline")
async def obligations(request: Request, principal: Dpo,
                      state: Literal["due", "open", "all"] = "due") -> list[ObligationOut]:
    return await actions.obligations(db_of(request), state=state,
                                     warning_days=settings_of(request).review_obligation_warning_days,
                                     actor=actor(request, principal))


@router.post("/obligations/{position}/{number}/fulfilled", status_code=204, summary="Mark an obligation as met")
async def obligation_fulfilled(request: Request, principal: DpoPost, position: Position, number: Number) -> None:
    if not await actions.fulfil(db_of(request), position, number, actor=actor(request, principal)):
        raise EntryNotFound(detail="Deze verplichting bestaat niet.")


@router.get("/deliveries", response_model=list[DeliveryOut], summary="Dead letters and deliveries under way")
async def list_deliveries(request: Request, principal: Reader,
                          status: Literal["dead", "pending", "in_flight", "inbox"] | None = None) -> list[DeliveryOut]:
    del principal
    return await run_db(db_of(request), lambda s: deliveries(s, status=status))


@router.post("/deliveries/{exchange_id}/retry", status_code=204,
             summary="Retry a dead letter (operators)",
             responses={409: {"description": "Not a dead letter", **PROBLEM}})
async def retry_delivery(request: Request, principal: OperatorPost, exchange_id: str) -> None:
    await actions.retry_delivery(db_of(request), exchange_id[:36], actor=actor(request, principal))
