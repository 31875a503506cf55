"""What the review API and pages share: the active policy tables, the review sealer, thresholds, parsing."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy import Engine

from gateway.core.errors import BadRequest, NotFound
from gateway.core.settings import Settings
from gateway.exchange.deps import ExchangeDeps
from gateway.policy_admin.reload import active_tables
from gateway.pseudonymise.sealing import Sealer
from gateway.review.insights import Thresholds
from gateway.review.search import QUEUES, ReviewFilter, bounded

QUEUE_TITLES = {"refused": "Geweigerde uitwisselingen", "escalated": "Geëscaleerd (menselijke beoordeling)",
                "special": "Bijzondere en strafrechtelijke gegevens", "break_glass": "Doorbraak (break-glass)",
                "reporter": "Identiteit van de melder verstrekt", "conflict": "Conflict van plichten"}
FLAG_TITLES = {"volume_spike_organisation": "Piek in volume (organisatie)",
               "volume_spike_professional": "Piek in volume (professional)",
               "out_of_hours_bulk": "Veel uitwisselingen buiten kantoortijd",
               "repeated_refusals": "Herhaalde weigeringen"}


class InvalidFilter(BadRequest):
    """A filter value could not be read (for instance a date)."""

    code = "invalid-filter"
    title = "Invalid filter"


class EntryNotFound(NotFound):
    """No log entry at this position."""

    code = "entry-not-found"
    title = "Log entry not found"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def db_of(request: Request) -> Engine:
    db: Engine = request.app.state.db
    return db


def exchange_of(request: Request) -> ExchangeDeps:
    deps: ExchangeDeps = request.app.state.exchange
    return deps


def sealer_of(request: Request) -> Sealer | None:
    return exchange_of(request).review_sealer


def tables_of(request: Request) -> dict[str, Any]:
    """The active policy version's tables (verified), as this replica follows them; never the bundle on disk."""
    return active_tables(request.app.state)


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(spike_factor=settings.review_spike_factor,
                      spike_baseline_days=settings.review_spike_baseline_days,
                      spike_min_organisation=settings.review_spike_min_organisation,
                      spike_min_professional=settings.review_spike_min_professional,
                      office_start=settings.review_office_hours_start, office_end=settings.review_office_hours_end,
                      out_of_hours_bulk=settings.review_out_of_hours_bulk,
                      repeated_refusals=settings.review_repeated_refusals, timezone=settings.review_timezone)


def moment(value: str | None, *, timezone: str, end: bool = False) -> dt.datetime | None:
    """A date (the start of that day in the review time zone; with `end`, the start of the next day) or an ISO
    date-time (without zone: UTC)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time(), ZoneInfo(timezone))
            return bounded(start)
        parsed = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError) as exc:  # OverflowError: the day after 9999-12-31
        raise InvalidFilter(detail="Een datum moet de vorm JJJJ-MM-DD hebben (of een ISO 8601-tijdstip) "
                                   "en tussen 1900 en 9000 liggen.") from exc
    try:
        return bounded(parsed)
    except ValueError as exc:
        raise InvalidFilter(detail="Een datum moet tussen 1900 en 9000 liggen.") from exc


def review_filter(settings: Settings, *, since: str | None = None, until: str | None = None,
                  organisation: str | None = None, flow: str | None = None, purpose: str | None = None,
                  legal_basis: str | None = None, decision: str | None = None, category: str | None = None,
                  professional: str | None = None, kind: str | None = None,
                  persons: frozenset[str] = frozenset()) -> ReviewFilter:
    def clean(value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None

    return ReviewFilter(
        since=moment(since, timezone=settings.review_timezone),
        until=moment(until, timezone=settings.review_timezone, end=True), organisation_id=clean(organisation),
        flow=clean(flow), purpose=clean(purpose), legal_basis=clean(legal_basis), decision=clean(decision),
        category=clean(category), professional=clean(professional), kind=clean(kind), person_pseudonyms=persons)


def check_queue(queue: str) -> str:
    if queue not in QUEUES:
        raise NotFound(detail="Deze wachtrij bestaat niet.")
    return queue
