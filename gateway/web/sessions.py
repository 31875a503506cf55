"""Server-side sessions: a random token in an HttpOnly, SameSite=Strict cookie; the table keeps only its hash.

A session ends after `web_session_idle_minutes` without a request, after `web_session_absolute_hours` in any
case, and on logout. Approving a policy needs a recent authentication (`web_reauth_minutes`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import Session

from gateway.core.settings import Settings
from gateway.web.models import WebSession, WebUser

TOUCH_AFTER = dt.timedelta(seconds=30)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class CookieNames:
    session: str
    login_csrf: str


def cookie_names(settings: Settings) -> CookieNames:
    # The __Host- prefix pins a Secure cookie to this host and path "/" (no Domain attribute can widen it).
    if settings.cookies_secure:
        return CookieNames(session="__Host-kgb_session", login_csrf="__Host-kgb_login_csrf")
    return CookieNames(session="kgb_session", login_csrf="kgb_login_csrf")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def start(session: Session, *, user: WebUser, auth_method: str, now: dt.datetime) -> tuple[str, WebSession]:
    token = secrets.token_urlsafe(32)
    row = WebSession(token_hash=token_hash(token), username=user.username, auth_method=auth_method,
                     csrf_token=secrets.token_urlsafe(32), created_at=now, last_seen_at=now, authenticated_at=now)
    session.add(row)
    return token, row


@dataclass(frozen=True)
class Loaded:
    row: WebSession | None
    expired: bool = False


def load(session: Session, token: str, settings: Settings, now: dt.datetime) -> Loaded:
    """The live session for a cookie token; ends it (expired) when a timeout has passed."""
    row = session.get(WebSession, token_hash(token))
    if row is None or row.ended_at is not None:
        return Loaded(row=None)
    idle = now - _aware(row.last_seen_at) > dt.timedelta(minutes=settings.web_session_idle_minutes)
    absolute = now - _aware(row.created_at) > dt.timedelta(hours=settings.web_session_absolute_hours)
    if idle or absolute:
        row.ended_at = now
        session.add(row)
        return Loaded(row=None, expired=True)
    if now - _aware(row.last_seen_at) > TOUCH_AFTER:
        row.last_seen_at = now
        session.add(row)
    return Loaded(row=row)


def end(session: Session, token: str, now: dt.datetime) -> WebSession | None:
    row = session.get(WebSession, token_hash(token))
    if row is not None and row.ended_at is None:
        row.ended_at = now
        session.add(row)
        return row
    return None


def recently_authenticated(row: WebSession, settings: Settings, now: dt.datetime) -> bool:
    return now - _aware(row.authenticated_at) <= dt.timedelta(minutes=settings.web_reauth_minutes)


def mark_authenticated(session: Session, token_hash_value: str, now: dt.datetime) -> None:
    row = session.get(WebSession, token_hash_value)
    if row is not None:
        row.authenticated_at = now
        session.add(row)
