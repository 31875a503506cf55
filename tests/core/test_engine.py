"""The SQLite engine (gateway/core/database.py): connections are kept for request concurrency, and writes outside
`run_db` begin by taking the write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from gateway.core.database import make_engine, run_db, write_session


async def test_concurrent_requests_reuse_connections_instead_of_opening_new_ones(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    opened: list[object] = []
    event.listen(engine, "connect", lambda connection, _record: opened.append(connection))

    together = threading.Barrier(16, timeout=10)

    def read(session: Session) -> int:
        value = int(session.execute(text("SELECT 1")).scalar_one())
        together.wait()  # all 16 hold a connection at the same time
        return value

    try:
        for _ in range(2):
            assert await asyncio.gather(*(run_db(engine, read) for _ in range(16))) == [1] * 16
        # The second round found the first round's connections waiting in the pool.
        assert len(opened) == 16
    finally:
        engine.dispose()


def test_a_write_session_holds_the_write_lock_from_its_first_statement(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    other = sqlite3.connect(tmp_path / "g.db", timeout=0.1)
    try:
        with write_session(engine) as session:
            session.execute(text("SELECT count(*) FROM t")).one()  # a read first, as create_user's look-up
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("INSERT INTO t VALUES (1)")  # another writer waits for this transaction
            session.execute(text("INSERT INTO t VALUES (2)"))
            session.commit()
        other.execute("INSERT INTO t VALUES (3)")
        other.commit()
        # Without it: a plain session that read before another connection committed cannot write any more.
        with Session(engine) as session:
            session.execute(text("SELECT count(*) FROM t")).one()
            other.execute("INSERT INTO t VALUES (4)")
            other.commit()
            with pytest.raises(OperationalError, match="locked"):
                session.execute(text("INSERT INTO t VALUES (5)"))
    finally:
        other.close()
        engine.dispose()
