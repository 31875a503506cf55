"""Database engine and sessions: SQLite (WAL, synchronous=FULL) by default, PostgreSQL in production.

The engine is created in the app's lifespan, never at import. Schema changes go through Alembic
(`gateway/migrations`); `upgrade_to_head` runs them at start.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
T = TypeVar("T")
_SQLITE_WRITE = "gateway_sqlite_write"
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Durable before relay: WAL with a full fsync on each commit.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # Take the write lock at BEGIN so concurrent appenders queue instead of failing on upgrade.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the write lock at BEGIN (no lock upgrade that could fail half-way); readers do not.
            immediate = conn.get_execution_options().get(_SQLITE_WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


async def run_db(engine: Engine, work: Callable[[Session], T], *, write: bool = False) -> T:
    """Run blocking database work in a worker thread with its own session, committing on success.

    On SQLite, write transactions queue on one in-process lock before BEGIN IMMEDIATE: SQLite's own busy
    handler waits by sleeping in growing steps, which under concurrent requests costs far more than the
    write itself.
    """
    sqlite = engine.dialect.name == "sqlite"
    bind = engine.execution_options(**{_SQLITE_WRITE: True}) if (write and sqlite) else engine

    def _run() -> T:
        lock = _lock_for(engine) if (write and sqlite) else contextlib.nullcontext()
        with lock, Session(bind, expire_on_commit=False) as session:
            result = work(session)
            session.commit()
            return result

    return await anyio.to_thread.run_sync(_run)


def _lock_for(engine: Engine) -> threading.Lock:
    with _LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(str(engine.url), threading.Lock())
