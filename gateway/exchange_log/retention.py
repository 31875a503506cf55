"""Retention: the content of log records past their purpose's retention period is purged; their leaves stay.

Each purpose in the policy tables names a retention period (`data/purposes.yaml`, ISO 8601 duration). The periods
are read from the active, approved policy version in the database, verified (hash and signature) in the purge's
own transaction — never from the bundle on disk; without a verified active version nothing is purged. When a
record's time lies further back than its period, its content — subject pseudonyms, the professional's pseudonym,
fields, policy input — is replaced by a stub (gateway/exchange_log/purged.py) that keeps only the entry's place in
the log. Delivery records of a purged exchange go with it. The row keeps its leaf hash, so the Merkle tree, older
checkpoints and inclusion proofs stay valid.

A purge takes the log's append lock before it plans, so replicas purging at the same moment purge (and log) each
position once. A purge is itself logged first: one `retention_purge` entry per purpose and batch names every
purged position with its leaf hash, in the same transaction as the stubs. The verifier accepts a stub only when
such an entry, intact and covered by the checkpoint, names it; right after purging a checkpoint is signed so that
it is. This is the one sanctioned change to written entries: everything else about the log stays append-only.

Runs on a schedule in the gateway (`GATEWAY_RETENTION_PURGE_INTERVAL_SECONDS`) and as `gateway log purge
[--dry-run]`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import orjson
from sqlalchemy import update
from sqlmodel import Session, col, select

from gateway.core.database import make_engine, run_db, write_session
from gateway.core.errors import GatewayError
from gateway.core.settings import Settings
from gateway.exchange_log import service as log_service
from gateway.exchange_log.checkpointer import LogDeps
from gateway.exchange_log.models import LogEntry
from gateway.exchange_log.purged import PURGE_KIND, stub_entry
from gateway.pseudonymise.signing import Signer, SigningKeyError, load_log_signer
from gateway.review import index as review_index

_log = logging.getLogger("gateway.exchange_log.retention")
PURGE_BATCH = 500  # positions per retention_purge entry: keeps each purge record small
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_TABLE = LogEntry.__table__  # type: ignore[attr-defined]
# Called in the purge's transaction when something was purged: the web layer records it in the admin audit
# trail (gateway/inzage/hooks.py); the log itself knows no audit trail.
Recorder = Callable[[Session, "PurgeResult"], None]


def periods(tables: Mapping[str, Any]) -> dict[str, str]:
    """Purpose → retention period, for the purposes that name one."""
    purposes = tables.get("purposes") or {}
    return {name: str(row["retention"]) for name, row in purposes.items()
            if isinstance(row, dict) and row.get("retention")}


def cutoff(now: dt.datetime, duration: str) -> dt.datetime:
    """`now` minus an ISO 8601 duration of years, months, weeks and days (calendar arithmetic; 29 Feb → 28)."""
    match = _DURATION.match(duration)
    if match is None or duration == "P":
        raise ValueError("not an ISO 8601 duration of years, months, weeks and days")
    years, months, weeks, days = (int(g or 0) for g in match.groups())
    total_months = now.year * 12 + (now.month - 1) - years * 12 - months
    year, month = divmod(total_months, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day) - dt.timedelta(weeks=weeks, days=days)


@dataclass(frozen=True)
class PurgePlan:
    purpose: str
    retention: str
    cutoff: dt.datetime
    positions: tuple[int, ...]


class NoVerifiedPolicy(Exception):
    """No active policy version that passes verification: retention refuses to purge anything."""


@dataclass
class PurgeResult:
    plans: list[PurgePlan] = field(default_factory=list)
    purge_positions: list[int] = field(default_factory=list)  # the retention_purge entries written
    checkpoint_size: int | None = None
    policy_version: int | None = None  # the active version whose periods were applied (purge_active)

    @property
    def purged(self) -> int:
        return sum(len(p.positions) for p in self.plans)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _expired_positions(session: Session, purpose: str, before: dt.datetime) -> list[int]:
    """The purpose's records older than the cutoff that still hold content, with their deliveries."""
    statement = (select(LogEntry.position, LogEntry.exchange_id)
                 .where(col(LogEntry.purpose) == purpose, col(LogEntry.recorded_at) < before,
                        col(LogEntry.purged_at).is_(None), col(LogEntry.kind) != PURGE_KIND))
    rows = session.exec(statement).all()
    positions = {int(p) for p, _ in rows}
    exchange_ids = sorted({str(e) for _, e in rows if e})
    for start in range(0, len(exchange_ids), PURGE_BATCH):
        chunk = exchange_ids[start:start + PURGE_BATCH]
        deliveries = select(LogEntry.position).where(col(LogEntry.kind) == "delivery",
                                                     col(LogEntry.exchange_id).in_(chunk),
                                                     col(LogEntry.purged_at).is_(None))
        positions.update(int(p) for p in session.exec(deliveries).all())
    return sorted(positions)


def plan(session: Session, *, retention: Mapping[str, str], now: dt.datetime) -> list[PurgePlan]:
    """What is due, per purpose, in batches of at most PURGE_BATCH positions."""
    plans: list[PurgePlan] = []
    for purpose, period in sorted(retention.items()):
        before = cutoff(now, period)
        positions = _expired_positions(session, purpose, before)
        plans.extend(PurgePlan(purpose=purpose, retention=period, cutoff=before,
                               positions=tuple(positions[i:i + PURGE_BATCH]))
                     for i in range(0, len(positions), PURGE_BATCH))
    return plans


def _batch_rows(session: Session, positions: Sequence[int]) -> Iterator[LogEntry]:
    yield from session.exec(select(LogEntry).where(col(LogEntry.position).in_(positions))
                            .order_by(col(LogEntry.position)))


def apply(session: Session, purge: PurgePlan, *, now: dt.datetime) -> int:
    """Log the purge, then replace the named entries' content by stubs (one transaction, the caller's)."""
    rows = [r for r in _batch_rows(session, purge.positions) if r.purged_at is None]
    record = {"purpose": purge.purpose, "retention": purge.retention,
              "retention_cutoff": _utc(purge.cutoff).isoformat(timespec="seconds"), "outcome": "purged",
              "purged": [{"position": r.position, "leaf_hash": r.leaf_hash} for r in rows],
              "purged_count": len(rows)}
    entry = log_service.append(session, kind=PURGE_KIND, record=record, now=now)
    stamp = now.isoformat(timespec="seconds")
    for row in rows:
        stub = stub_entry(orjson.loads(row.entry), purged_by=entry.position, purge_time=stamp).decode()
        session.execute(update(_TABLE).where(_TABLE.c.position == row.position, _TABLE.c.purged_at.is_(None))
                        .values(entry=stub, purged_at=now, trace_id=None))
    # The review desk's side index keeps no person or professional pseudonym of a purged entry either.
    review_index.forget_identities(session, [row.position for row in rows])
    return entry.position


def purge_due(session: Session, *, retention: Mapping[str, str], now: dt.datetime, signer: Signer | None,
              origin: str, dry_run: bool = False, record: Recorder | None = None) -> PurgeResult:
    """Purge everything due and sign a checkpoint over the purge records (so the verifier can accept them).

    The log's append lock is taken first, before anything is read: another replica's purge either committed
    before this plan is made (and its positions are no longer due) or waits until this one has committed.
    """
    log_service.lock(session)
    result = PurgeResult(plans=plan(session, retention=retention, now=now))
    if dry_run or not result.plans:
        return result
    result.purge_positions = [apply(session, p, now=now) for p in result.plans]
    if signer is not None:
        result.checkpoint_size = log_service.issue_checkpoint(session, signer=signer, origin=origin,
                                                              now=now).tree_size
    if record is not None:
        record(session, result)
    return result


def active_periods(session: Session, policy_public_key: bytes) -> tuple[int, dict[str, str]]:
    """The active policy version's number and retention periods, verified; raises NoVerifiedPolicy otherwise."""
    from gateway.policy_admin import service as policy_versions  # the policy domain knows the log, not vice versa

    try:
        version, tables = policy_versions.verified_active(session, policy_public_key)
    except GatewayError as exc:
        raise NoVerifiedPolicy(exc.detail or exc.title) from exc
    return version.number, periods(tables)


def purge_active(session: Session, *, policy_public_key: bytes, now: dt.datetime, signer: Signer | None,
                 origin: str, dry_run: bool = False, record: Recorder | None = None) -> PurgeResult:
    """`purge_due` with the periods of the active, verified policy version, read in this transaction."""
    log_service.lock(session)  # before the version is read, so a purge and the plan it makes see the same state
    number, retention = active_periods(session, policy_public_key)
    result = purge_due(session, retention=retention, now=now, signer=signer, origin=origin, dry_run=dry_run,
                       record=record)
    result.policy_version = number
    return result


async def purge_periodically(deps: LogDeps, policy_public_key: bytes, interval_seconds: float,
                             record: Recorder | None = None) -> None:
    """Purge what is due every interval until cancelled; a failed round is logged and retried, never fatal.

    Each round reads the retention periods of the policy version active at that moment (verified), so a newly
    approved version applies from the next round on; without a verified active version the round purges nothing.
    """
    while True:
        await anyio.sleep(interval_seconds)
        try:
            result = await run_db(deps.db, lambda s: purge_active(
                s, policy_public_key=policy_public_key, now=deps.clock(), signer=deps.signer, origin=deps.origin,
                record=record), write=True)
        except NoVerifiedPolicy as exc:
            _log.error("retention purge refused, nothing purged: no verified active policy version (%s)", exc)
        except Exception as exc:  # the task must outlive any one failure (database down, disk full)
            _log.warning("retention purge failed: %s", type(exc).__name__)
        else:
            if result.purged:
                _log.info("retention purge: %d record(s) purged in %d batch(es) under policy version %s",
                          result.purged, len(result.plans), result.policy_version)


def run_command(settings: Settings, database: str, *, dry_run: bool, out: Callable[[str], None],
                record: Recorder | None = None) -> int:
    """`gateway log purge [--dry-run]`: with the retention periods of the active, verified policy version."""
    from gateway.policy_admin.signing import load_policy_signer

    try:
        policy_key = load_policy_signer(settings.keys_dir, generate=False).public_key
        signer = None if dry_run else load_log_signer(settings.keys_dir, generate=False)
    except SigningKeyError as exc:
        out(f"refused, nothing purged: {exc}")
        return 1
    engine = make_engine(database)
    try:
        with write_session(engine) as session:
            try:
                result = purge_active(session, policy_public_key=policy_key, now=dt.datetime.now(dt.UTC),
                                      signer=signer, origin=settings.checkpoint_origin, dry_run=dry_run,
                                      record=record)
            except NoVerifiedPolicy as exc:
                session.rollback()
                out(f"refused, nothing purged: no verified active policy version ({exc})")
                return 1
            session.commit()
    finally:
        engine.dispose()
    out(f"retention periods of active policy version {result.policy_version}")
    for p in result.plans:
        out(f"{'would purge' if dry_run else 'purged'} {len(p.positions)} record(s) of purpose {p.purpose} "
            f"(retention {p.retention}, recorded before {p.cutoff:%Y-%m-%d})")
    if not result.plans:
        out("nothing is due for purging")
    elif not dry_run:
        out(f"purge recorded at log position(s) {', '.join(map(str, result.purge_positions))}; "
            f"checkpoint signed at tree size {result.checkpoint_size}")
    return 0
