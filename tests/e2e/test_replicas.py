"""Two real gateway processes on one database append to one exchange log under concurrent load.

On PostgreSQL they are two replicas; on SQLite two processes on one file (`uvicorn --workers 2`), whose writers
take turns through SQLite's lock and the gateway's cross-process write lock (`SqliteWriteLock`).

Afterwards the database must hold one consistent log: positions 0..N-1 without gaps or duplicates, exactly one
exchange and one delivery record per exchange, and every leaf hash recomputable; and the partner simulator must
have received exactly one message per exchange. Loopback only, bounded in time, processes always stopped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from gateway.auth.client import fetch_token
from gateway.core.database import make_engine, upgrade_to_head
from gateway.exchange_log.service import leaf_hash
from tests.e2e.processes import free_block, running, wait_ready
from tests.pg import PostgresServer, PostgresUnavailable
from tests.support import WIJKTEAM, melding_request

pytestmark = pytest.mark.e2e
EXCHANGES = 200
CONCURRENCY = 32
SIMULATORS = ("veilig_thuis", "rvdk", "gi", "wijkteam", "research")


async def _push_all(urls: list[str], token: str) -> list[httpx.Response]:
    limit = asyncio.Semaphore(CONCURRENCY)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:
        async def one(i: int) -> httpx.Response:
            async with limit:
                return await client.post(f"{urls[i % len(urls)]}/v1/exchanges/push", json=melding_request(),
                                         headers=headers)

        return await asyncio.gather(*(one(i) for i in range(EXCHANGES)))


@contextlib.contextmanager
def _database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database: the processes then start on an up-to-date schema, as after the chart's migration Job
    (`gateway db upgrade`)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'gateway.db'}"
        engine = make_engine(url)
        try:
            upgrade_to_head(engine)
        finally:
            engine.dispose()
        yield url
        return
    postgres: PostgresServer | PostgresUnavailable = request.getfixturevalue("postgres")
    if isinstance(postgres, PostgresUnavailable):
        pytest.skip(f"PostgreSQL unavailable: {postgres}")
    with postgres.database(template=request.getfixturevalue("postgres_template")) as url:
        yield url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_replicas_keep_one_gapless_log(backend: str, tmp_path: Path, dev_keys: Path,
                                           request: pytest.FixtureRequest) -> None:
    shutil.copytree(dev_keys, tmp_path / "keys")
    base = free_block(3)
    ports = [base, base + 1, base + 2]
    sim_url, urls = f"http://127.0.0.1:{ports[0]}", [f"http://127.0.0.1:{p}" for p in ports[1:]]
    with _database(backend, tmp_path, request) as database_url, \
            running([sys.executable, "-m", "adapters.simulators", "veilig_thuis", "--port", str(ports[0])],
                     dict(os.environ), tmp_path / "sim.log") as sim:
        wait_ready(sim_url, sim, tmp_path / "sim.log", "/health")
        env = {**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_KEYS_DIR": str(tmp_path / "keys"),
               "GATEWAY_PUBLIC_URL": urls[0], "GATEWAY_LOG_LEVEL": "WARNING",
               # One client and one professional send everything here; the quotas are not what is under test.
               **{f"GATEWAY_QUOTA_{who}_{what}": "1000000" for who in ("ORGANISATION", "PROFESSIONAL")
                  for what in ("PER_MINUTE", "BURST")},
               **{f"GATEWAY_SIM_{name.upper()}_URL": sim_url for name in SIMULATORS}}
        with contextlib.ExitStack() as replicas:
            for i, (port, url) in enumerate(zip(ports[1:], urls, strict=True)):
                log_file = tmp_path / f"gateway-{i}.log"
                process = replicas.enter_context(running(
                    [sys.executable, "-m", "uvicorn", "gateway.main:app_factory", "--factory", "--host", "127.0.0.1",
                     "--port", str(port)], env, log_file))
                wait_ready(url, process, log_file)
            token = fetch_token(base_url=urls[0], client_id=WIJKTEAM,
                                private_key_path=tmp_path / "keys" / "clients" / f"{WIJKTEAM}.pem")
            started = time.monotonic()
            responses = asyncio.run(asyncio.wait_for(_push_all(urls, token), timeout=240))
            elapsed = time.monotonic() - started
            received = httpx.get(f"{sim_url}/_sim/received", timeout=10).json()
        assert [r.status_code for r in responses] == [201] * EXCHANGES, responses[0].text
        assert {r.json()["status"] for r in responses} == {"delivered"}
        exchange_ids = {r.json()["exchange_id"] for r in responses}
        assert len(exchange_ids) == EXCHANGES
        _check_log(database_url, exchange_ids)
    if backend == "sqlite":  # the processes' writers waited for each other through the lock file beside it
        assert (tmp_path / "gateway.db.write-lock").exists()
    delivered = collections.Counter(m["body"]["berichtkop"]["berichtId"] for m in received)
    assert delivered == dict.fromkeys(exchange_ids, 1)
    assert elapsed < 240


def _check_log(database_url: str, exchange_ids: set[str]) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT position, kind, exchange_id, entry, leaf_hash FROM exchange_log ORDER BY position")).all()
            exchange_rows = connection.execute(text("SELECT count(*) FROM exchange")).scalar_one()
    finally:
        engine.dispose()
    assert [row.position for row in rows] == list(range(len(rows)))  # gapless, no duplicates, starts at 0
    kinds = collections.Counter((row.exchange_id, row.kind) for row in rows)
    for exchange_id in exchange_ids:
        assert kinds[(exchange_id, "exchange")] == 1 and kinds[(exchange_id, "delivery")] == 1
    assert {row.exchange_id for row in rows} == exchange_ids
    assert exchange_rows == len(exchange_ids)
    assert all(leaf_hash(row.entry.encode()) == row.leaf_hash for row in rows)
