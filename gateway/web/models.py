"""Tables for human users of the web pages: accounts, server-side sessions, login throttling, admin audit trail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Text
from sqlmodel import Field, SQLModel


class WebUser(SQLModel, table=True):
    """A privacy officer, DPO or operator. Local accounts have an Argon2id hash; OIDC accounts have none."""

    __tablename__ = "web_user"

    username: str = Field(primary_key=True, max_length=64)
    display_name: str = Field(max_length=200)
    organisation_id: str | None = Field(default=None, max_length=100)
    roles: str = Field(max_length=200, description="comma-separated roles: privacy_officer, dpo, operator")
    password_hash: str | None = Field(default=None, max_length=200)
    active: bool = True
    created_at: dt.datetime
    password_changed_at: dt.datetime | None = None
    # An OIDC account is bound to its provider's stable subject, never to a name the user can change there.
    oidc_issuer: str | None = Field(default=None, max_length=300)
    oidc_subject: str | None = Field(default=None, max_length=255, index=True)


class WebSession(SQLModel, table=True):
    """A server-side session; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64, index=True)
    auth_method: str = Field(max_length=20, description="password or oidc")
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime
    last_seen_at: dt.datetime
    authenticated_at: dt.datetime = Field(description="last time the user proved who they are (re-authentication)")
    ended_at: dt.datetime | None = Field(default=None, index=True)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per key (a hashed username or client address) and the lock they led to."""

    __tablename__ = "web_login_throttle"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    window_started_at: dt.datetime
    locked_until: dt.datetime | None = None


class AdminAuditEntry(SQLModel, table=True):
    """One administrative action (login, approval, annotation, export, inzage report…), hash-chained."""

    __tablename__ = "admin_audit"

    position: int = Field(primary_key=True)
    recorded_at: dt.datetime = Field(index=True)
    actor: str = Field(max_length=64, index=True)
    action: str = Field(max_length=60, index=True)
    outcome: str = Field(max_length=20, description="ok, refused or failed")
    target: str | None = Field(default=None, max_length=200)
    detail: str = Field(default="{}", sa_type=Text, description="canonical JSON; never BSNs or names of families")
    client: str | None = Field(default=None, max_length=64, description="the client address")
    prev_hash: str = Field(max_length=64)
    entry_hash: str = Field(max_length=64)
