"""Health, readiness, metrics, OpenAPI and the log check: the operator's surface."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from gateway.cli import main as cli_main
from gateway.core.settings import Settings, get_settings
from tests.support import BSN_CHILD, WIJKTEAM, melding_request, token_for


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"keys": True, "database": True, "policy": True}


async def test_metrics_count_exchanges_without_personal_data(client: httpx.AsyncClient, settings: Settings) -> None:
    headers = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}
    await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)
    await client.post("/v1/exchanges/push", json=melding_request(recipient="gi-utrecht", purpose="informatie_ots"),
                      headers=headers)
    await client.post("/v1/exchanges/push", json=melding_request(purpose="made_up_purpose"), headers=headers)
    metrics = (await client.get("/metrics")).text
    assert 'gateway_exchanges_total{flow="F2",outcome="allow",pattern="push",purpose="melding"} 1.0' in metrics
    assert 'outcome="deny",pattern="push",purpose="informatie_ots"' in metrics
    assert 'purpose="other"' in metrics and "made_up_purpose" not in metrics  # closed label sets
    assert "gateway_policy_decision_seconds_count" in metrics
    assert "gateway_log_write_seconds_count" in metrics
    assert 'gateway_deliveries_total{adapter="veilig_thuis",operation="deliver",outcome="ok"} 1.0' in metrics
    assert BSN_CHILD not in metrics


async def test_metrics_show_the_policy_decision_cache(client: httpx.AsyncClient, settings: Settings) -> None:
    headers = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}
    for _ in range(3):  # the same melding three times: one evaluation, then answers from the cache
        assert (await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)).status_code == 201
    metrics = (await client.get("/metrics")).text
    assert 'gateway_policy_decision_cache_total{result="hit"} 2.0' in metrics
    assert 'gateway_policy_decision_cache_total{result="miss"} 1.0' in metrics


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"/oauth/token", "/v1/exchanges/push", "/v1/exchanges/pull", "/v1/exchanges/{exchange_id}"} <= set(
        spec["paths"])
    push = spec["paths"]["/v1/exchanges/push"]["post"]
    assert push["security"] == [{"oauth2": []}]
    assert "application/problem+json" in push["responses"]["422"]["content"]
    assert "Gezinsdossier" in spec["components"]["schemas"]
    assert "x-category" in str(spec["components"]["schemas"]["Person"])


async def test_log_check_detects_a_record_changed_in_the_database(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    headers = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}
    await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)
    # The command line reads its settings from the environment, as an operator runs it.
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        assert cli_main(["log", "check"]) == 0
        with app.state.db.begin() as connection:
            connection.execute(text("UPDATE exchange_log SET entry = replace(entry, 'melding', 'adviesvraag') "
                                    "WHERE position = 0"))
        assert cli_main(["log", "check"]) == 1
    finally:
        get_settings.cache_clear()
