"""The gateway purges expired content on its own schedule, logs the purge, signs a checkpoint and audits it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import Session

from gateway.core.settings import Settings
from gateway.exchange_log import service as log_service
from gateway.exchange_log.checkpoint import verifier_key
from gateway.exchange_log.verify import load_public_key, rows_from_database, verify
from gateway.web import audit
from gateway.web.models import AdminAuditEntry
from tests.exchange_log.log_support import auth, exchange
from tests.policy_admin.policy_support import activate_version, tamper_active_version
from tests.support import WIJKTEAM


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"retention_purge_interval_seconds": 0.2})


async def test_the_periodic_task_purges_what_has_expired(client: httpx.AsyncClient, settings: Settings,
                                                          app: FastAPI) -> None:
    await exchange(client, await auth(client, settings, WIJKTEAM))
    with app.state.db.begin() as connection:
        connection.execute(text("UPDATE exchange_log SET recorded_at = :t"),
                           {"t": dt.datetime.now(dt.UTC) - dt.timedelta(days=365 * 21)})
    for _ in range(100):
        await asyncio.sleep(0.1)
        with Session(app.state.db) as session:
            rows = audit.search(session, action="retention_purge").entries
        if rows:
            break
    assert len(rows) == 1 and rows[0].actor == "gateway:retention"
    detail = json.loads(rows[0].detail)
    assert detail["purged"] == 2 and detail["checkpoint"] == 3
    with Session(app.state.db) as session:
        note = log_service.checkpoint_at(session, 3).note
        assert all(log_service.entry_at(session, p).purged_at is not None for p in (0, 1))  # type: ignore[union-attr]
    name, key = load_public_key(verifier_key(app.state.log.origin, app.state.log.signer.public_key))
    report = verify(rows_from_database(settings.database_url), note_text=note, public_key=key, key_name=name)
    assert report.ok and report.purged == 2, report.lines()


def _purges(app: FastAPI) -> list[AdminAuditEntry]:
    with Session(app.state.db) as session:
        return list(audit.search(session, action="retention_purge").entries)


async def test_the_periodic_task_follows_a_newly_approved_version(client: httpx.AsyncClient, settings: Settings,
                                                                  app: FastAPI) -> None:
    """Started under version 1 (melding: 20 years), the task applies version 2 (one day) from its next round."""
    await exchange(client, await auth(client, settings, WIJKTEAM))
    with app.state.db.begin() as connection:
        connection.execute(text("UPDATE exchange_log SET recorded_at = :t"),
                           {"t": dt.datetime.now(dt.UTC) - dt.timedelta(days=3)})
    await asyncio.sleep(0.7)  # a few rounds under version 1: nothing is due
    assert not _purges(app)

    def one_day(purposes: dict[str, Any]) -> None:
        purposes["melding"]["retention"] = "P1D"

    activate_version(app, "data/purposes.yaml", one_day)
    for _ in range(100):
        await asyncio.sleep(0.1)
        if rows := _purges(app):
            break
    assert len(rows) == 1 and json.loads(rows[0].detail)["purged"] == 2
    with Session(app.state.db) as session:
        assert all(log_service.entry_at(session, p).purged_at is not None for p in (0, 1))  # type: ignore[union-attr]


async def test_the_periodic_task_purges_nothing_without_a_verified_active_version(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    await exchange(client, await auth(client, settings, WIJKTEAM))
    tamper_active_version(app)  # it now says one day for a melding, but its hash no longer matches
    with caplog.at_level(logging.ERROR, logger="gateway.exchange_log.retention"):
        for _ in range(100):
            await asyncio.sleep(0.1)
            if any("retention purge refused" in r.getMessage() for r in caplog.records):
                break
        # Only once the rounds see the tampered version are the entries made due (a round that read the version
        # before the tampering may otherwise still purge under it, correctly), then a few more rounds.
        with app.state.db.begin() as connection:
            connection.execute(text("UPDATE exchange_log SET recorded_at = :t"),
                               {"t": dt.datetime.now(dt.UTC) - dt.timedelta(days=365 * 21)})
        caplog.clear()
        for _ in range(100):
            await asyncio.sleep(0.1)
            if any("retention purge refused" in r.getMessage() for r in caplog.records):
                break
        await asyncio.sleep(0.5)
    assert any("retention purge refused, nothing purged" in r.getMessage() for r in caplog.records)
    assert not _purges(app)
    with Session(app.state.db) as session:
        assert all(log_service.entry_at(session, p).purged_at is None for p in (0, 1))  # type: ignore[union-attr]
