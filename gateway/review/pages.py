"""The DPO's review pages under /ui/review (server-rendered, no scripts). Errors render as HTML pages.

The person search is a POST form: the BSN is in the request body only, and the answer is rendered directly
(no redirect that would put it in a URL). Every other form posts with the session's CSRF token and redirects.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.core.database import run_db
from gateway.core.errors import ValidationFailed
from gateway.review import actions
from gateway.review.api import Number, Position, actor, period
from gateway.review.deps import (
    FLAG_TITLES,
    QUEUE_TITLES,
    EntryNotFound,
    check_queue,
    db_of,
    review_filter,
    sealer_of,
    settings_of,
    tables_of,
    thresholds,
)
from gateway.review.search import QUEUES, InvalidBsn, person_pseudonyms, queue_counts
from gateway.review.views import DELIVERY_STATES, deliveries
from gateway.web.deps import WebPrincipal, require_role, require_role_csrf
from gateway.web.templating import add_template_dir, render

TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 50
DECISIONS = ("allow", "deny", "escalate", "rejected", "delivered", "failed")

router = APIRouter(prefix="/ui/review", include_in_schema=False)
Dpo = Annotated[WebPrincipal, Depends(require_role("dpo"))]
DpoPost = Annotated[WebPrincipal, Depends(require_role_csrf("dpo"))]
Reader = Annotated[WebPrincipal, Depends(require_role("dpo", "operator"))]
OperatorPost = Annotated[WebPrincipal, Depends(require_role_csrf("operator"))]
Text = Annotated[str | None, Query(max_length=200)]
FormText = Annotated[str, Form(max_length=200)]


def install() -> None:
    add_template_dir(TEMPLATES)


def _options(request: Request) -> dict[str, Any]:
    tables = tables_of(request)
    return {"flows": tables.get("flows") or {}, "purposes": tables.get("purposes") or {},
            "legal_bases": tables.get("legal_bases") or {},
            "categories": {k: v for k, v in (tables.get("categories") or {}).items() if k != "structure"},
            "organisations": sorted(request.app.state.exchange.registry.all(), key=lambda o: o.id),
            "decisions": DECISIONS, "queue_titles": QUEUE_TITLES}


def _render(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    return render(request, template, {"queue_titles": QUEUE_TITLES, **context})


def _page(value: int) -> int:
    return max(1, value)


@router.get("/", response_class=HTMLResponse)
async def search_page(request: Request, principal: Dpo, *, since: Text = None, until: Text = None,
                      organisation: Text = None, flow: Text = None, purpose: Text = None, legal_basis: Text = None,
                      decision: Text = None, category: Text = None, professional: Text = None, kind: Text = None,
                      page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    values = {"since": since, "until": until, "organisation": organisation, "flow": flow, "purpose": purpose,
              "legal_basis": legal_basis, "decision": decision, "category": category, "professional": professional,
              "kind": kind}
    f = review_filter(settings_of(request), since=since, until=until, organisation=organisation, flow=flow,
                      purpose=purpose, legal_basis=legal_basis, decision=decision, category=category,
                      professional=professional, kind=kind)
    result = await actions.run_search(db_of(request), f, actor=actor(request, principal), tables=tables_of(request),
                                      limit=PAGE_SIZE, offset=(_page(page) - 1) * PAGE_SIZE)
    counts = await run_db(db_of(request), queue_counts)
    query = urlencode({k: v for k, v in values.items() if v})
    return _render(request, "review/search.html", {
        **_options(request), "values": {k: v or "" for k, v in values.items()}, "result": result,
        "page": page, "pages": max(1, math.ceil(result.total / PAGE_SIZE)), "query": query, "counts": counts,
        "person_search": False})


@router.post("/person", response_class=HTMLResponse)
async def person_page(request: Request, principal: DpoPost, bsn: Annotated[str, Form(max_length=20)] = "",
                      since: FormText = "", until: FormText = "") -> Response:
    exchange = request.app.state.exchange
    try:
        persons = person_pseudonyms(exchange.pseudonymiser, exchange.registry, bsn)
    except InvalidBsn as exc:
        raise ValidationFailed(detail="Dit is geen geldig BSN (negen cijfers, elfproef).") from exc
    settings = settings_of(request)
    f = dataclasses.replace(review_filter(settings, since=since, until=until), person_pseudonyms=persons)
    result = await actions.run_search(db_of(request), f, actor=actor(request, principal), tables=tables_of(request),
                                      limit=500, offset=0)
    counts = await run_db(db_of(request), queue_counts)
    return _render(request, "review/search.html", {
        **_options(request), "values": {"since": since, "until": until}, "result": result, "page": 1, "pages": 1,
        "query": "", "counts": counts, "person_search": True})


@router.get("/entries/{position}", response_class=HTMLResponse)
async def entry_page(request: Request, principal: Dpo, position: Position,
                     saved: Annotated[int, Query(ge=0, le=9)] = 0) -> Response:
    detail = await actions.view_entry(db_of(request), position, actor=actor(request, principal),
                                      tables=tables_of(request), sealer=sealer_of(request))
    return _render(request, "review/entry.html", {"e": detail, "queue_titles": QUEUE_TITLES, "saved": saved,
                                                 "tables": tables_of(request)})


@router.post("/entries/{position}/annotations")
async def annotate_page(request: Request, principal: DpoPost, position: Position,
                        text: Annotated[str, Form(max_length=4000)] = "") -> Response:
    await actions.annotate(db_of(request), position, text, actor=actor(request, principal), sealer=sealer_of(request))
    return RedirectResponse(f"/ui/review/entries/{position}?saved=1#aantekeningen", status_code=303)


@router.post("/entries/{position}/reviewed")
async def reviewed_page(request: Request, principal: DpoPost, position: Position) -> Response:
    await actions.mark_reviewed(db_of(request), position, actor=actor(request, principal))
    return RedirectResponse(f"/ui/review/entries/{position}?saved=2", status_code=303)


@router.get("/queues/{queue}", response_class=HTMLResponse)
async def queue_page(request: Request, principal: Dpo, queue: str, state: Text = "open",
                     page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    state = state if state in ("open", "reviewed", "all") else "open"
    result = await actions.run_queue(db_of(request), check_queue(queue), state=state,
                                     actor=actor(request, principal), tables=tables_of(request), limit=PAGE_SIZE,
                                     offset=(_page(page) - 1) * PAGE_SIZE)
    counts = await run_db(db_of(request), queue_counts)
    return _render(request, "review/queue.html", {
        "queue": queue, "title": QUEUE_TITLES[queue], "state": state, "result": result, "page": page,
        "pages": max(1, math.ceil(result.total / PAGE_SIZE)), "counts": counts, "queues": QUEUES,
        "queue_titles": QUEUE_TITLES})


@router.get("/statistics", response_class=HTMLResponse)
async def statistics_page(request: Request, principal: Dpo, since: Text = None, until: Text = None,
                          bucket: Text = "day") -> Response:
    bucket = "week" if bucket == "week" else "day"
    start, end = period(request, since, until, 28 if bucket == "day" else 84)
    buckets = await actions.statistics(db_of(request), since=start, until=end, bucket=bucket,
                                       timezone=settings_of(request).review_timezone, actor=actor(request, principal))
    return _render(request, "review/statistics.html", {"buckets": buckets, "bucket": bucket, "since": since or "",
                                                      "until": until or "", "start": start, "end": end})


@router.get("/flags", response_class=HTMLResponse)
async def flags_page(request: Request, principal: Dpo, since: Text = None, until: Text = None) -> Response:
    start, end = period(request, since, until, 7)
    settings = settings_of(request)
    found = await actions.flags(db_of(request), since=start, until=end, thresholds=thresholds(settings),
                                actor=actor(request, principal))
    return _render(request, "review/flags.html", {"flags": found, "titles": FLAG_TITLES, "t": thresholds(settings),
                                                 "since": since or "", "until": until or "", "start": start,
                                                 "end": end})


@router.get("/obligations", response_class=HTMLResponse)
async def obligations_page(request: Request, principal: Dpo, state: Text = "due") -> Response:
    state = state if state in ("due", "open", "all") else "due"
    settings = settings_of(request)
    rows = await actions.obligations(db_of(request), state=state,
                                     warning_days=settings.review_obligation_warning_days,
                                     actor=actor(request, principal))
    return _render(request, "review/obligations.html", {"rows": rows, "state": state,
                                                       "warning_days": settings.review_obligation_warning_days})


@router.post("/obligations/{position}/{number}/fulfilled")
async def fulfilled_page(request: Request, principal: DpoPost, position: Position, number: Number) -> Response:
    if not await actions.fulfil(db_of(request), position, number, actor=actor(request, principal)):
        raise EntryNotFound(detail="Deze verplichting bestaat niet.")
    return RedirectResponse("/ui/review/obligations", status_code=303)


@router.get("/deliveries", response_class=HTMLResponse)
async def deliveries_page(request: Request, principal: Reader, status: Text = None,
                          done: Annotated[int, Query(ge=0, le=9)] = 0) -> Response:
    rows = await run_db(db_of(request), lambda s: deliveries(s, status=status))
    return _render(request, "review/deliveries.html", {
        "rows": rows, "status": status or "", "states": DELIVERY_STATES, "done": done,
        "can_retry": "operator" in principal.roles, "is_dpo": "dpo" in principal.roles})


@router.post("/deliveries/{exchange_id}/retry")
async def retry_page(request: Request, principal: OperatorPost, exchange_id: str) -> Response:
    await actions.retry_delivery(db_of(request), exchange_id[:36], actor=actor(request, principal))
    return RedirectResponse("/ui/review/deliveries?done=1", status_code=303)


__all__ = ["install", "router"]
