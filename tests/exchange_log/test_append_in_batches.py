"""Appends within one transaction (a group-commit batch): the log's append lock is asked for once, the tail is
read once, and a write rolled back to its savepoint leaves no gap and no broken link. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, text
from sqlmodel import Session

from gateway.core.database import make_engine, run_db, stop_group_commit, upgrade_to_head
from gateway.exchange_log import service as log_service
from gateway.exchange_log.verify import rows_from_database, verify
from tests.core.group_commit_support import queued_behind_first

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_database_url)
    upgrade_to_head(engine)
    yield engine
    stop_group_commit(engine)
    engine.dispose()


def _append(n: int, *, fail: bool = False):  # type: ignore[no-untyped-def]
    def work(session: Session) -> int:
        position = log_service.append(session, kind="exchange", record={"purpose": "melding", "n": n},
                                      now=NOW).position
        if fail:
            raise RuntimeError("the work failed after its append")
        return position

    return work


async def _batch(engine: Engine, works: list) -> list:  # type: ignore[type-arg]
    """A first write alone (held open), then `works` queued behind it into one batch."""
    return await queued_behind_first(engine, [_append(0), *works])


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: seen.append(" ".join(statement.split())))
    return seen


def _log_verifies(engine: Engine) -> list[int]:
    rows = list(rows_from_database(engine.url.render_as_string(hide_password=False)))
    report = verify(rows, note_text=None, public_key=None)
    assert report.findings == [], report.findings
    return [r.position for r in rows]


async def test_a_batch_asks_for_the_lock_and_the_tail_once(engine: Engine) -> None:
    seen = _statements(engine)
    outcomes = await _batch(engine, [_append(i) for i in range(1, 9)])
    assert outcomes == list(range(9))
    tail_reads = [s for s in seen if s.startswith("SELECT exchange_log.position, exchange_log.leaf_hash")]
    locks = [s for s in seen if "pg_advisory_xact_lock" in s]
    assert len(tail_reads) == 2  # one per transaction: the first write alone, then the batch of eight
    assert len(locks) == (2 if engine.dialect.name == "postgresql" else 0)  # at each batch's BEGIN only
    assert _log_verifies(engine) == list(range(9))


async def test_a_write_rolled_back_to_its_savepoint_leaves_no_gap(engine: Engine) -> None:
    outcomes = await _batch(engine, [_append(1), _append(2, fail=True), _append(3), _append(4, fail=True),
                                     _append(5)])
    assert outcomes[0] == 0 and outcomes[1] == 1 and outcomes[3] == 2 and outcomes[5] == 3
    assert isinstance(outcomes[2], RuntimeError) and isinstance(outcomes[4], RuntimeError)
    assert _log_verifies(engine) == [0, 1, 2, 3]
    # Later appends, in new transactions, go on from the tail.
    assert await run_db(engine, _append(6), write=True, group=True) == 4
    assert _log_verifies(engine) == [0, 1, 2, 3, 4]


async def test_appends_outside_group_commit_ask_once_per_transaction(engine: Engine) -> None:
    seen = _statements(engine)

    def three(session: Session) -> list[int]:
        return [log_service.append(session, kind="exchange", record={"n": i}, now=NOW).position for i in range(3)]

    assert await run_db(engine, three, write=True) == [0, 1, 2]
    assert await run_db(engine, three, write=True) == [3, 4, 5]
    locks = [s for s in seen if "pg_advisory_xact_lock" in s]
    assert len(locks) == (2 if engine.dialect.name == "postgresql" else 0)
    assert _log_verifies(engine) == list(range(6))


async def test_a_lock_taken_inside_a_savepoint_that_was_rolled_back_is_taken_again(engine: Engine) -> None:
    """PostgreSQL releases an advisory lock taken inside a savepoint when that savepoint is rolled back."""
    if engine.dialect.name != "postgresql":
        pytest.skip("an advisory lock: PostgreSQL")

    def held(session: Session) -> int:
        return int(session.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                         "AND pid = pg_backend_pid()")).scalar_one())

    def work(session: Session) -> tuple[int, int]:
        nested = session.begin_nested()
        log_service.append(session, kind="exchange", record={"n": 1}, now=NOW)
        nested.rollback()
        released = held(session)
        log_service.append(session, kind="exchange", record={"n": 2}, now=NOW)
        return released, held(session)

    assert await run_db(engine, work, write=True) == (0, 1)
    assert _log_verifies(engine) == [0]


def test_a_savepoint_rolled_back_on_a_lost_connection_raises_nothing_of_the_tail(engine: Engine) -> None:
    """The tail's listener must not mask the error being handled when the connection itself is gone."""
    with engine.connect() as connection:
        connection.begin()
        nested = connection.begin_nested()
        connection.invalidate()
        nested.rollback()  # with a listener reading the lost connection's info: PendingRollbackError
