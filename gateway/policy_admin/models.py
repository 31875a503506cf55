"""A policy version: the whole bundle (Rego and tables) as stored files, its content hash and its signature."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

# States: draft → submitted → active (→ superseded when a later version is activated), or rejected.
DRAFT, SUBMITTED, ACTIVE, SUPERSEDED, REJECTED = "draft", "submitted", "active", "superseded", "rejected"


class PolicyVersion(SQLModel, table=True):
    __tablename__ = "policy_version"

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    state: str = Field(max_length=20, index=True)
    files: str = Field(sa_type=Text, description="JSON object: path relative to policies/ → file text")
    bundle_hash: str = Field(max_length=80, description="sha256:… over every file (gateway.policy.bundle)")
    signature: str | None = Field(default=None, max_length=200, description="base64 Ed25519, set on activation")
    signing_key_id: str | None = Field(default=None, max_length=80)
    source: str = Field(max_length=40, description="first-start, web, cli or rollback")
    note: str = Field(default="", max_length=1000, description="what the change is for, in the author's words")
    base_number: int | None = Field(default=None, description="the version this one was derived from")
    rollback_of: int | None = None
    author: str = Field(max_length=64)
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None = None
    decided_by: str | None = Field(default=None, max_length=64, description="approver or rejecter")
    decided_at: dt.datetime | None = None
    decision_note: str | None = Field(default=None, max_length=1000)
    previous_hash: str | None = Field(default=None, max_length=80, description="the hash active before this one")
    activated_at: dt.datetime | None = None
    log_position: int | None = Field(default=None, description="the exchange log entry of the activation")
