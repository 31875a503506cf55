"""Statistics over time, flags for unusual patterns and obligations that are due — all from the side index.

Days are calendar days in the review time zone (Europe/Amsterdam by default), weeks ISO weeks. The flags and
their thresholds (settings `review_*`, documented in docs/dpo-guide.md):
- volume spike: an organisation (or a professional) made at least `spike_min_*` exchanges on a day, and at least
  `spike_factor` times its daily average over the `spike_baseline_days` before that day;
- out-of-hours bulk: a professional made at least `out_of_hours_bulk` exchanges on one day outside office hours
  (before `office_start`, from `office_end`, or in the weekend);
- repeated refusals: a professional got at least `repeated_refusals` refusals on one day.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from gateway.review.models import ReviewIndex, ReviewObligation

REFUSED = ("deny", "rejected")


@dataclass(frozen=True)
class Thresholds:
    spike_factor: float = 3.0
    spike_baseline_days: int = 28
    spike_min_organisation: int = 50
    spike_min_professional: int = 15
    office_start: int = 7
    office_end: int = 19
    out_of_hours_bulk: int = 10
    repeated_refusals: int = 5
    timezone: str = "Europe/Amsterdam"


@dataclass(frozen=True)
class Row:
    recorded_at: dt.datetime
    organisation_id: str | None
    professional: str | None
    flow: str | None
    outcome: str | None


@dataclass(frozen=True)
class Flag:
    code: str            # volume_spike_organisation, volume_spike_professional, out_of_hours_bulk, repeated_refusals
    day: dt.date
    subject: str         # organisation id or professional pseudonym
    organisation_id: str | None
    count: int
    threshold: float
    baseline: float | None = None


@dataclass(frozen=True)
class Bucket:
    start: dt.date
    exchanges: int
    allowed: int
    refused: int
    escalated: int
    by_organisation: dict[str, int]
    by_flow: dict[str, int]


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def exchange_rows(session: Session, since: dt.datetime, until: dt.datetime) -> list[Row]:
    index = ReviewIndex
    since, until = _utc(since).astimezone(dt.UTC), _utc(until).astimezone(dt.UTC)
    statement = (select(col(index.recorded_at), col(index.organisation_id), col(index.professional), col(index.flow),
                        col(index.outcome))
                 .where(col(index.kind) == "exchange", col(index.recorded_at) >= since,
                        col(index.recorded_at) < until).order_by(col(index.position)))
    return [Row(_utc(r[0]), r[1], r[2], r[3], r[4]) for r in session.execute(statement)]


def local_day(value: dt.datetime, zone: ZoneInfo) -> dt.date:
    return _utc(value).astimezone(zone).date()


def bucket_start(day: dt.date, bucket: str) -> dt.date:
    return day - dt.timedelta(days=day.weekday()) if bucket == "week" else day


def statistics(rows: Iterable[Row], *, bucket: str, timezone: str) -> list[Bucket]:
    zone = ZoneInfo(timezone)
    grouped: dict[dt.date, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[bucket_start(local_day(row.recorded_at, zone), bucket)].append(row)
    out = []
    for start in sorted(grouped):
        members = grouped[start]
        outcomes = Counter(r.outcome for r in members)
        out.append(Bucket(start=start, exchanges=len(members), allowed=outcomes["allow"],
                          refused=sum(outcomes[o] for o in REFUSED), escalated=outcomes["escalate"],
                          by_organisation=dict(sorted(Counter(r.organisation_id or "-" for r in members).items())),
                          by_flow=dict(sorted(Counter(r.flow or "geen" for r in members).items()))))
    return out


def _out_of_hours(value: dt.datetime, zone: ZoneInfo, t: Thresholds) -> bool:
    local = _utc(value).astimezone(zone)
    return local.weekday() >= 5 or not t.office_start <= local.hour < t.office_end


def _spikes(per_day: dict[tuple[str, dt.date], int], days: list[dt.date], t: Thresholds, *, code: str,
            minimum: int, organisation_of: dict[str, str | None]) -> list[Flag]:
    flags = []
    subjects = {subject for subject, _ in per_day}
    for subject in sorted(subjects):
        for day in days:
            count = per_day.get((subject, day), 0)
            if count < minimum:
                continue
            baseline = sum(per_day.get((subject, day - dt.timedelta(days=k)), 0)
                           for k in range(1, t.spike_baseline_days + 1)) / t.spike_baseline_days
            if count >= t.spike_factor * baseline:
                flags.append(Flag(code, day, subject, organisation_of.get(subject), count,
                                  max(minimum, t.spike_factor * baseline), round(baseline, 2)))
    return flags


def flags(session: Session, *, since: dt.datetime, until: dt.datetime, t: Thresholds) -> list[Flag]:
    """The flags raised on the days from `since` up to `until` (the baseline is read from before `since`)."""
    zone = ZoneInfo(t.timezone)
    rows = exchange_rows(session, since - dt.timedelta(days=t.spike_baseline_days + 1), until)
    first, last = local_day(since, zone), local_day(until - dt.timedelta(microseconds=1), zone)
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    per_org: Counter[tuple[str, dt.date]] = Counter()
    per_prof: Counter[tuple[str, dt.date]] = Counter()
    night: Counter[tuple[str, dt.date]] = Counter()
    refused: Counter[tuple[str, dt.date]] = Counter()
    organisation_of: dict[str, str | None] = {}
    for row in rows:
        day = local_day(row.recorded_at, zone)
        if row.organisation_id:
            per_org[(row.organisation_id, day)] += 1
            organisation_of[row.organisation_id] = row.organisation_id
        if row.professional:
            organisation_of[row.professional] = row.organisation_id
            per_prof[(row.professional, day)] += 1
            if _out_of_hours(row.recorded_at, zone, t):
                night[(row.professional, day)] += 1
            if row.outcome in REFUSED:
                refused[(row.professional, day)] += 1
    found = _spikes(per_org, days, t, code="volume_spike_organisation", minimum=t.spike_min_organisation,
                    organisation_of=organisation_of)
    found += _spikes(per_prof, days, t, code="volume_spike_professional", minimum=t.spike_min_professional,
                     organisation_of=organisation_of)
    in_period = set(days)
    found += [Flag("out_of_hours_bulk", day, prof, organisation_of.get(prof), n, t.out_of_hours_bulk)
              for (prof, day), n in sorted(night.items()) if day in in_period and n >= t.out_of_hours_bulk]
    found += [Flag("repeated_refusals", day, prof, organisation_of.get(prof), n, t.repeated_refusals)
              for (prof, day), n in sorted(refused.items()) if day in in_period and n >= t.repeated_refusals]
    return sorted(found, key=lambda f: (f.day, f.code, f.subject), reverse=True)


def obligations(session: Session, *, now: dt.datetime, state: str = "due", warning_days: int = 7,
                limit: int = 200) -> list[ReviewObligation]:
    """Obligations by deadline: `due` — open and due within `warning_days` (or overdue); `open`; `all`."""
    statement = select(ReviewObligation)
    if state in ("due", "open"):
        statement = statement.where(col(ReviewObligation.fulfilled_at).is_(None))
    if state == "due":
        statement = statement.where(col(ReviewObligation.due_at) <= now + dt.timedelta(days=warning_days))
    statement = statement.order_by(col(ReviewObligation.due_at), col(ReviewObligation.position)).limit(limit)
    return list(session.execute(statement).scalars())
