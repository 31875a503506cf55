"""The cross-process write lock for SQLite (`SqliteWriteLock` in gateway/core/database.py).

Writers of several gateway processes on one SQLite file wait for each other through a `flock` on a lock file
beside the database, so that none of them waits in SQLite's sleeping busy handler. These tests hold the lock
elsewhere and check that the gateway's writers (a `run_db` write and a group-commit batch) wait for it; that
another process cannot take it until it is let go; that a forked process starts with it free in itself and does
not share its parent's hold; and where the lock file goes.
"""

from __future__ import annotations

import asyncio
import fcntl
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from gateway.core.database import SqliteWriteLock, _lock_for, _sqlite_lock_path, make_engine, run_db, stop_group_commit


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    yield engine
    stop_group_commit(engine)
    engine.dispose()


def _hold_from_outside(lock_path: Path) -> int:
    """Take the flock through a descriptor of our own, as another process would (a second open file conflicts
    even within one process)."""
    fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


async def test_the_gateways_writers_wait_while_another_holds_the_lock(engine: Engine, tmp_path: Path) -> None:
    assert _lock_for(engine).lock_path == tmp_path / "gateway.db.write-lock"
    fd = _hold_from_outside(tmp_path / "gateway.db.write-lock")
    try:
        def insert(value: int) -> Callable[[Session], None]:
            def work(session: Session) -> None:
                session.execute(text("INSERT INTO t (id) VALUES (:id)"), {"id": value})
            return work

        plain = asyncio.ensure_future(run_db(engine, insert(1), write=True))
        grouped = asyncio.ensure_future(run_db(engine, insert(2), write=True, group=True))
        done, _ = await asyncio.wait({plain, grouped}, timeout=0.5)
        assert not done  # both wait for the lock held here
    finally:
        os.close(fd)  # lets go
    await asyncio.wait_for(asyncio.gather(plain, grouped), timeout=30)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM t ORDER BY id")).scalars().all() == [1, 2]


def _take_and_report(lock_path: str, trying: object, acquired: object) -> None:
    lock = SqliteWriteLock(Path(lock_path))
    trying.set()  # type: ignore[attr-defined]
    with lock:
        acquired.set()  # type: ignore[attr-defined]


def test_another_process_waits_until_the_lock_is_let_go(tmp_path: Path) -> None:
    lock = SqliteWriteLock(tmp_path / "gateway.db.write-lock")
    context = multiprocessing.get_context("spawn")
    trying, acquired = context.Event(), context.Event()
    child = context.Process(target=_take_and_report, args=(str(lock.lock_path), trying, acquired))
    try:
        with lock:
            child.start()
            assert trying.wait(60), "the other process did not start"
            # Held here: the other process must still be waiting after a generous while.
            assert not acquired.wait(1.0)
        # Let go: now it gets the lock.
        assert acquired.wait(60)
        child.join(60)
        assert child.exitcode == 0
    finally:
        if child.is_alive():
            child.kill()


def _in_forked_child(lock: SqliteWriteLock, result: object) -> None:
    free_here = lock._thread_lock.acquire(blocking=False)
    if free_here:
        lock._thread_lock.release()
    fd = os.open(str(lock.lock_path), os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        parents_hold = "not held"
    except BlockingIOError:
        parents_hold = "held"
    result.put((free_here, parents_hold))  # type: ignore[attr-defined]


def test_a_forked_process_starts_with_the_lock_free_in_itself_and_the_parents_hold_kept(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    lock = _lock_for(engine)  # registered, so the fork hook resets it in the child
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    child = context.Process(target=_in_forked_child, args=(lock, result))
    try:
        with lock, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running (Python 3.12+)
            child.start()
            # The child must not inherit this thread's hold of the thread lock (its first write would hang),
            # and the parent's flock must still exclude it.
            assert result.get(timeout=60) == (True, "held")
        child.join(60)
    finally:
        if child.is_alive():
            child.kill()
        engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file::memory:?cache=shared&uri=true"])
def test_an_in_memory_database_needs_no_lock_file(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a stray lock file would land in the working directory
    lock = SqliteWriteLock(_sqlite_lock_path(url))
    assert lock.lock_path is None
    with lock:
        pass
    assert os.listdir(tmp_path) == []


def test_the_lock_file_is_beside_the_database_as_an_absolute_path(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _sqlite_lock_path("sqlite:///var/gateway.db") == tmp_path / "var" / "gateway.db.write-lock"
    assert _sqlite_lock_path("sqlite:////srv/g.db?timeout=5") == Path("/srv/g.db.write-lock")
    assert _sqlite_lock_path("sqlite:///file:/srv/g.db?mode=rwc&uri=true") == Path("/srv/g.db.write-lock")


def test_no_descriptor_outlives_a_hold(tmp_path: Path) -> None:
    lock = SqliteWriteLock(tmp_path / "db.write-lock")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with lock:
            pass
    assert len(os.listdir("/proc/self/fd")) == before
    # And nothing holds the flock afterwards.
    fd = os.open(tmp_path / "db.write-lock", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
