"""Database engine and sessions: SQLite (WAL, synchronous=FULL) by default, PostgreSQL in production.

The engine is created in the app's lifespan, never at import. Schema changes go through Alembic
(`gateway/migrations`); `upgrade_to_head` runs them at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import fcntl
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio.to_thread
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, RootTransaction, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm.session import JoinTransactionMode
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
T = TypeVar("T")
_SQLITE_WRITE = "gateway_sqlite_write"
# The exchange log's append lock on PostgreSQL (a transaction-scoped advisory lock shared by all replicas); taken
# by exchange_log.service.append and, first of all, by every group-commit batch (GroupCommitter._commit).
LOG_APPEND_LOCK_KEY = 0x6B6762_6C6F67  # "kgb" "log"
_TAKE_LOG_APPEND_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
# `remember` key: this connection holds the log's append lock in its current transaction (so that appends within
# it need not ask again; exchange_log.service.lock reads it).
LOG_LOCK_HELD = "gateway_log_lock_held"
_LOCKS_GUARD = threading.Lock()


def _sqlite_file(url: str) -> Path | None:
    """The SQLite database's file as an absolute path; None for an in-memory database."""
    parsed = make_url(url)
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:") or "mode=memory" in url:
        return None
    if database.startswith("file:") and parsed.query.get("uri") in ("true", "1"):
        database = urlsplit(database).path  # an SQLite URI filename: file:/path/x.db?mode=rwc
    return Path(os.path.abspath(database))


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database_file = _sqlite_file(url)
        in_memory = database_file is None
        if database_file is not None:
            database_file.parent.mkdir(parents=True, exist_ok=True)
        # A file database keeps up to 20 connections, so request concurrency does not open, set up and
        # close a connection per request (the default keeps 5); a connection costs three file handles.
        pool = {} if in_memory else {"pool_size": 20, "max_overflow": 20}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

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


def _write_bind(engine: Engine) -> Engine:
    """The engine for write transactions: on SQLite one whose BEGIN is BEGIN IMMEDIATE (see `make_engine`)."""
    return engine.execution_options(**{_SQLITE_WRITE: True}) if engine.dialect.name == "sqlite" else engine


def remember(connection: Connection, key: str, value: Any) -> None:
    """Note `value` on the connection for the rest of its current transaction only (`recall`)."""
    connection.info[key] = (connection.get_transaction(), value)


def recall(connection: Connection, key: str) -> Any | None:
    """What `remember` noted under `key` in the connection's current transaction; None for another transaction's
    note (the transaction object is kept with it, so a later transaction can never be taken for it)."""
    noted = connection.info.get(key)
    transaction = connection.get_transaction()
    return noted[1] if noted is not None and transaction is not None and noted[0] is transaction else None


def write_session(engine: Engine, **kwargs: Any) -> Session:
    """A session for synchronous writes outside `run_db` (command line, start-up, test set-up).

    On SQLite its transaction begins with BEGIN IMMEDIATE, as the gateway's own writers do. A plain (deferred)
    BEGIN that reads first and writes later fails at once with "database is locked" when another connection, such
    as a running gateway's writer, committed in between: SQLite cannot move such a reader's snapshot forward and
    does not wait. Do slow work (password hashing) before the first statement, since the write lock is held from
    there to the commit. On PostgreSQL this is a plain session.
    """
    return Session(_write_bind(engine), **kwargs)


async def run_db(engine: Engine, work: Callable[[Session], T], *, write: bool = False, group: bool = False) -> T:
    """Run blocking database work in a worker thread with its own session, committing on success.

    On SQLite, write transactions queue on the database's write lock (`SqliteWriteLock`: a thread lock and,
    across processes, a `flock`) before BEGIN IMMEDIATE: SQLite's own busy handler waits by sleeping in growing
    steps, which under concurrent requests costs far more than the write itself.

    `group=True` (writes only) hands the work to the engine's group-commit writer (`GroupCommitter`): it runs
    in a transaction shared with the other writes waiting at that moment, each in its own session, and returns
    once that transaction has committed. A work that fails is rolled back alone and raises here as before; a
    failed commit fails every work of the batch. The work may run twice (see `GroupCommitter`): it must only
    write through its session and build its answer from what it reads there, and it must neither catch a
    database error and go on nor roll back or commit the session itself (it raises; the writer does the rest).
    """
    if group and write:
        return await _submit_grouped(engine, work)
    sqlite = engine.dialect.name == "sqlite"
    bind = _write_bind(engine) if write else engine

    def _run() -> T:
        lock = _lock_for(engine) if (write and sqlite) else contextlib.nullcontext()
        with lock, Session(bind, expire_on_commit=False) as session:
            result = work(session)
            session.commit()
            return result

    return await anyio.to_thread.run_sync(_run)


class SqliteWriteLock:
    """The turn to write to one SQLite database: a thread lock, and for a file database also an exclusive
    `flock` on a lock file beside it, held from before BEGIN IMMEDIATE to after COMMIT.

    SQLite's own busy handler makes a writer that finds the database locked sleep in growing steps (up to 100 ms)
    and try again, so writers of several processes on one file (`uvicorn --workers N`) lose most of their time
    asleep. A blocking `flock` waits in the kernel and wakes as soon as the holder lets go (which waiter goes
    next is up to the kernel). Writers that do not take this lock (the command line, migrations, start-up) still
    meet SQLite's own locking, so correctness never rests on it. (The `filelock` and `fasteners` packages poll
    with sleeps too, which is what this avoids.)

    The lock file is opened for each hold and closed after it (closing lets go of the `flock`): no descriptor
    outlives a transaction or is shared with a forked process. The wait has no time limit: a holder always lets
    go after its COMMIT or failed BEGIN (SQLite's own 30 s timeout bounds those), but a holding process that is
    stopped (SIGSTOP, a debugger) makes the others' writers wait until it goes on or ends.
    """

    def __init__(self, lock_path: Path | None) -> None:
        self.lock_path = lock_path  # None: an in-memory database, one process only
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> SqliteWriteLock:
        self._thread_lock.acquire()
        try:
            if self.lock_path is not None:
                # Read-only is enough for a flock, and works whichever account created the file.
                self._fd = os.open(self.lock_path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._close()
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self._close()
        finally:
            self._thread_lock.release()

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # lets go of the flock

    def _after_fork(self) -> None:
        # A process made by fork while another thread held the thread lock would otherwise find it held forever;
        # and its copy of a held descriptor would keep the parent's flock alive should the parent die first.
        self._thread_lock = threading.Lock()
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # the child's reference only: the parent's hold stays the parent's


_WRITE_LOCKS: dict[str, SqliteWriteLock] = {}


def _reset_write_locks_after_fork() -> None:
    global _LOCKS_GUARD  # noqa: PLW0603 - a forked process's copy may be held by a thread that is not there
    _LOCKS_GUARD = threading.Lock()
    for lock in _WRITE_LOCKS.values():
        lock._after_fork()


os.register_at_fork(after_in_child=_reset_write_locks_after_fork)


def _sqlite_lock_path(url: str) -> Path | None:
    """`<database file>.write-lock` beside the database; None for an in-memory database."""
    database_file = _sqlite_file(url)
    return None if database_file is None else database_file.with_name(f"{database_file.name}.write-lock")


def _lock_for(engine: Engine) -> SqliteWriteLock:
    with _LOCKS_GUARD:
        key = str(engine.url)
        found = _WRITE_LOCKS.get(key)
        if found is None:
            found = _WRITE_LOCKS[key] = SqliteWriteLock(_sqlite_lock_path(key))
        return found


@dataclass
class _Job:
    work: Callable[[Session], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    context: contextvars.Context  # the submitter's (e.g. its current span), as anyio's worker threads have it
    abandoned: bool = False  # set on the loop when the submitter was cancelled before the work ran

    def abandon_if_cancelled(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            self.abandoned = True


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the waiting request was cancelled; the work itself has run (and committed or not)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class WriterStopped(SQLAlchemyError):
    """A write that was not written (the writer ended, its request was cancelled, or its transaction was lost
    before the commit): callers fail closed."""


def _deliver(job: _Job, result: Any, error: BaseException | None) -> None:
    with contextlib.suppress(RuntimeError):  # the submitter's loop is closed: nobody waits for the answer
        job.loop.call_soon_threadsafe(_settle, job.future, result, error)


class GroupCommitter:
    """Group commit: one writer thread per database that runs the write transactions waiting at that moment in
    one database transaction, so they share BEGIN, COMMIT and the commit's fsync.

    Nothing waits on purpose to fill a batch: while one batch commits (the fsync releases the GIL), the next
    requests queue up, and the next batch takes all of them (at most `max_batch`). Under no load a batch holds a
    single write and costs what a plain transaction costs. Every work gets a fresh session on the batch's
    connection. The batch first runs without savepoints; if a work raises — say, a duplicate Idempotency-Key —
    that pass is rolled back and the batch runs again with each work inside a savepoint
    (`join_transaction_mode="create_savepoint"`), so the failing one is rolled back alone and its caller gets
    the exception; the others go on. The
    callers learn their outcome only after COMMIT returned, so "durable before relay" holds for each of them;
    when the commit fails, every work in the batch gets the error and none of them relays anything.

    The writer keeps one connection while it runs and stops (closing it) after `idle_seconds` without work; the
    next write starts it again. A kept connection found dead at BEGIN is replaced before any work runs; a batch
    that fails later drops the connection, and the next batch connects afresh.
    """

    def __init__(self, engine: Engine, *, max_batch: int = 64, idle_seconds: float = 5.0) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._sqlite = engine.dialect.name == "sqlite"
        self._bind = _write_bind(engine)
        self._thread = threading.Thread(target=self._run, name="gateway-group-commit", daemon=True)
        # The writer keeps its connection between batches (no pool check-out, check-in and reset per batch).
        self._connection: Connection | None = None
        self.batches = 0  # for tests and the benchmark: how many transactions carried the writes
        self.writes = 0

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is queued, close the connection and end the thread (the app's shutdown)."""
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def submit(self, work: Callable[[Session], T]) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        job = _Job(work, future, loop, contextvars.copy_context())
        future.add_done_callback(job.abandon_if_cancelled)
        self._queue.put(job)
        return future

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            # However the writer ends (stopped, idle, or an unexpected error), no waiting write may hang: it is
            # taken out of the registry (the next write starts a new one), and whatever is still queued fails
            # like a failed commit — nothing of it was written, so nothing of it is relayed.
            with _COMMITTERS_GUARD:
                if _COMMITTERS.get(id(self.engine)) is self:
                    _COMMITTERS.pop(id(self.engine), None)
            self._drop_connection()
            while True:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    _deliver(job, None, WriterStopped("the group-commit writer stopped before this write"))

    def _serve(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with _COMMITTERS_GUARD:  # submitters enqueue under this guard: nothing can slip in meanwhile
                    if self._queue.empty():
                        if _COMMITTERS.get(id(self.engine)) is self:
                            _COMMITTERS.pop(id(self.engine), None)
                        return
                continue
            if first is None:  # stop(): everything queued before it has been committed
                return
            batch: list[_Job] = [first]
            stopping = False
            while len(batch) < self.max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            self._commit(batch)
            if stopping:
                return

    def _commit(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = [(None, None)] * len(batch)
        failed: BaseException | None = None  # an error of the whole batch
        lock = _lock_for(self.engine) if self._sqlite else contextlib.nullcontext()
        try:
            with lock:
                connection, transaction = self._begin()
                # Optimistically without savepoints (two statements per write); the first work that fails
                # rolls the whole pass back, and the batch runs again with a savepoint per work, so that one is
                # rolled back alone. A lone write needs no savepoint either way.
                first_pass = self._all_or_none(connection, transaction, batch) if len(batch) > 1 else None
                if first_pass is None and len(batch) > 1:
                    if transaction.is_active:
                        transaction.rollback()
                    elif connection.in_transaction():  # a work rolled the batch back and began anew
                        connection.rollback()
                    connection, transaction = self._begin()
                mode: JoinTransactionMode = "rollback_only" if len(batch) == 1 else "create_savepoint"
                outcomes = first_pass if first_pass is not None else [
                    self._one(connection, job, mode) for job in batch]
                if self._still_open(connection, transaction):
                    transaction.commit()  # the one fsync the whole batch waits for
                elif any(error is None for _, error in outcomes):
                    # Something ended the transaction early although a work succeeded (SQLite rolls back by
                    # itself after, say, a full disk): what it did is gone, so it must not hear success.
                    failed = WriterStopped("the transaction ended before its commit")
                    self._drop_connection(invalidate=True)
        except Exception as exc:  # BEGIN or COMMIT failed: nothing of the batch is durable
            # Whatever state the failure left behind (SQLite can keep a transaction open after a failed COMMIT;
            # a PostgreSQL connection may be gone), the connection is not reused: dropping it rolls back
            # anything still open, and the next batch connects afresh.
            self._drop_connection(invalidate=True)
            failed = exc
        except BaseException:  # not an error of the database (say, SystemExit in a work): the writer ends
            self._drop_connection(invalidate=True)
            for job in batch:
                _deliver(job, None, WriterStopped("the group-commit writer stopped during this write"))
            raise
        self.batches += 1
        self.writes += len(batch)
        for job, (result, error) in zip(batch, outcomes, strict=True):
            if failed is not None:  # each caller gets its own copy (each raise writes its own traceback)
                _deliver(job, None, copy.copy(failed) if len(batch) > 1 else failed)
            else:
                _deliver(job, result, error)

    def _begin(self) -> tuple[Connection, RootTransaction]:
        """BEGIN on the kept connection. One the database dropped while it was idle (a restart, a fail-over, an
        idle timeout in between) fails on its first statement, before any work of the batch has run: it is
        replaced once, so a database restart costs no write."""
        reused = self._connection is not None
        try:
            return self._open()
        except DBAPIError as exc:
            if not (reused and exc.connection_invalidated):
                raise
            self._drop_connection(invalidate=True)
            return self._open()

    def _open(self) -> tuple[Connection, RootTransaction]:
        if self._connection is None:
            self._connection = self._bind.connect()
        connection = self._connection
        transaction = connection.begin()
        if not self._sqlite:
            # The log's append lock first, before any work locks a row: every transaction that appends takes
            # its locks in that order, so a batch cannot deadlock with another replica's appends.
            connection.execute(_TAKE_LOG_APPEND_LOCK, {"key": LOG_APPEND_LOCK_KEY})
            remember(connection, LOG_LOCK_HELD, True)
        return connection, transaction

    def _still_open(self, connection: Connection, transaction: Any) -> bool:
        if not transaction.is_active:
            return False
        if self._sqlite:
            raw = connection.connection.dbapi_connection
            return bool(raw is not None and raw.in_transaction)
        return True

    def _drop_connection(self, *, invalidate: bool = False) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(Exception):
            if invalidate:
                connection.invalidate()
            connection.close()

    def _all_or_none(self, connection: Connection, transaction: RootTransaction,
                     batch: list[_Job]) -> list[tuple[Any, BaseException | None]] | None:
        """Every work of the batch in the batch's transaction, without savepoints; None as soon as one fails
        (the caller rolls back what the pass wrote). A work may thus run twice: works only write through their
        session and build their answer from what they read, so the second run stands alone."""
        outcomes: list[tuple[Any, BaseException | None]] = []
        for job in batch:
            if job.abandoned:
                outcomes.append((None, WriterStopped("the request was cancelled before its write")))
                continue
            session = Session(bind=connection, expire_on_commit=False, join_transaction_mode="rollback_only")
            try:
                result = job.context.run(job.work, session)
                if not transaction.is_active:  # the work rolled the batch's transaction back itself
                    return None
                session.commit()  # flushes only: the batch's transaction commits later
            except Exception:
                return None
            finally:
                session.close()  # leaves the batch's transaction as it is
            outcomes.append((result, None))
        return outcomes

    @staticmethod
    def _one(connection: Connection, job: _Job, mode: JoinTransactionMode) -> tuple[Any, BaseException | None]:
        if job.abandoned:  # the request was cancelled before its write ran: nothing is written, nothing relayed
            return None, WriterStopped("the request was cancelled before its write")
        session = Session(bind=connection, expire_on_commit=False, join_transaction_mode=mode)
        try:
            result = job.context.run(job.work, session)
            session.commit()  # flushes; releases the savepoint (the batch's transaction commits later)
            return result, None
        except Exception as exc:
            session.rollback()  # back to this work's savepoint only (a lone work: its transaction)
            return None, exc
        finally:
            session.close()


_COMMITTERS: dict[int, GroupCommitter] = {}
_COMMITTERS_GUARD = threading.Lock()


async def _submit_grouped(engine: Engine, work: Callable[[Session], T]) -> T:
    with _COMMITTERS_GUARD:
        committer = _COMMITTERS.get(id(engine))
        if committer is None or committer.engine is not engine or not committer.running:
            committer = GroupCommitter(engine)
            try:
                committer.start()
            except RuntimeError as exc:  # no thread can be started: fail closed like a failed write
                raise WriterStopped("the group-commit writer could not start") from exc
            _COMMITTERS[id(engine)] = committer
        future = committer.submit(work)
    return await future


def stop_group_commit(engine: Engine) -> None:
    """Stop the engine's group-commit writer, if one runs: before the engine is disposed (PostgreSQL will not
    drop a database that still has a connection)."""
    with _COMMITTERS_GUARD:
        committer = _COMMITTERS.pop(id(engine), None)
    if committer is not None:
        committer.stop()


def group_committer(engine: Engine) -> GroupCommitter | None:
    """The engine's running group-commit writer, if any (tests and the benchmark read its counters)."""
    with _COMMITTERS_GUARD:
        return _COMMITTERS.get(id(engine))
