"""Retention goes by the active, approved policy version in the database (verified), never by the bundle on disk;
without a verified active version nothing is purged. Purges running at once purge (and log) each position once."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import Session, col, select

from gateway.cli import main as cli_main
from gateway.core.database import make_engine, upgrade_to_head
from gateway.core.settings import Settings, get_settings
from gateway.exchange_log import retention
from gateway.exchange_log import service as log_service
from gateway.exchange_log.models import LogEntry
from gateway.exchange_log.purged import PURGE_KIND
from tests.exchange_log.log_support import auth, exchange
from tests.policy_admin.policy_support import activate_version, tamper_active_version
from tests.support import WIJKTEAM


def _melding_retention(period: str) -> Any:
    def edit(purposes: dict[str, Any]) -> None:
        purposes["melding"]["retention"] = period

    return edit


def _age(app: FastAPI, days: int) -> None:
    with app.state.db.begin() as connection:
        connection.execute(text("UPDATE exchange_log SET recorded_at = :t"),
                           {"t": dt.datetime.now(dt.UTC) - dt.timedelta(days=days)})


def _cli_purge(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               *extra: str) -> tuple[int, str]:
    monkeypatch.setenv("GATEWAY_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", settings.public_url)
    get_settings.cache_clear()
    try:
        code = cli_main(["log", "purge", *extra, "--database", settings.database_url])
    finally:
        get_settings.cache_clear()
    return code, capsys.readouterr().out


def _purged(app: FastAPI) -> list[int]:
    with Session(app.state.db) as session:
        return list(session.exec(select(LogEntry.position).where(col(LogEntry.purged_at).is_not(None))))


async def test_the_command_line_purges_by_the_active_version_not_the_disk_bundle(
        app: FastAPI, client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    await exchange(client, await auth(client, settings, WIJKTEAM))  # an exchange and its delivery, 3 days old
    _age(app, 3)
    code, out = _cli_purge(settings, monkeypatch, capsys)
    assert code == 0 and "nothing is due for purging" in out  # version 1 (= the disk bundle): 20 years
    number = activate_version(app, "data/purposes.yaml", _melding_retention("P1D"))  # the disk still says P20Y
    code, out = _cli_purge(settings, monkeypatch, capsys, "--dry-run")
    assert code == 0 and "would purge 2 record(s) of purpose melding (retention P1D" in out, out
    assert f"active policy version {number}" in out and not _purged(app)
    code, out = _cli_purge(settings, monkeypatch, capsys)
    assert code == 0 and "purged 2 record(s) of purpose melding (retention P1D" in out, out
    assert _purged(app) == [0, 1]


async def test_the_command_line_purges_nothing_without_a_verified_active_version(
        app: FastAPI, client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    await exchange(client, await auth(client, settings, WIJKTEAM))
    _age(app, 365 * 21)  # past every period, on disk and in the database
    tamper_active_version(app)
    for extra in ((), ("--dry-run",)):
        code, out = _cli_purge(settings, monkeypatch, capsys, *extra)
        assert code == 1 and "refused, nothing purged: no verified active policy version" in out, out
    assert not _purged(app)
    with Session(app.state.db) as session:
        assert not session.exec(select(LogEntry).where(col(LogEntry.kind) == PURGE_KIND)).all()


def _waiting_for_advisory_locks(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                               "AND NOT granted")).scalar_one())
    finally:
        engine.dispose()


def test_two_purges_at_once_purge_and_log_each_position_once(backend: str, database_url: str) -> None:
    """Two replicas purge at the same moment. On PostgreSQL both are held at the log's lock until a third
    transaction (a concurrent append, say) ends; the second must then find nothing left, not log the same
    positions again. (SQLite's write transactions serialise them anyway.)"""
    engine = make_engine(database_url)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    periods = {"melding": "P1Y"}
    try:
        upgrade_to_head(engine)
        with Session(engine) as session:
            for _ in range(3):
                log_service.append(session, kind="exchange", now=old, record={"purpose": "melding"})
            session.commit()
        writer = engine.execution_options(gateway_sqlite_write=True)
        errors: list[BaseException] = []

        def purge() -> None:
            try:
                with Session(writer) as session:
                    retention.purge_due(session, retention=periods, now=dt.datetime.now(dt.UTC), signer=None,
                                        origin="test")
                    session.commit()
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=purge) for _ in range(2)]
        if backend == "postgresql":
            with engine.connect() as holder, holder.begin():
                holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": log_service.APPEND_LOCK_KEY})
                for thread in threads:
                    thread.start()
                deadline = time.monotonic() + 20
                while _waiting_for_advisory_locks(database_url) < 2:
                    assert time.monotonic() < deadline, "the purges never waited for the log's lock"
                    time.sleep(0.05)
        else:
            for thread in threads:
                thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors
        with Session(engine) as session:
            purges = session.exec(select(LogEntry).where(col(LogEntry.kind) == PURGE_KIND)).all()
            assert len(purges) == 1, [json.loads(p.entry)["purged"] for p in purges]
            named = [i["position"] for i in json.loads(purges[0].entry)["purged"]]
            assert named == [0, 1, 2]
    finally:
        engine.dispose()
