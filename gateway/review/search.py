"""Search the exchange log for the DPO: filters over the review desk's side index (gateway/review/index.py).

Every filter is an exact match on an indexed column of `review_index` or on a `review_term` row, so a search over
a log of many thousands of exchanges stays an index lookup, and it keeps finding entries whose content a
retention purge has blanked. A person is searched for by pseudonym: the DPO types a BSN, `person_pseudonyms`
computes the log-domain pseudonyms the records hold for it (under every key in the ring), and the BSN itself is
neither stored nor logged.

    f = ReviewFilter(flow="F2", decision="deny", since=start)
    page = search(session, f, limit=50)          # newest first: page.entries, page.total
    for entry in matching_entries(session, f):   # every match, in log order (exports, inzage)
        ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, true
from sqlmodel import Session, col

from gateway.exchange_log.models import LogEntry
from gateway.pseudonymise.pseudonyms import LOG_DOMAIN, Pseudonymiser
from gateway.registry.organisations import OrganisationRegistry
from gateway.review.index import QUEUE_TERMS
from gateway.review.models import ReviewIndex, ReviewMark, ReviewTerm

QUEUES = ("refused", "escalated", "special", "break_glass", "reporter", "conflict")
_BATCH = 500
# The range a filter's moment must lie in. Outside it date arithmetic (the next day, a default period before an
# end, a flags baseline) would overflow Python's datetime: such input is refused as invalid, never a 500.
EARLIEST = dt.datetime(1899, 12, 31, tzinfo=dt.UTC)  # 1900-01-01 in any time zone
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def bounded(value: dt.datetime) -> dt.datetime:
    """`value` in UTC (without a zone: taken as UTC), or ValueError if it lies outside [EARLIEST, LATEST]."""
    try:
        utc = value.astimezone(dt.UTC) if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    except OverflowError as exc:
        raise ValueError("date out of range") from exc
    if not EARLIEST <= utc <= LATEST:
        raise ValueError("date out of range")
    return utc


class InvalidBsn(ValueError):
    """The value is not a BSN (nine digits passing the 11-check). The message never contains the value."""

    def __init__(self) -> None:
        super().__init__("not a valid BSN")


@dataclass(frozen=True)
class ReviewFilter:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    organisation_id: str | None = None   # sender or recipient
    flow: str | None = None
    purpose: str | None = None
    legal_basis: str | None = None
    decision: str | None = None          # the outcome as logged (allow, deny, escalate, delivered, …)
    category: str | None = None          # data category
    professional: str | None = None      # professional pseudonym
    person_pseudonyms: frozenset[str] = frozenset()
    kind: str | None = None              # log entry kind (exchange, delivery, rejected_request, …)

    @property
    def is_person_search(self) -> bool:
        return bool(self.person_pseudonyms)

    def used(self) -> list[str]:
        """The names of the filters in use (for the audit trail: names only, never the values of a person)."""
        names = [n for n in ("since", "until", "organisation_id", "flow", "purpose", "legal_basis", "decision",
                             "category", "professional", "kind") if getattr(self, n) is not None]
        return names + (["person"] if self.person_pseudonyms else [])


@dataclass(frozen=True)
class SearchPage:
    entries: list[LogEntry]
    total: int


def is_valid_bsn(bsn: str) -> bool:
    if len(bsn) != 9 or not bsn.isascii() or not bsn.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(bsn[:8], range(9, 1, -1), strict=True)) - int(bsn[8])
    return total % 11 == 0


def person_pseudonyms(pseudonymiser: Pseudonymiser, registry: OrganisationRegistry | None,
                      bsn: str) -> frozenset[str]:
    """The pseudonyms under which log records name this person, under every key in the ring.

    Records name their subjects in the log's own pseudonym domain (gateway.exchange.records.subject_pseudonyms),
    the same for every recipient and purpose; per-recipient pseudonyms only travel in relayed data, never in the
    log. `registry` is accepted so callers need not change should a record ever carry recipient pseudonyms.
    """
    del registry
    bsn = bsn.strip().replace(" ", "").replace(".", "")
    if not is_valid_bsn(bsn):
        raise InvalidBsn
    return frozenset(pseudonymiser.pseudonyms_all_keys(f"bsn:{bsn}", LOG_DOMAIN))


def _utc(value: dt.datetime) -> dt.datetime:
    """In UTC: SQLite keeps the wall-clock time without an offset, and the log writes UTC."""
    return value.astimezone(dt.UTC) if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _has_term(*terms: str) -> ColumnElement[bool]:
    # An uncorrelated IN: the planner starts from the term's primary-key range instead of probing every entry.
    return col(ReviewIndex.position).in_(select(col(ReviewTerm.position)).where(col(ReviewTerm.term).in_(terms)))


def conditions(f: ReviewFilter) -> list[ColumnElement[bool]]:
    """The WHERE conditions on `review_index` for a filter."""
    index = ReviewIndex
    out: list[ColumnElement[bool]] = []
    if f.since is not None:
        out.append(col(index.recorded_at) >= _utc(f.since))
    if f.until is not None:
        out.append(col(index.recorded_at) < _utc(f.until))
    if f.organisation_id:
        out.append(or_(col(index.sender_id) == f.organisation_id, col(index.recipient_id) == f.organisation_id))
    for column, value in ((index.flow, f.flow), (index.purpose, f.purpose), (index.legal_basis, f.legal_basis),
                          (index.outcome, f.decision), (index.professional, f.professional), (index.kind, f.kind)):
        if value:
            out.append(col(column) == value)
    if f.category:
        out.append(_has_term(f"cat:{f.category}"))
    if f.person_pseudonyms:
        out.append(_has_term(*sorted(f"person:{p}" for p in f.person_pseudonyms)))
    return out


def queue_conditions(queue: str) -> list[ColumnElement[bool]]:
    if queue == "refused":
        return [col(ReviewIndex.outcome).in_(("deny", "rejected"))]
    if queue == "escalated":
        return [col(ReviewIndex.outcome) == "escalate"]
    if queue in QUEUE_TERMS:
        return [_has_term(QUEUE_TERMS[queue])]
    raise ValueError("unknown queue")


def _positions(where: list[ColumnElement[bool]]) -> Select[Any]:
    return select(col(ReviewIndex.position)).where(and_(true(), *where))


def _entries(session: Session, positions: list[int]) -> list[LogEntry]:
    if not positions:
        return []
    rows = session.execute(select(LogEntry).where(col(LogEntry.position).in_(positions))).scalars()
    by_position = {row.position: row for row in rows}
    return [by_position[p] for p in positions if p in by_position]


def search_where(session: Session, where: list[ColumnElement[bool]], *, limit: int = 50, offset: int = 0,
                 newest_first: bool = True) -> SearchPage:
    order = col(ReviewIndex.position).desc() if newest_first else col(ReviewIndex.position)
    positions = [int(p) for p in session.execute(_positions(where).order_by(order).offset(offset).limit(limit))
                 .scalars()]
    total = int(session.execute(select(func.count()).select_from(ReviewIndex).where(and_(true(), *where)))
                .scalar_one())
    return SearchPage(entries=_entries(session, positions), total=total)


def search(session: Session, f: ReviewFilter, *, limit: int = 50, offset: int = 0) -> SearchPage:
    """One page of matching entries, newest first, with the number of all matches."""
    return search_where(session, conditions(f), limit=max(0, limit), offset=max(0, offset))


def matching_entries(session: Session, f: ReviewFilter) -> Iterator[LogEntry]:
    """Every matching entry in log (position) order, read in batches."""
    where = conditions(f)
    last = -1
    while True:
        batch = [int(p) for p in session.execute(
            _positions([*where, col(ReviewIndex.position) > last]).order_by(col(ReviewIndex.position))
            .limit(_BATCH)).scalars()]
        if not batch:
            return
        yield from _entries(session, batch)
        last = batch[-1]


def queue_page(session: Session, queue: str, *, state: str = "open", f: ReviewFilter | None = None,
               limit: int = 50, offset: int = 0) -> SearchPage:
    """A review queue, oldest first; `state` is open (not yet reviewed), reviewed or all."""
    where = [*queue_conditions(queue), *(conditions(f) if f else [])]
    reviewed = exists().where(col(ReviewMark.position) == col(ReviewIndex.position))
    if state == "open":
        where.append(~reviewed)
    elif state == "reviewed":
        where.append(reviewed)
    return search_where(session, where, limit=limit, offset=offset, newest_first=False)


def queue_counts(session: Session) -> dict[str, int]:
    """Open items per queue."""
    reviewed = exists().where(col(ReviewMark.position) == col(ReviewIndex.position))
    return {queue: int(session.execute(select(func.count()).select_from(ReviewIndex).where(
        *queue_conditions(queue), ~reviewed)).scalar_one()) for queue in QUEUES}
