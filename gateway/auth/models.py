"""Seen client-assertion ids (`jti`), kept until the assertion expires: replay protection."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel


class SeenAssertion(SQLModel, table=True):
    __tablename__ = "seen_client_assertion"

    client_id: str = Field(primary_key=True, max_length=100)
    jti: str = Field(primary_key=True, max_length=200)
    expires_at: dt.datetime = Field(index=True)
