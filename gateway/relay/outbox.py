"""Outbox operations on a session (the caller owns the transaction).

A job is written in the same transaction as the exchange's log record, so an accepted exchange always has
either a delivery outcome or a job that will produce one — also after a crash between accepting and sending.
Jobs are claimed with a lease: a worker that dies mid-delivery leaves a job whose lease expires and is
claimed again; the recipient deduplicates on the delivery key, so a repeat is harmless.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter
from typing import Any

import orjson
from sqlalchemy import bindparam, insert, or_, update
from sqlmodel import Session, col, select

from gateway.core import telemetry
from gateway.pseudonymise.sealing import Sealer
from gateway.relay.models import DeliveryJob
from gateway.relay.port import Delivery

FINAL = ("delivered", "dead")
# Core statements built once: on the exchange path the ORM's per-statement work costs more than the write.
_JOBS = DeliveryJob.__table__  # type: ignore[attr-defined]
_INSERT_JOB = insert(_JOBS)
_FINISH_DELIVERED = update(_JOBS).where(_JOBS.c.exchange_id == bindparam("job_id")).values(
    attempts=_JOBS.c.attempts + 1, status="delivered", lease_until=None, updated_at=bindparam("now"),
    last_error=bindparam("reason"), sealed_delivery=None)
_FINISH_DEAD = update(_JOBS).where(_JOBS.c.exchange_id == bindparam("job_id")).values(
    attempts=_JOBS.c.attempts + 1, status="dead", lease_until=None, updated_at=bindparam("now"),
    last_error=bindparam("reason"))


def seal_delivery(sealer: Sealer, delivery: Delivery) -> str:
    if delivery.origin_traceparent is None:
        delivery = dataclasses.replace(delivery, origin_traceparent=telemetry.current_traceparent())
    # orjson serialises the dataclass itself (fields in order, nested dossier as is): no asdict deep copy.
    return sealer.seal(orjson.dumps(delivery), context=delivery.exchange_id)


def open_delivery(sealer: Sealer, job: DeliveryJob) -> Delivery:
    raw: dict[str, Any] = orjson.loads(sealer.open(job.sealed_delivery or "", context=job.exchange_id))
    return Delivery(**raw)


def enqueue(session: Session, *, delivery: Delivery, sealer: Sealer, now: dt.datetime, lease_seconds: float) -> None:
    """Write the job already leased to the request that is about to try delivering it inline."""
    session.execute(_INSERT_JOB, [{
        "exchange_id": delivery.exchange_id, "recipient_id": delivery.recipient_id, "status": "in_flight",
        "attempts": 0, "next_attempt_at": now, "lease_until": now + dt.timedelta(seconds=lease_seconds),
        "last_error": None, "sealed_delivery": seal_delivery(sealer, delivery), "created_at": now,
        "updated_at": now}])


def claim_due(session: Session, *, now: dt.datetime, limit: int, lease_seconds: float) -> list[DeliveryJob]:
    """Due pending jobs and in-flight jobs whose lease ran out, leased to this worker."""
    statement = select(DeliveryJob).where(or_(
        (col(DeliveryJob.status) == "pending") & (col(DeliveryJob.next_attempt_at) <= now),
        (col(DeliveryJob.status) == "in_flight") & (col(DeliveryJob.lease_until) <= now),
    )).order_by(col(DeliveryJob.next_attempt_at)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)  # replicas never claim the same job
    jobs = list(session.exec(statement).all())
    for job in jobs:
        job.status, job.lease_until, job.updated_at = "in_flight", now + dt.timedelta(seconds=lease_seconds), now
        session.add(job)
    return jobs


def backoff_seconds(attempts: int, *, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (attempts counts the failures so far, from 1)."""
    return random.uniform(0, min(cap, base * 2 ** (attempts - 1)))  # noqa: S311 - jitter, not a secret


def reschedule(session: Session, exchange_id: str, *, now: dt.datetime, reason: str, delay_seconds: float) -> int:
    """The number of failed attempts so far, or 0 when there is nothing to reschedule."""
    job = session.get(DeliveryJob, exchange_id)
    if job is None or job.status in FINAL:
        return 0
    job.attempts += 1
    job.status, job.last_error, job.lease_until, job.updated_at = "pending", reason, None, now
    job.next_attempt_at = now + dt.timedelta(seconds=delay_seconds)
    session.add(job)
    return job.attempts


def finish(session: Session, exchange_id: str, *, delivered: bool, reason: str | None, now: dt.datetime) -> None:
    """Delivered: the sealed payload is no longer needed and goes. Dead: kept sealed for a manual retry."""
    session.execute(_FINISH_DELIVERED if delivered else _FINISH_DEAD,
                    {"job_id": exchange_id, "reason": reason, "now": now})


def requeue_dead(session: Session, exchange_id: str, *, now: dt.datetime) -> bool:
    job = session.get(DeliveryJob, exchange_id)
    if job is None or job.status != "dead" or job.sealed_delivery is None:
        return False
    job.status, job.attempts, job.next_attempt_at, job.updated_at = "pending", 0, now, now
    session.add(job)
    return True


def status_counts(session: Session) -> dict[str, int]:
    return dict(Counter(session.exec(select(DeliveryJob.status)).all()))


def is_final(status: str) -> bool:
    return status in FINAL


def hold_for_pickup(session: Session, exchange_id: str, *, now: dt.datetime) -> None:
    """The recipient collects it from the inbox; the worker leaves the job alone."""
    session.execute(update(DeliveryJob).where(col(DeliveryJob.exchange_id) == exchange_id).values(
        status="inbox", lease_until=None, updated_at=now))


def waiting_in_inbox(session: Session, recipient_id: str, *, limit: int = 100) -> list[DeliveryJob]:
    statement = select(DeliveryJob).where(col(DeliveryJob.recipient_id) == recipient_id,
                                          col(DeliveryJob.status) == "inbox")
    return list(session.exec(statement.order_by(col(DeliveryJob.created_at)).limit(limit)).all())
