"""Local accounts: Argon2id hashes, the `gateway users` command, re-authentication, dev accounts at first start."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlmodel import Session, SQLModel, create_engine, select

import gateway.web.models  # noqa: F401 - registers the tables
from gateway.cli import main as cli_main
from gateway.core.settings import Settings
from gateway.web import accounts
from gateway.web.deps import ReauthRequired, current_principal, reauthenticate
from gateway.web.models import AdminAuditEntry, WebUser
from gateway.web.passwords import WeakPassword, hash_password, verify_password
from tests.web.web_support import PASSWORD, add_user, login


def _memory_session() -> Session:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    return Session(engine)


def test_passwords_are_stored_as_argon2id_hashes() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)
    with pytest.raises(WeakPassword):
        hash_password("short")


def test_accounts_need_a_known_role_and_a_clean_username() -> None:
    with _memory_session() as session:
        with pytest.raises(accounts.AccountError):
            accounts.create_user(session, username="x", display_name="X", roles=["dpo"], password=PASSWORD)
        with pytest.raises(accounts.AccountError):
            accounts.create_user(session, username="anna", display_name="A", roles=["admin"], password=PASSWORD)
        accounts.create_user(session, username="anna", display_name="A", roles=["dpo"], password=PASSWORD)
        with pytest.raises(accounts.AccountError):
            accounts.create_user(session, username="anna", display_name="A", roles=["dpo"], password=PASSWORD)


def test_dev_accounts_are_created_once_with_private_passwords(tmp_path: Path) -> None:
    with _memory_session() as session:
        path = accounts.ensure_dev_accounts(session, tmp_path)
        assert path is not None and oct(path.stat().st_mode & 0o777) == "0o600"
        lines = [line.split("\t") for line in path.read_text().splitlines() if not line.startswith("#")]
        users = {u.username: u for u in session.exec(select(WebUser))}
        assert {name for name, _, _ in lines} == set(users) >= {"po-anna", "po-bram", "fg-carla"}
        for name, _roles, password in lines:
            assert verify_password(users[name].password_hash, password)
            assert password not in (users[name].password_hash or "")
        assert accounts.ensure_dev_accounts(session, tmp_path) is None


def test_the_users_command_adds_lists_and_disables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    from gateway.core.settings import get_settings

    get_settings.cache_clear()
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        assert cli_main(["users", "add", "fg-new", "--role", "dpo", "--name", "Nieuwe FG", "--password-stdin"]) == 0
        monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
        assert cli_main(["users", "add", "fg-weak", "--role", "dpo", "--password-stdin"]) == 2
        assert cli_main(["users", "disable", "fg-new"]) == 0
        capsys.readouterr()
        assert cli_main(["users", "list"]) == 0
        listing = capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    assert "fg-new" in listing and "uitgeschakeld" in listing and "fg-weak" not in listing
    engine = create_engine(f"sqlite:///{tmp_path / 'g.db'}")
    with Session(engine) as session:
        actions = [e.action for e in session.exec(select(AdminAuditEntry).order_by(AdminAuditEntry.position))]
    engine.dispose()
    assert actions == ["user_created", "user_disabled"]


def test_the_users_command_writes_while_another_process_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`gateway users add|passwd` beside a running gateway on SQLite: the gateway's writer commits while the
    command hashes the password. A deferred transaction that read the account before that commit could no longer
    write ("database is locked", at once); the command hashes first and begins its write transaction after."""
    url = f"sqlite:///{tmp_path / 'g.db'}"
    monkeypatch.setenv("GATEWAY_DATABASE_URL", url)
    from gateway.core.settings import get_settings

    def gateway_commits() -> None:
        other = sqlite3.connect(tmp_path / "g.db", timeout=1)
        with other:
            other.execute("CREATE TABLE IF NOT EXISTS elsewhere (n INTEGER)")
            other.execute("INSERT INTO elsewhere VALUES (1)")
        other.close()

    def hash_while_the_gateway_commits(password: str) -> str:
        gateway_commits()
        return hash_password(password)

    monkeypatch.setattr(accounts, "hash_password", hash_while_the_gateway_commits)
    get_settings.cache_clear()
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        assert cli_main(["users", "add", "fg-new", "--role", "dpo", "--password-stdin"]) == 0
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "!\n"))
        assert cli_main(["users", "passwd", "fg-new", "--password-stdin"]) == 0
    finally:
        get_settings.cache_clear()
    engine = create_engine(url)
    with Session(engine) as session:
        user = session.get(WebUser, "fg-new")
        assert user is not None and verify_password(user.password_hash, PASSWORD + "!")
        assert session.exec(text("SELECT count(*) FROM elsewhere")).one()[0] == 2
    engine.dispose()


async def test_reauthentication_checks_the_password_again(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(app, "po-test", ["privacy_officer"])
    await login(client, "po-test")
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    scope = {"type": "http", "app": app, "headers": [(b"cookie", cookie.encode())], "method": "POST",
             "path": "/ui/x", "query_string": b"", "client": ("127.0.0.1", 1)}
    request = Request(scope)
    principal = await current_principal(request)
    with pytest.raises(ReauthRequired):
        await reauthenticate(request, principal, "not the password", action="policy_approve")
    await reauthenticate(request, principal, PASSWORD, action="policy_approve")
    with Session(app.state.db) as session:
        actions = [(e.action, e.outcome) for e in session.exec(select(AdminAuditEntry))]
    assert ("reauth_failed", "refused") in actions and ("reauth", "ok") in actions


async def test_reauthentication_is_throttled_like_the_login(app: FastAPI, client: httpx.AsyncClient,
                                                            settings: Settings) -> None:
    add_user(app, "po-test", ["privacy_officer"])
    await login(client, "po-test")
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    scope = {"type": "http", "app": app, "headers": [(b"cookie", cookie.encode())], "method": "POST",
             "path": "/ui/x", "query_string": b"", "client": ("127.0.0.1", 1)}
    request = Request(scope)
    principal = await current_principal(request)
    for _ in range(settings.web_login_max_failures):
        with pytest.raises(ReauthRequired):
            await reauthenticate(request, principal, "not the password", action="policy_approve")
    # A stolen session cannot go on guessing: now even the right password is refused until the lock ends.
    with pytest.raises(ReauthRequired):
        await reauthenticate(request, principal, PASSWORD, action="policy_approve")
