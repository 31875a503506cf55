"""Local login, sessions (cookie flags, idle and absolute timeout), CSRF, throttling, roles and the audit trail."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import Session, select

from gateway.core.settings import Settings
from gateway.web import audit
from gateway.web.models import AdminAuditEntry, WebSession
from tests.web.web_support import PASSWORD, add_user, login, login_csrf, page_csrf


async def test_login_starts_a_session_and_records_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(app, "fg-test", ["dpo"])
    response = await login(client, "fg-test", next_path="/ui/audit")
    assert response.status_code == 303 and response.headers["location"] == "/ui/audit"
    cookie = response.headers["set-cookie"]
    assert "kgb_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = await client.get("/ui/audit")
    assert page.status_code == 200
    assert "fg-test" in page.text and "Ingelogd" in page.text
    with Session(app.state.db) as session:
        actions = [e.action for e in session.exec(select(AdminAuditEntry))]
        stored = session.exec(select(WebSession)).one()
    assert actions[-1] == "login"
    # Only the token's hash is stored, never the cookie value itself.
    token = client.cookies["kgb_session"]
    assert stored.token_hash != token and len(stored.token_hash) == 64


async def test_pages_need_a_session_and_send_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/ui/audit")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/ui/login?next=%2Fui%2Faudit")
    login_page = await client.get("/ui/login")
    assert "default-src 'none'" in login_page.headers["content-security-policy"]
    assert login_page.headers["cache-control"] == "no-store"
    assert login_page.headers["x-frame-options"] == "DENY"
    # The API keeps its problem+json for missing credentials.
    assert (await client.get("/v1/exchanges/x")).headers["content-type"].startswith("application/problem+json")


async def test_wrong_password_and_unknown_user_look_the_same(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(app, "po-test", ["privacy_officer"])
    wrong = await login(client, "po-test", "wrong password here")
    unknown = await login(client, "nobody-here", "wrong password here")
    assert wrong.status_code == unknown.status_code == 401
    assert "Onbekende gebruikersnaam of onjuist wachtwoord." in wrong.text
    assert "kgb_session" not in client.cookies


async def test_login_is_throttled_after_repeated_failures(app: FastAPI, client: httpx.AsyncClient,
                                                          settings: Settings) -> None:
    add_user(app, "po-test", ["privacy_officer"])
    for _ in range(settings.web_login_max_failures - 1):
        assert (await login(client, "po-test", "wrong password here")).status_code == 401
    locked = await login(client, "po-test", "wrong password here")
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    # Even the right password is refused while the account is locked.
    still = await login(client, "po-test", PASSWORD)
    assert still.status_code == 429
    with Session(app.state.db) as session:
        refused = session.exec(select(AdminAuditEntry).where(AdminAuditEntry.action == "login_failed")).all()
    assert len(refused) == settings.web_login_max_failures + 1
    assert {e.actor for e in refused} == {"po-test"}


async def test_a_typed_unknown_username_is_not_recorded(app: FastAPI, client: httpx.AsyncClient) -> None:
    # Someone types a BSN into the username field: it must not land in the audit trail.
    await login(client, "111222333", "wrong password here")
    with Session(app.state.db) as session:
        entries = session.exec(select(AdminAuditEntry)).all()
    assert [e.actor for e in entries if e.action == "login_failed"] == ["(onbekend)"]
    assert all("111222333" not in (e.detail + (e.target or "")) for e in entries)


async def test_login_form_needs_its_csrf_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(app, "po-test", ["privacy_officer"])
    await client.get("/ui/login")
    response = await client.post("/ui/login", data={"username": "po-test", "password": PASSWORD,
                                                    "csrf_token": "forged"})
    assert response.status_code == 403
    assert "kgb_session" not in client.cookies


async def test_posts_need_the_session_csrf_token_and_same_origin(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(app, "fg-test", ["dpo"])
    await login(client, "fg-test")
    token = await page_csrf(client)
    assert (await client.post("/ui/logout", data={"csrf_token": "wrong"})).status_code == 403
    assert (await client.post("/ui/logout", data={})).status_code == 403
    cross = await client.post("/ui/logout", data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    # Still logged in after the refused attempts; the real form logs out.
    assert (await client.get("/ui/audit")).status_code == 200
    out = await client.post("/ui/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert (await client.get("/ui/audit")).status_code == 303


async def test_an_idle_session_expires(app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> None:
    add_user(app, "fg-test", ["dpo"])
    await login(client, "fg-test")
    assert (await client.get("/ui/audit")).status_code == 200
    idle = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=settings.web_session_idle_minutes + 1)
    with Session(app.state.db) as session:
        session.execute(update(WebSession).values(last_seen_at=idle))
        session.commit()
    expired = await client.get("/ui/audit")
    assert expired.status_code == 303 and "expired=1" in expired.headers["location"]
    with Session(app.state.db) as session:
        assert session.exec(select(WebSession)).one().ended_at is not None
        assert session.exec(select(AdminAuditEntry).where(AdminAuditEntry.action == "session_expired")).first()


async def test_a_session_ends_after_its_absolute_lifetime(app: FastAPI, client: httpx.AsyncClient,
                                                          settings: Settings) -> None:
    add_user(app, "fg-test", ["dpo"])
    await login(client, "fg-test")
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=settings.web_session_absolute_hours, minutes=1)
    with Session(app.state.db) as session:
        session.execute(update(WebSession).values(created_at=old))  # last_seen_at stays recent
        session.commit()
    assert (await client.get("/ui/audit")).status_code == 303


async def test_roles_decide_what_a_user_may_open(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(app, "po-test", ["privacy_officer"])
    await login(client, "po-test")
    refused = await client.get("/ui/audit")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]


async def test_login_only_redirects_within_the_site(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(app, "fg-test", ["dpo"])
    response = await login(client, "fg-test", next_path="https://evil.example/")
    assert response.headers["location"] == "/ui/"


async def test_the_audit_trail_detects_a_changed_or_removed_row(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(app, "fg-test", ["dpo"])
    await login(client, "fg-test")
    with Session(app.state.db) as session:
        assert audit.verify_chain(session) == []
    # A separate transaction: a read transaction upgraded to a write fails on SQLite (WAL) when the app's background
    # tasks wrote in between.
    with Session(app.state.db) as session:
        session.execute(update(AdminAuditEntry).where(AdminAuditEntry.position == 0).values(actor="someone-else"))
        session.commit()
    with Session(app.state.db) as session:
        assert audit.verify_chain(session) == [0]
    page = await client.get("/ui/audit")
    assert 'data-testid="audit-broken"' in page.text


@pytest.mark.parametrize("public_url", ["https://gateway.test"])
def test_secure_cookies_over_https(tmp_path: object, public_url: str) -> None:
    from gateway.web.sessions import cookie_names
    from tests.support import test_settings

    settings = test_settings(tmp_path, public_url=public_url)  # type: ignore[arg-type]
    assert settings.cookies_secure
    assert cookie_names(settings).session.startswith("__Host-")


def test_production_refuses_insecure_cookies(tmp_path: object) -> None:
    from tests.support import test_settings

    with pytest.raises(ValueError, match="Secure cookies"):
        test_settings(tmp_path, environment="production", generate_dev_keys=False,  # type: ignore[arg-type]
                      public_url="http://gateway.test")


def test_login_csrf_helper_reads_the_field() -> None:
    assert login_csrf('<input name="csrf_token" value="abc">') == "abc"
