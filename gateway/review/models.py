"""Items for the DPO's review queues: exchanges a human must look at after the fact (first: break-glass)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Text
from sqlmodel import Field, SQLModel


class ReviewItem(SQLModel, table=True):
    __tablename__ = "review_item"

    id: str = Field(primary_key=True, max_length=36)
    exchange_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=30, index=True, description="break_glass, …")
    organisation_id: str = Field(max_length=100, index=True)
    professional_pseudonym: str = Field(max_length=64, index=True)
    flags: str = Field(default="[]", sa_type=Text, description="JSON list of flag codes, e.g. unnecessary, repeated")
    sealed_note: str | None = Field(default=None, sa_type=Text, description="the professional's justification, sealed")
    due_at: dt.datetime = Field(index=True)
    created_at: dt.datetime
    reviewed_at: dt.datetime | None = None
    reviewer: str | None = Field(default=None, max_length=100)
