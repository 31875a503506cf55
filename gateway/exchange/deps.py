"""What the exchange domain is built with (made in the app's lifespan), and its shared database statements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, insert, select, update

from gateway.core.metrics import Metrics
from gateway.exchange.models import ExchangeRow
from gateway.exchange.quotas import Quotas
from gateway.policy.engine import PolicyEngine
from gateway.pseudonymise.pseudonyms import Pseudonymiser
from gateway.pseudonymise.sealing import Sealer
from gateway.registry.organisations import OrganisationRegistry
from gateway.relay.models import DeliveryJob
from gateway.relay.service import Relay
from gateway.relay.worker import RetryPolicy


@dataclass
class ExchangeDeps:
    db: Engine
    policy: PolicyEngine
    pseudonymiser: Pseudonymiser
    registry: OrganisationRegistry
    relay: Relay
    metrics: Metrics
    known_purposes: frozenset[str]
    known_flows: frozenset[str]
    sealer: Sealer
    retry_policy: RetryPolicy
    quotas: Quotas | None = None
    review_sealer: Sealer | None = None



def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Core statements, built once: the ORM unit of work costs more than the writes on this hot path.
EXCHANGE_TABLE = ExchangeRow.__table__  # type: ignore[attr-defined]
INSERT_EXCHANGE = insert(EXCHANGE_TABLE)
UPDATE_EXCHANGE = update(EXCHANGE_TABLE).where(EXCHANGE_TABLE.c.id == bindparam("exchange_id")).values(
    summary=bindparam("summary"), status=bindparam("status"), updated_at=bindparam("updated_at"),
    delivery_log_position=bindparam("delivery_log_position"))
_JOBS = DeliveryJob.__table__  # type: ignore[attr-defined]
# A final delivery outcome reads the exchange and its outbox job's state in one statement.
EXCHANGE_STATE_AND_JOB = select(
    EXCHANGE_TABLE.c.log_position, EXCHANGE_TABLE.c.sender_id, EXCHANGE_TABLE.c.recipient_id, _JOBS.c.status,
    _JOBS.c.attempts,
).select_from(EXCHANGE_TABLE.outerjoin(_JOBS, _JOBS.c.exchange_id == EXCHANGE_TABLE.c.id)).where(
    EXCHANGE_TABLE.c.id == bindparam("exchange_id"))
# The same plus the summary (last), for a caller that does not hold the exchange's result already.
EXCHANGE_AND_JOB = EXCHANGE_STATE_AND_JOB.add_columns(EXCHANGE_TABLE.c.summary)
FIND_IDEMPOTENT = select(EXCHANGE_TABLE.c.request_hash, EXCHANGE_TABLE.c.summary).where(
    EXCHANGE_TABLE.c.caller_id == bindparam("caller_id"),
    EXCHANGE_TABLE.c.idempotency_key == bindparam("idempotency_key")).limit(1)
