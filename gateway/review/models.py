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


class ReviewIndex(SQLModel, table=True):
    """One row per log entry with what the review desk filters on; written in the append's transaction.

    It survives a retention purge of the entry's content, so filters, queues and statistics keep working on
    purged entries. The values are copies of the record's (pseudonymous) codes, never plaintext identifiers.
    """

    __tablename__ = "review_index"

    position: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    recorded_at: dt.datetime = Field(index=True)
    kind: str = Field(max_length=32, index=True)
    exchange_id: str | None = Field(default=None, max_length=36, index=True)
    organisation_id: str | None = Field(default=None, max_length=100, index=True,
                                        description="the acting organisation (the caller)")
    sender_id: str | None = Field(default=None, max_length=100, index=True)
    recipient_id: str | None = Field(default=None, max_length=100, index=True)
    flow: str | None = Field(default=None, max_length=20, index=True)
    purpose: str | None = Field(default=None, max_length=100, index=True)
    outcome: str | None = Field(default=None, max_length=20, index=True)
    legal_basis: str | None = Field(default=None, max_length=100, index=True)
    professional: str | None = Field(default=None, max_length=64, index=True)


class ReviewTerm(SQLModel, table=True):
    """Multi-valued facts of a log entry (`cat:health`, `person:PS1…`, `queue:special`) for exact lookups."""

    __tablename__ = "review_term"

    term: str = Field(primary_key=True, max_length=120)
    position: int = Field(primary_key=True, index=True, sa_column_kwargs={"autoincrement": False})


class ReviewAnnotation(SQLModel, table=True):
    """A DPO's note on a log entry: kept here, never in the log. The text is sealed (it is free text)."""

    __tablename__ = "review_annotation"

    id: str = Field(primary_key=True, max_length=36)
    position: int = Field(index=True)
    author: str = Field(max_length=64)
    created_at: dt.datetime
    sealed_text: str = Field(sa_type=Text)


class ReviewMark(SQLModel, table=True):
    """The reviewed state of a log entry: who marked it reviewed, and when."""

    __tablename__ = "review_mark"

    position: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    reviewed_by: str = Field(max_length=64)
    reviewed_at: dt.datetime


class ReviewObligation(SQLModel, table=True):
    """An obligation with a deadline ("binnen vier weken") taken from an allowed exchange's record."""

    __tablename__ = "review_obligation"

    position: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    recipient_id: str | None = Field(default=None, max_length=100)
    flow: str | None = Field(default=None, max_length=20)
    text: str = Field(sa_type=Text)
    due_at: dt.datetime = Field(index=True)
    fulfilled_at: dt.datetime | None = None
    fulfilled_by: str | None = Field(default=None, max_length=64)
