"""The delivery worker: sends what the outbox holds, with retries, backoff and a circuit breaker per partner.

The worker knows nothing of exchanges or the log: the exchange domain hands it two callbacks, one that records
a final outcome (delivered, or failed after the last attempt) with its log record in one transaction, and one
that records a retry. It runs as a background task in every gateway replica; leases keep replicas apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from gateway.core import telemetry
from gateway.core.database import run_db
from gateway.pseudonymise.sealing import Sealer, SealError
from gateway.registry.organisations import INBOX_ADAPTER, OrganisationRegistry
from gateway.relay import outbox
from gateway.relay.models import DeliveryJob
from gateway.relay.port import AdapterError, Delivery
from gateway.relay.service import Relay

_log = logging.getLogger("gateway.relay.worker")

Complete = Callable[[str, str, str | None, str | None], Awaitable[None]]  # exchange id, status, reason, reference
Retry = Callable[[str, str, float], Awaitable[None]]  # exchange id, reason, delay seconds
Hold = Callable[[str], Awaitable[None]]  # exchange id: put it in the recipient's inbox


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    batch: int = 16


class DeliveryWorker:
    def __init__(self, *, db: Engine, relay: Relay, registry: OrganisationRegistry, sealer: Sealer,
                 policy: RetryPolicy, complete: Complete, retry: Retry, hold: Hold) -> None:
        self.db, self.relay, self.registry, self.sealer = db, relay, registry, sealer
        self.policy, self.complete, self.retry, self.hold = policy, complete, retry, hold
        self.wake = asyncio.Event()

    async def run_forever(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except (SQLAlchemyError, OSError):
                _log.warning("delivery worker could not reach the database; retrying")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.policy.poll_seconds)
                self.wake.clear()

    async def run_once(self) -> int:
        now = dt.datetime.now(dt.UTC)

        def claim(session: Session) -> list[DeliveryJob]:
            return outbox.claim_due(session, now=now, limit=self.policy.batch,
                                    lease_seconds=self.policy.lease_seconds)

        jobs = await run_db(self.db, claim, write=True)
        await asyncio.gather(*(self._attempt(job) for job in jobs))
        return len(jobs)

    async def _attempt(self, job: DeliveryJob) -> None:
        try:
            delivery = outbox.open_delivery(self.sealer, job)
        except (SealError, TypeError, ValueError):
            await self.complete(job.exchange_id, "failed", "unreadable_job", None)
            return
        # The attempt continues the exchange's trace (as a child of the span that queued it, and linked to it),
        # so the partner and the delivery's log record name the same trace id as the exchange.
        origin = _origin(delivery)
        links = [Link(trace.get_current_span(origin).get_span_context())] if origin is not None else []
        with telemetry.span("gateway.delivery.attempt", kind=SpanKind.CONSUMER, parent=origin, links=links,
                            attributes={"gateway.exchange.id": job.exchange_id, "gateway.recipient": job.recipient_id,
                                        "gateway.delivery.attempt": job.attempts + 1}):
            await self._send(job, delivery)

    async def _send(self, job: DeliveryJob, delivery: Delivery) -> None:
        recipient = self.registry.get(job.recipient_id)
        if recipient is None:
            await self.complete(job.exchange_id, "failed", "unknown_recipient", None)
            return
        if recipient.endpoint is not None and recipient.endpoint.adapter == INBOX_ADAPTER:
            await self.hold(job.exchange_id)  # e.g. the gateway died before putting it in the inbox
            return
        try:
            receipt = await self.relay.deliver(recipient, delivery)
        except AdapterError as exc:
            await self.failed(job.exchange_id, exc.reason, attempts_so_far=job.attempts)
            return
        await self.complete(job.exchange_id, "delivered", None, receipt.partner_reference)

    async def failed(self, exchange_id: str, reason: str, *, attempts_so_far: int) -> None:
        """One more failed attempt: retry later with backoff, or fail visibly after the last attempt."""
        attempts = attempts_so_far + 1
        if attempts >= self.policy.max_attempts:
            await self.complete(exchange_id, "failed", reason, None)
            return
        delay = outbox.backoff_seconds(attempts, base=self.policy.backoff_base_seconds,
                                       cap=self.policy.backoff_max_seconds)
        await self.retry(exchange_id, reason, delay)


def _origin(delivery: Delivery) -> Context | None:
    """The queuing span; for a job queued before spans were stored, the exchange's trace under a new parent id."""
    origin = telemetry.context_from_traceparent(delivery.origin_traceparent)
    if origin is None:
        origin = telemetry.context_from_traceparent(f"00-{delivery.trace_id}-{secrets.token_hex(8)}-01")
    return origin
