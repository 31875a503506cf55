"""Reliable delivery: the transactional outbox retries, dead-letters visibly, and never delivers twice."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, select

from gateway.core.settings import Settings
from gateway.exchange import delivery as exchange_delivery
from gateway.exchange.models import ExchangeRow
from gateway.exchange_log.models import LogEntry
from gateway.relay.breaker import CircuitBreakers
from gateway.relay.models import DeliveryJob
from tests.support import BSN_CHILD, WIJKTEAM, melding_request, token_for


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"delivery_max_attempts": 4, "breaker_failure_threshold": 100})


async def _sim(simulators: dict[str, FastAPI], method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulators["veilig_thuis"]),
                                 base_url="http://sim") as sim:
        response = await sim.request(method, path, json=body)
        return response.json() if response.content else None


async def _push(client: httpx.AsyncClient, settings: Settings) -> httpx.Response:
    headers = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}
    return await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)


async def _wait_status(app: FastAPI, exchange_id: str, wanted: str, within: float = 10.0) -> ExchangeRow:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        with Session(app.state.db) as session:
            row = session.get(ExchangeRow, exchange_id)
        if row is not None and row.status == wanted:
            return row
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"status stayed {row.status if row else None}, wanted {wanted}")
        await asyncio.sleep(0.05)


def _accounting(app: FastAPI) -> tuple[int, int, int]:
    """(accepted, delivered, dead-lettered) — accepted must equal the other two once the outbox is idle."""
    with Session(app.state.db) as session:
        accepted = len(session.exec(select(ExchangeRow).where(col(ExchangeRow.outcome) == "allow")).all())
        jobs = session.exec(select(DeliveryJob.status)).all()
    return accepted, jobs.count("delivered"), jobs.count("dead")


def _deliveries(app: FastAPI) -> list[dict[str, Any]]:
    with Session(app.state.db) as session:
        rows = session.exec(select(LogEntry).where(col(LogEntry.kind) == "delivery")).all()
    return [json.loads(r.entry) for r in rows]


# Each fault test runs a few times in one session: flakiness in retry timing should show here, not in production.
ITERATIONS = pytest.mark.parametrize("iteration", range(3))


@ITERATIONS
async def test_a_failing_partner_is_retried_until_it_takes_the_delivery_once(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI],
        iteration: int) -> None:
    await _sim(simulators, "POST", "/_sim/faults", {"fail_next": 2, "status": 500})
    response = await _push(client, settings)
    assert response.status_code == 202, response.text
    result = response.json()
    assert result["status"] == "queued"
    assert result["delivery"]["reason"] == "partner_error"
    await _wait_status(app, result["exchange_id"], "delivered")
    assert len(await _sim(simulators, "GET", "/_sim/received")) == 1
    deliveries = _deliveries(app)
    assert [(d["outcome"], d["attempts"]) for d in deliveries] == [("delivered", 3)]
    assert _accounting(app) == (1, 1, 0)


async def test_a_partner_that_stays_down_ends_in_a_visible_dead_letter_that_can_be_retried(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI]) -> None:
    await _sim(simulators, "POST", "/_sim/faults", {"fail_next": 100, "status": 503})
    exchange_id = (await _push(client, settings)).json()["exchange_id"]
    row = await _wait_status(app, exchange_id, "failed")
    summary = json.loads(row.summary)
    assert summary["delivery"]["status"] == "failed"
    assert [d["outcome"] for d in _deliveries(app)] == ["failed"]
    assert _accounting(app) == (1, 0, 1)
    with Session(app.state.db) as session:
        job = session.get(DeliveryJob, exchange_id)
    assert job is not None and job.attempts == 4 and job.sealed_delivery  # kept, sealed, for a manual retry
    assert job.sealed_delivery.startswith("SEAL1.")
    assert BSN_CHILD not in job.model_dump_json() and "Jansen" not in job.model_dump_json()
    await _sim(simulators, "DELETE", "/_sim/faults")
    assert await exchange_delivery.retry_dead_letter(app.state.db, exchange_id)
    await _wait_status(app, exchange_id, "delivered")
    assert len(await _sim(simulators, "GET", "/_sim/received")) == 1
    assert _accounting(app) == (1, 1, 0)
    assert not await exchange_delivery.retry_dead_letter(app.state.db, exchange_id)  # only dead letters


@ITERATIONS
async def test_many_exchanges_against_a_flaky_partner_all_arrive_exactly_once(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI],
        iteration: int) -> None:
    await _sim(simulators, "POST", "/_sim/faults", {"fail_next": 5, "status": 500})
    responses = await asyncio.gather(*(_push(client, settings) for _ in range(8)))
    ids = [r.json()["exchange_id"] for r in responses]
    for exchange_id in ids:
        await _wait_status(app, exchange_id, "delivered")
    received = await _sim(simulators, "GET", "/_sim/received")
    assert sorted(m["exchange_id"] for m in received) == sorted(ids)
    assert _accounting(app) == (8, 8, 0)


def test_circuit_breaker_opens_after_failures_and_half_opens_after_the_cooldown() -> None:
    now = [0.0]
    breakers = CircuitBreakers(threshold=3, cooldown_seconds=10, clock=lambda: now[0])
    for _ in range(3):
        assert breakers.allow("vt")
        breakers.failed("vt")
    assert not breakers.allow("vt")
    assert breakers.allow("rvdk")  # per partner
    now[0] = 10.0
    assert breakers.allow("vt")  # one trial call
    assert not breakers.allow("vt")  # the others wait for its outcome
    breakers.succeeded("vt")
    assert breakers.allow("vt")


@ITERATIONS
async def test_the_same_request_twice_with_one_key_is_delivered_once_even_while_retrying(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI],
        iteration: int) -> None:
    await _sim(simulators, "POST", "/_sim/faults", {"fail_next": 2, "status": 500})
    headers = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}",
               "Idempotency-Key": f"melding-retry-{iteration}"}
    first = await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)
    second = await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)
    assert first.json()["exchange_id"] == second.json()["exchange_id"]
    assert second.headers["idempotent-replayed"] == "true"
    await _wait_status(app, first.json()["exchange_id"], "delivered")
    assert len(await _sim(simulators, "GET", "/_sim/received")) == 1
    assert _accounting(app) == (1, 1, 0)


async def test_operators_list_and_retry_dead_letters_from_the_command_line(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main as cli_main
    from gateway.core.settings import get_settings

    await _sim(simulators, "POST", "/_sim/faults", {"fail_next": 100, "status": 500})
    exchange_id = (await _push(client, settings)).json()["exchange_id"]
    await _wait_status(app, exchange_id, "failed")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        assert cli_main(["deliveries", "list", "--status", "dead"]) == 0
        listing = capsys.readouterr().out
        assert exchange_id in listing and "last_error=partner_error" in listing
        await _sim(simulators, "DELETE", "/_sim/faults")
        assert await asyncio.to_thread(cli_main, ["deliveries", "retry", exchange_id]) == 0
        await _wait_status(app, exchange_id, "delivered")
        assert await asyncio.to_thread(cli_main, ["deliveries", "retry", exchange_id]) == 1
    finally:
        get_settings.cache_clear()


async def test_a_late_outcome_never_overrides_a_settled_delivery(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    exchange_id = (await _push(client, settings)).json()["exchange_id"]
    await _wait_status(app, exchange_id, "delivered")
    deps = app.state.exchange
    await exchange_delivery.schedule_retry(deps, exchange_id, "unreachable", 0.0)  # an attempt that timed out late
    await exchange_delivery.complete_delivery(deps, exchange_id, "failed", "unreachable", None)
    with Session(app.state.db) as session:
        row = session.get(ExchangeRow, exchange_id)
        job = session.get(DeliveryJob, exchange_id)
    assert row is not None and row.status == "delivered"
    assert job is not None and job.status == "delivered"
    assert [d["outcome"] for d in _deliveries(app)] == ["delivered"]
