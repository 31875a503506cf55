"""The transactional outbox: one delivery job per accepted push, written with its log record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Text
from sqlmodel import Field, SQLModel


class DeliveryJob(SQLModel, table=True):
    __tablename__ = "delivery_job"

    exchange_id: str = Field(primary_key=True, max_length=36)
    recipient_id: str = Field(max_length=100, index=True)
    status: str = Field(max_length=20, index=True, description="pending | in_flight | inbox | delivered | dead")
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(index=True)
    lease_until: dt.datetime | None = None
    last_error: str | None = Field(default=None, max_length=60, description="reason code, never content")
    sealed_delivery: str | None = Field(default=None, sa_type=Text,
                                        description="AES-GCM sealed delivery; cleared once delivered")
    created_at: dt.datetime
    updated_at: dt.datetime
