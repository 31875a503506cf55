"""Delivery of an accepted push: the first attempt inline, then the outbox; final outcomes and retries recorded.

Every function records its change to the log, the exchange row and the outbox job in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from gateway.core import telemetry
from gateway.core.database import run_db
from gateway.exchange.deps import EXCHANGE_AND_JOB, EXCHANGE_STATE_AND_JOB, UPDATE_EXCHANGE, ExchangeDeps
from gateway.exchange.deps import now as utc_now
from gateway.exchange.models import ExchangeRow
from gateway.exchange.schemas import DeliveryOutcome, ExchangeResult
from gateway.exchange_log import service as log_service
from gateway.registry.organisations import INBOX_ADAPTER, Organisation
from gateway.relay import outbox
from gateway.relay.port import AdapterError, Delivery

_log = logging.getLogger("gateway.exchange.delivery")


async def complete_delivery(deps: ExchangeDeps, exchange_id: str, status: str, reason: str | None,
                            partner_reference: str | None, *,
                            stored: ExchangeResult | None = None) -> ExchangeResult | None:
    """A final delivery outcome: its log record, the exchange's status and the outbox job, in one transaction.

    `stored`: the exchange's result as its row holds it, when the caller has it (the inline first attempt, right
    after writing it); otherwise it is read from the row."""
    now = utc_now()

    def write(session: Session) -> ExchangeResult | None:
        statement = EXCHANGE_AND_JOB if stored is None else EXCHANGE_STATE_AND_JOB
        row = session.execute(statement, {"exchange_id": exchange_id}).one_or_none()
        if row is None:
            return None
        log_position, sender_id, recipient_id, job_status, job_attempts = row[:5]
        result = stored if stored is not None else ExchangeResult.model_validate_json(row[5])
        if job_status is not None and outbox.is_final(job_status):
            return result  # another attempt settled it first; one outcome per exchange
        record = {"exchange_id": exchange_id, "trace_id": result.trace_id, "refers_to": log_position,
                  "sender": {"id": sender_id}, "recipient": {"id": recipient_id}, "outcome": status,
                  "reason": reason, "partner_reference": partner_reference, "attempts": (job_attempts or 0) + 1}
        position = log_service.append(session, kind="delivery", record=record, now=now).position
        final = result.model_copy(update={"status": status, "delivery": DeliveryOutcome(
            status=status, partner_reference=partner_reference, log_position=position, reason=reason)})
        session.execute(UPDATE_EXCHANGE, {"exchange_id": exchange_id, "summary": final.model_dump_json(
            exclude={"data"}), "status": status, "updated_at": now, "delivery_log_position": position})
        outbox.finish(session, exchange_id, delivered=status == "delivered", reason=reason, now=now)
        return final

    try:
        with telemetry.span("gateway.log.append", {"gateway.log.kind": "delivery", "gateway.exchange.id": exchange_id,
                                                   "gateway.delivery.outcome": status}):
            return await run_db(deps.db, write, write=True, group=True)
    except (SQLAlchemyError, OSError):
        # The job stays leased; when the lease runs out it is sent again and the partner deduplicates it.
        _log.error("delivery outcome could not be recorded; the job will be retried")
        return None


async def schedule_retry(deps: ExchangeDeps, exchange_id: str, reason: str, delay_seconds: float) -> None:
    """A failed attempt that will be retried: the job is rescheduled and the exchange shows it is queued."""
    now = utc_now()

    def write(session: Session) -> None:
        attempts = outbox.reschedule(session, exchange_id, now=now, reason=reason, delay_seconds=delay_seconds)
        row = session.get(ExchangeRow, exchange_id)
        if row is None or attempts == 0:
            return  # settled meanwhile (or gone): a late failure changes nothing
        result = ExchangeResult.model_validate_json(row.summary)
        queued = result.model_copy(update={"status": "queued", "delivery": DeliveryOutcome(
            status="queued", reason=reason, attempts=attempts,
            next_attempt_at=(now + dt.timedelta(seconds=delay_seconds)).isoformat())})
        session.execute(UPDATE_EXCHANGE, {"exchange_id": exchange_id, "summary": queued.model_dump_json(
            exclude={"data"}), "status": "queued", "updated_at": now, "delivery_log_position": None})

    try:
        await run_db(deps.db, write, write=True, group=True)
    except (SQLAlchemyError, OSError):
        _log.error("a retry could not be scheduled; the job's lease will expire and it is tried again")


async def retry_dead_letter(db: Engine, exchange_id: str) -> bool:
    """An operator's manual retry of a delivery that failed after its last attempt."""
    now = utc_now()

    def write(session: Session) -> bool:
        if not outbox.requeue_dead(session, exchange_id, now=now):
            return False
        row = session.get(ExchangeRow, exchange_id)
        if row is not None:
            result = ExchangeResult.model_validate_json(row.summary)
            queued = result.model_copy(update={"status": "queued", "delivery": DeliveryOutcome(
                status="queued", reason="manual_retry", attempts=0)})
            session.execute(UPDATE_EXCHANGE, {"exchange_id": exchange_id, "summary": queued.model_dump_json(
                exclude={"data"}), "status": "queued", "updated_at": now, "delivery_log_position": None})
        return True

    return await run_db(db, write, write=True)


async def current(deps: ExchangeDeps, exchange_id: str, fallback: ExchangeResult) -> ExchangeResult:
    row = await run_db(deps.db, lambda session: session.get(ExchangeRow, exchange_id))
    return ExchangeResult.model_validate_json(row.summary) if row is not None else fallback


async def first_attempt(deps: ExchangeDeps, *, recipient: Organisation, delivery: Delivery,
                        result: ExchangeResult) -> ExchangeResult:
    """The first attempt, inline, so a healthy partner answers within the request; the outbox does the rest.
    `result` is the exchange's result as just written to its row."""
    if recipient.endpoint is not None and recipient.endpoint.adapter == INBOX_ADAPTER:
        return await hold_for_pickup(deps, delivery.exchange_id) or result
    try:
        receipt = await deps.relay.deliver(recipient, delivery)
    except AdapterError as exc:
        if deps.retry_policy.max_attempts <= 1:
            final = await complete_delivery(deps, delivery.exchange_id, "failed", exc.reason, None, stored=result)
        else:
            delay = outbox.backoff_seconds(1, base=deps.retry_policy.backoff_base_seconds,
                                           cap=deps.retry_policy.backoff_max_seconds)
            await schedule_retry(deps, delivery.exchange_id, exc.reason, delay)
            final = None
        return final or await current(deps, delivery.exchange_id, result)
    final = await complete_delivery(deps, delivery.exchange_id, "delivered", None, receipt.partner_reference,
                                    stored=result)
    return final or await current(deps, delivery.exchange_id, result)


async def hold_for_pickup(deps: ExchangeDeps, exchange_id: str) -> ExchangeResult | None:
    """For a recipient without an endpoint: the delivery waits, sealed, in its inbox until it acknowledges it."""
    now = utc_now()

    def write(session: Session) -> ExchangeResult | None:
        outbox.hold_for_pickup(session, exchange_id, now=now)
        row = session.get(ExchangeRow, exchange_id)
        if row is None:
            return None
        result = ExchangeResult.model_validate_json(row.summary)
        waiting = result.model_copy(update={"status": "awaiting_pickup",
                                            "delivery": DeliveryOutcome(status="awaiting_pickup")})
        session.execute(UPDATE_EXCHANGE, {"exchange_id": exchange_id, "summary": waiting.model_dump_json(
            exclude={"data"}), "status": "awaiting_pickup", "updated_at": now, "delivery_log_position": None})
        return waiting

    try:
        return await run_db(deps.db, write, write=True, group=True)
    except (SQLAlchemyError, OSError):
        # The job stays leased; when the lease runs out the worker puts it in the inbox again.
        _log.error("holding a delivery for pickup could not be recorded; the job will be retried")
        return None
