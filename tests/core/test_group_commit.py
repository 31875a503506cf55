"""Group commit (gateway/core/database.py): concurrent writes share one transaction and one commit, each is
rolled back alone when it fails, all fail when the commit fails, and none is answered before it is durable.

Run on SQLite and on PostgreSQL (the `backend` parameter of the database fixtures)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gateway.core.database import (
    GroupCommitter,
    WriterStopped,
    group_committer,
    make_engine,
    run_db,
    stop_group_commit,
)
from tests.core.group_commit_support import gated, queued_behind_first


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        # Checked only at COMMIT: lets a test make the batch's commit itself fail.
        connection.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES "
                                "parent (id) DEFERRABLE INITIALLY DEFERRED)"))
    yield engine
    stop_group_commit(engine)
    engine.dispose()


def _ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [int(i) for i in connection.execute(text("SELECT id FROM parent ORDER BY id")).scalars()]


def _insert(value: int, *, gate: threading.Event | None = None):  # type: ignore[no-untyped-def]
    def work(session: Session) -> int:
        if gate is not None:
            gate.wait(timeout=10)  # hold the first batch open while the others queue up
        session.execute(text("INSERT INTO parent (id) VALUES (:id)"), {"id": value})
        return value

    return work


async def test_writes_waiting_together_share_one_transaction(engine: Engine) -> None:
    outcomes = await queued_behind_first(engine, [_insert(i) for i in range(1, 11)])

    assert outcomes == list(range(1, 11))
    assert _ids(engine) == list(range(1, 11))
    committer = group_committer(engine)
    assert committer is not None
    # The first write went alone; the nine that queued behind it went in one transaction.
    assert (committer.batches, committer.writes) == (2, 10)


async def test_a_failing_write_is_rolled_back_alone(engine: Engine) -> None:
    def duplicate(session: Session) -> int:
        session.execute(text("INSERT INTO parent (id) VALUES (50)"))
        session.execute(text("INSERT INTO parent (id) VALUES (3)"))  # already written by an earlier work
        return 50

    outcomes = await queued_behind_first(engine, [_insert(1), _insert(2), _insert(3), duplicate, _insert(4)])

    assert outcomes[:3] == [1, 2, 3] and outcomes[4] == 4
    assert isinstance(outcomes[3], IntegrityError)
    assert _ids(engine) == [1, 2, 3, 4]  # nothing of the failed work, not even its first insert (50)


async def test_a_batch_without_failures_takes_no_savepoints_and_one_with_a_failure_runs_again(engine: Engine) -> None:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: statements.append(statement.split()[0].upper()))
    runs: list[int] = []

    def counted(value: int):  # type: ignore[no-untyped-def]
        def work(session: Session) -> int:
            runs.append(value)
            return int(_insert(value)(session))
        return work

    assert await queued_behind_first(engine, [counted(i) for i in range(1, 6)]) == [1, 2, 3, 4, 5]
    assert "SAVEPOINT" not in statements and sorted(runs) == [1, 2, 3, 4, 5]

    statements.clear()
    runs.clear()

    def failing(session: Session) -> None:
        raise RuntimeError("this one fails")

    outcomes = await queued_behind_first(engine, [counted(6), counted(7), failing, counted(8)])
    assert outcomes[:2] == [6, 7] and isinstance(outcomes[2], RuntimeError) and outcomes[3] == 8
    # 6 went alone; 7 ran in the pass without savepoints, which the failure rolled back, then again in the
    # savepoint pass (8 never ran in the first pass: it stopped at the failure).
    assert sorted(runs) == [6, 7, 7, 8] and "SAVEPOINT" in statements
    assert _ids(engine) == list(range(1, 9))


async def test_a_work_that_rolls_the_batch_back_itself_does_not_commit_on_its_own(engine: Engine) -> None:
    """Against the rules (run_db's docstring), but it must not leave writes committed behind the writer's back
    while their callers hear that nothing was written."""
    def rogue(session: Session) -> int:
        session.execute(text("INSERT INTO parent (id) VALUES (98)"))
        session.rollback()
        session.execute(text("INSERT INTO parent (id) VALUES (99)"))
        return 99

    outcomes = await queued_behind_first(engine, [_insert(1), _insert(2), rogue, _insert(3)])
    assert outcomes == [1, 2, 99, 3]
    assert _ids(engine) == [1, 2, 3, 99]


async def test_a_failed_commit_fails_every_write_of_the_batch(engine: Engine) -> None:
    def orphan(session: Session) -> str:
        session.execute(text("INSERT INTO child (id, parent_id) VALUES (1, 999)"))  # fails only at COMMIT
        return "orphan"

    outcomes = await queued_behind_first(engine, [_insert(1), _insert(2), orphan, _insert(3)])

    assert outcomes[0] == 1  # the first went alone and committed
    assert all(isinstance(o, IntegrityError) for o in outcomes[1:]), outcomes
    assert _ids(engine) == [1]  # none of the batch is durable, and none was answered as if it were


async def test_a_lone_failing_write_leaves_nothing(engine: Engine) -> None:
    def half(session: Session) -> None:
        session.execute(text("INSERT INTO parent (id) VALUES (7)"))
        raise RuntimeError("the work itself failed")

    with pytest.raises(RuntimeError):
        await run_db(engine, half, write=True, group=True)
    assert await run_db(engine, _insert(8), write=True, group=True) == 8
    assert _ids(engine) == [8]


async def test_an_answer_means_the_write_is_visible_to_every_other_connection(engine: Engine) -> None:
    for value in range(1, 6):
        await run_db(engine, _insert(value), write=True, group=True)
        assert value in _ids(engine)  # read on a fresh connection right after the answer


async def test_the_writer_stops_when_idle_and_is_started_again(engine: Engine) -> None:
    committer = GroupCommitter(engine, idle_seconds=0.1)
    committer.start()
    loop_future = committer.submit(_insert(1))
    assert await loop_future == 1
    await asyncio.to_thread(committer.join, 5)  # it ends by itself after 0.1 s without work
    assert not committer.running
    # The engine's own writer (started on demand) still serves writes.
    assert await run_db(engine, _insert(2), write=True, group=True) == 2
    assert _ids(engine) == [1, 2]


async def test_stopping_commits_what_is_queued_and_closes_the_connection(engine: Engine) -> None:
    committer = GroupCommitter(engine)
    committer.start()
    futures = [committer.submit(_insert(i)) for i in range(1, 4)]
    await asyncio.to_thread(committer.stop)
    assert not committer.running
    assert [await f for f in futures] == [1, 2, 3]
    assert _ids(engine) == [1, 2, 3]
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # it dies on purpose
async def test_a_writer_that_dies_fails_its_writes_instead_of_leaving_them_waiting(engine: Engine) -> None:
    def fatal(session: Session) -> None:
        session.execute(text("INSERT INTO parent (id) VALUES (9)"))
        raise SystemExit  # not an error of the database: it ends the writer thread

    outcomes = await queued_behind_first(engine, [fatal, _insert(1), _insert(2)], delay=0.2)

    # The dying batch and anything queued behind it fail (callers map this to 503, nothing relayed) ...
    assert all(isinstance(o, WriterStopped) for o in outcomes), outcomes
    assert _ids(engine) == []
    # ... and the next write gets a new writer.
    assert await run_db(engine, _insert(3), write=True, group=True) == 3
    assert _ids(engine) == [3]


async def test_a_write_whose_request_was_cancelled_before_it_ran_is_not_written(engine: Engine) -> None:
    gate = threading.Event()
    first = asyncio.ensure_future(run_db(engine, gated(_insert(1), gate), write=True, group=True))
    await asyncio.sleep(0.05)  # the writer holds the first batch open
    cancelled = asyncio.ensure_future(run_db(engine, _insert(2), write=True, group=True))
    kept = asyncio.ensure_future(run_db(engine, _insert(3), write=True, group=True))
    await asyncio.sleep(0.05)
    cancelled.cancel()  # e.g. the client went away while its write was queued
    gate.set()
    assert await first == 1 and await kept == 3
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert _ids(engine) == [1, 3]


async def test_a_private_writer_going_idle_leaves_the_engines_own_writer_registered(engine: Engine) -> None:
    assert await run_db(engine, _insert(1), write=True, group=True) == 1
    registered = group_committer(engine)
    assert registered is not None and registered.running
    private = GroupCommitter(engine, idle_seconds=0.1)
    private.start()
    assert await private.submit(_insert(2)) == 2
    await asyncio.to_thread(private.join, 5)
    assert not private.running
    assert group_committer(engine) is registered and registered.running


async def test_a_kept_connection_the_database_dropped_is_replaced_before_the_batch(engine: Engine) -> None:
    """PostgreSQL restarted, failed over or timed out the writer's idle connection: the next write still lands."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a server that drops connections: PostgreSQL")

    def backend(session: Session) -> int:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())

    committer = GroupCommitter(engine, idle_seconds=120)  # keeps its connection however long the wait below
    committer.start()
    try:
        before = await committer.submit(backend)
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before})
            for _ in range(100):
                if not other.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                     {"pid": before}).scalar_one():
                    break
                await asyncio.sleep(0.05)
        assert committer.running
        assert await committer.submit(_insert(1)) == 1
        assert _ids(engine) == [1]
        assert await committer.submit(backend) != before
    finally:
        await asyncio.to_thread(committer.stop)
