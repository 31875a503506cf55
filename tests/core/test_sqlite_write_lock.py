"""The cross-process write lock for SQLite (`SqliteWriteLock` in gateway/core/database.py).

Writers of several gateway processes on one SQLite file take turns through a `flock` on a lock file beside the
database, so that none of them waits in SQLite's sleeping busy handler. These tests hold the lock in this process
and check that another process cannot take it until it is let go; that a forked process does not share this
process's hold; and that an in-memory database (one process only) needs no lock file.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
from pathlib import Path

import pytest

from gateway.core.database import SqliteWriteLock, _lock_for, make_engine


def _take_and_report(lock_path: str, trying: object, acquired: object) -> None:
    lock = SqliteWriteLock(Path(lock_path))
    trying.set()  # type: ignore[attr-defined]
    with lock:
        acquired.set()  # type: ignore[attr-defined]


def test_another_process_waits_until_the_lock_is_let_go(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    lock = _lock_for(engine)
    assert lock.lock_path == tmp_path / "gateway.db.write-lock"
    context = multiprocessing.get_context("spawn")
    trying, acquired = context.Event(), context.Event()
    with lock:
        child = context.Process(target=_take_and_report, args=(str(lock.lock_path), trying, acquired))
        child.start()
        try:
            assert trying.wait(60), "the other process did not start"
            # Held here: the other process must still be waiting after a generous while.
            assert not acquired.wait(1.0)
        except BaseException:
            child.kill()
            raise
    # Let go: now it gets its turn.
    assert acquired.wait(60)
    child.join(60)
    assert child.exitcode == 0
    engine.dispose()


def test_a_forked_process_does_not_share_the_hold(tmp_path: Path) -> None:
    lock = SqliteWriteLock(tmp_path / "db.write-lock")
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    with lock:
        # A flock belongs to the open file: the child must open its own, and then finds the file locked.
        child = context.Process(target=_try_without_waiting, args=(lock, result))
        child.start()
        child.join(60)
    assert result.get(timeout=10) == "locked"


def _try_without_waiting(lock: SqliteWriteLock, result: object) -> None:
    try:
        fcntl.flock(lock._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        result.put("locked")  # type: ignore[attr-defined]
    else:
        result.put("taken")  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_needs_no_lock_file(url: str, tmp_path: Path) -> None:
    engine = make_engine(url)
    lock = _lock_for(engine)
    assert lock.lock_path is None
    before = set(os.listdir(tmp_path))
    with lock:
        pass
    assert set(os.listdir(tmp_path)) == before
    engine.dispose()
