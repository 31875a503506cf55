"""FastAPI dependencies for the web pages and the session-authenticated review API.

    principal: WebPrincipal = Depends(require_role("dpo"))           # GET pages and JSON reads
    principal: WebPrincipal = Depends(require_role_csrf("dpo"))      # POST: also Origin + CSRF token checks

A request without a live session gets `LoginRequired` (a redirect to the login page under /ui, a 401
problem+json elsewhere); a user without the role gets 403.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import Engine
from sqlmodel import Session

from gateway.core.database import run_db
from gateway.core.errors import Forbidden, Unauthorized
from gateway.core.settings import Settings
from gateway.web import audit, sessions
from gateway.web.accounts import ROLES, password_attempt, role_list, throttle_policy
from gateway.web.models import WebSession, WebUser
from gateway.web.security import check_origin, check_token


class LoginRequired(Unauthorized):
    """No live session: log in (again)."""

    code = "login-required"
    title = "Login required"


class RoleRequired(Forbidden):
    """The logged-in user lacks the role this page needs."""

    code = "role-required"
    title = "Role required"


class ReauthRequired(Forbidden):
    """This action needs the user to confirm their identity again (password or a fresh OIDC login)."""

    code = "reauth-required"
    title = "Re-authentication required"


@dataclass(frozen=True)
class WebPrincipal:
    username: str
    display_name: str
    roles: frozenset[str]
    organisation_id: str | None
    auth_method: str
    csrf_token: str
    session_hash: str
    authenticated_at: dt.datetime

    @property
    def role_names(self) -> list[str]:
        return [ROLES[r] for r in sorted(self.roles) if r in ROLES]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _db(request: Request) -> Engine:
    db: Engine = request.app.state.db
    return db


async def current_principal(request: Request) -> WebPrincipal:
    cached = getattr(request.state, "web_principal", None)
    if isinstance(cached, WebPrincipal):
        return cached
    settings = _settings(request)
    token = request.cookies.get(sessions.cookie_names(settings).session)
    if not token:
        raise LoginRequired(detail="Log in om deze pagina te bekijken.")
    now = dt.datetime.now(dt.UTC)

    def work(session: Session) -> tuple[WebPrincipal | None, bool]:
        loaded = sessions.load(session, token, settings, now)
        if loaded.row is None:
            if loaded.expired:
                row = session.get(WebSession, sessions.token_hash(token))
                audit.record(session, actor=row.username if row else "-", action="session_expired",
                             client=client_address(request), now=now)
            return None, loaded.expired
        user = session.get(WebUser, loaded.row.username)
        if user is None or not user.active:
            sessions.end(session, token, now)
            return None, False
        authenticated_at = loaded.row.authenticated_at
        return WebPrincipal(username=user.username, display_name=user.display_name, roles=role_list(user),
                            organisation_id=user.organisation_id, auth_method=loaded.row.auth_method,
                            csrf_token=loaded.row.csrf_token, session_hash=loaded.row.token_hash,
                            authenticated_at=authenticated_at if authenticated_at.tzinfo else
                            authenticated_at.replace(tzinfo=dt.UTC)), False

    principal, expired = await run_db(_db(request), work, write=True)
    if principal is None:
        raise LoginRequired(detail="Uw sessie is verlopen; log opnieuw in." if expired else
                            "Log in om deze pagina te bekijken.", extra={"expired": expired})
    request.state.web_principal = principal
    return principal


async def optional_principal(request: Request) -> WebPrincipal | None:
    try:
        return await current_principal(request)
    except LoginRequired:
        return None


def require_role(*roles: str) -> Callable[[Request], Coroutine[Any, Any, WebPrincipal]]:
    async def dependency(request: Request) -> WebPrincipal:
        principal = await current_principal(request)
        if roles and not principal.roles & set(roles):
            names = " of ".join(ROLES.get(r, r) for r in roles)
            raise RoleRequired(detail=f"Deze pagina is alleen voor de rol {names}.")
        return principal

    return dependency


async def check_csrf(request: Request, principal: WebPrincipal) -> None:
    headers = {k.lower(): v for k, v in request.headers.items()}
    check_origin(headers, _settings(request).public_url)
    presented = headers.get("x-csrf-token")
    if presented is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        presented = value if isinstance(value, str) else None
    check_token(principal.csrf_token, presented)


def require_role_csrf(*roles: str) -> Callable[[Request], Coroutine[Any, Any, WebPrincipal]]:
    role_dependency = require_role(*roles)

    async def dependency(request: Request) -> WebPrincipal:
        principal = await role_dependency(request)
        await check_csrf(request, principal)
        return principal

    return dependency


async def reauthenticate(request: Request, principal: WebPrincipal, password: str | None, *, action: str) -> None:
    """Confirm the user's identity before a weighty action (approving a policy).

    Local accounts re-enter their password (every time); OIDC users must have logged in within
    `web_reauth_minutes`. Failures are recorded in the admin audit trail.
    """
    settings = _settings(request)
    now = dt.datetime.now(dt.UTC)

    def work(session: Session) -> bool:
        if principal.auth_method == "password":
            # Every time: the password again, under the login throttle (a stolen session cannot guess on).
            ok, _lock = password_attempt(session, username=principal.username, password=password or "",
                                         client=client_address(request), policy=throttle_policy(settings), now=now)
            if ok:
                sessions.mark_authenticated(session, principal.session_hash, now)
        else:
            # OIDC: only a real login at the provider within the window counts; a check never extends it.
            row = session.get(WebSession, principal.session_hash)
            ok = row is not None and sessions.recently_authenticated(row, settings, now)
        audit.record(session, actor=principal.username, action="reauth" if ok else "reauth_failed",
                     outcome="ok" if ok else "refused", target=action, client=client_address(request), now=now)
        return ok

    if not await run_db(_db(request), work, write=True):
        if principal.auth_method == "password":
            raise ReauthRequired(detail="Het wachtwoord klopt niet; de actie is niet uitgevoerd.")
        raise ReauthRequired(detail="Log opnieuw in om deze actie te bevestigen.",
                             extra={"login_url": "/ui/login/oidc?prompt=login"})
