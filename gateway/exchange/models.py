"""Exchange status rows: what `GET /v1/exchanges/{id}` answers and what idempotency keys point at.

They hold organisation ids, codes, positions and a request hash — never personal data.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ExchangeRow(SQLModel, table=True):
    __tablename__ = "exchange"
    __table_args__ = (UniqueConstraint("caller_id", "idempotency_key", name="uq_exchange_idempotency"),)

    id: str = Field(primary_key=True, max_length=36)
    caller_id: str = Field(max_length=100, index=True)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_hash: str = Field(max_length=80)
    pattern: str = Field(max_length=10)
    sender_id: str = Field(max_length=100, index=True)
    recipient_id: str = Field(max_length=100, index=True)
    purpose: str = Field(max_length=100)
    flow: str | None = Field(default=None, max_length=20)
    outcome: str = Field(max_length=20)
    status: str = Field(max_length=20, index=True)
    log_position: int
    delivery_log_position: int | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    summary: str = Field(sa_type=Text, description="JSON response summary without personal data")
