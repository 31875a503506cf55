"""Login, logout, the start page and the admin audit trail page (all under /ui)."""

from __future__ import annotations

import datetime as dt
import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from gateway.core.database import run_db
from gateway.core.settings import Settings
from gateway.web import audit, sessions
from gateway.web.accounts import authenticate, throttle_policy
from gateway.web.deps import WebPrincipal, client_address, optional_principal, require_role, require_role_csrf
from gateway.web.models import WebUser
from gateway.web.security import check_origin, check_token
from gateway.web.templating import render

router = APIRouter(prefix="/ui", include_in_schema=False)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def safe_next(value: str | None) -> str:
    """Only a path on this site under /ui: never an open redirect."""
    if value and value.startswith("/ui") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/"


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(sessions.cookie_names(settings).session, token, httponly=True, secure=settings.cookies_secure,
                        samesite="strict", path="/", max_age=settings.web_session_absolute_hours * 3600)


def _login_page(request: Request, *, error: str | None = None, status_code: int = 200, next_url: str = "/ui/",
                headers: dict[str, str] | None = None, notice: str | None = None) -> HTMLResponse:
    settings = _settings(request)
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {
        "login_csrf": token, "error": error, "next": next_url, "notice": notice,
        "local_accounts": settings.web_local_accounts, "oidc": bool(settings.oidc_issuer)},
        status_code=status_code, headers=headers)
    response.set_cookie(sessions.cookie_names(settings).login_csrf, token, httponly=True,
                        secure=settings.cookies_secure, samesite="strict", path="/", max_age=1800)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None, expired: int = 0) -> Response:  # noqa: A002
    if await optional_principal(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = "Uw sessie is verlopen. Log opnieuw in." if expired else None
    return _login_page(request, next_url=safe_next(next), notice=notice)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, username: Annotated[str, Form(max_length=200)] = "",
                password: Annotated[str, Form(max_length=1000)] = "",
                csrf_token: Annotated[str, Form(max_length=200)] = "",
                next: Annotated[str, Form(max_length=2000)] = "/ui/") -> Response:  # noqa: A002
    settings = _settings(request)
    names = sessions.cookie_names(settings)
    check_origin({k.lower(): v for k, v in request.headers.items()}, settings.public_url)
    check_token(request.cookies.get(names.login_csrf, ""), csrf_token)
    if not settings.web_local_accounts:
        return _login_page(request, error="Inloggen met een wachtwoord is uitgeschakeld; gebruik de organisatielogin.",
                           status_code=403)
    client = client_address(request)
    now = dt.datetime.now(dt.UTC)
    old_token = request.cookies.get(names.session)

    def work(session: Session) -> tuple[str | None, dt.datetime | None]:
        result = authenticate(session, username=username, password=password, client=client,
                              policy=throttle_policy(settings), now=now)
        if result.user is None:
            return None, result.locked_until
        if old_token:
            sessions.end(session, old_token, now)  # no session fixation: every login gets a new token
        token, _row = sessions.start(session, user=result.user, auth_method="password", now=now)
        audit.record(session, actor=result.user.username, action="login", detail={"method": "password"},
                     client=client, now=now)
        return token, None

    token, locked = await run_db(request.app.state.db, work, write=True)
    if token is None:
        if locked is not None and locked > now:
            wait = max(1, math.ceil((locked - now).total_seconds() / 60))
            return _login_page(request, status_code=429, next_url=safe_next(next),
                               headers={"Retry-After": str(int((locked - now).total_seconds()) + 1)},
                               error=f"Te veel mislukte pogingen. Probeer het over {wait} minuten opnieuw.")
        return _login_page(request, status_code=401, next_url=safe_next(next),
                           error="Onbekende gebruikersnaam of onjuist wachtwoord.")
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, settings, token)
    response.delete_cookie(names.login_csrf, path="/", secure=settings.cookies_secure, httponly=True,
                           samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request, principal: Annotated[WebPrincipal, Depends(require_role_csrf())]) -> Response:
    settings = _settings(request)
    names = sessions.cookie_names(settings)
    token = request.cookies.get(names.session, "")
    client = client_address(request)

    def work(session: Session) -> None:
        sessions.end(session, token, dt.datetime.now(dt.UTC))
        audit.record(session, actor=principal.username, action="logout", client=client)

    await run_db(request.app.state.db, work, write=True)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(names.session, path="/", secure=settings.cookies_secure, httponly=True, samesite="strict")
    return response


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, principal: Annotated[WebPrincipal, Depends(require_role())]) -> Response:
    sections = getattr(request.app.state, "web_sections", [])
    visible = [s for s in sections if principal.roles & set(s["roles"])]
    return render(request, "home.html", {"sections": visible})


@router.get("/audit", response_class=HTMLResponse)
async def audit_trail(request: Request, principal: Annotated[WebPrincipal, Depends(require_role("dpo"))],
                      actor: Annotated[str | None, Query(max_length=64)] = None,
                      action: Annotated[str | None, Query(max_length=60)] = None,
                      page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    size = 100

    def work(session: Session) -> tuple[audit.AuditPage, list[int]]:
        return (audit.search(session, actor=actor or None, action=action or None, limit=size,
                             offset=(page - 1) * size), audit.verify_chain(session))

    result, broken = await run_db(request.app.state.db, work)
    return render(request, "audit.html", {
        "entries": result.entries, "total": result.total, "page": page, "pages": max(1, math.ceil(result.total / size)),
        "actor": actor or "", "action": action or "", "actions": audit.ACTIONS_NL, "broken": broken})


def register_section(app_state: object, *, title: str, href: str, roles: list[str], description: str) -> None:
    """Other packages list their pages on the start page (shown to users with one of the roles)."""
    sections: list[dict[str, object]] = getattr(app_state, "web_sections", [])
    if all(s["href"] != href for s in sections):
        sections.append({"title": title, "href": href, "roles": roles, "description": description})
    app_state.web_sections = sections  # type: ignore[attr-defined]


__all__ = ["WebUser", "register_section", "router", "safe_next", "set_session_cookie"]
