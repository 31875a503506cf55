"""Bad input gets a clear RFC 9457 answer, never a 500, and nothing is relayed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.core.settings import Settings
from tests.support import BSN_CHILD, WIJKTEAM, melding_request, token_for


def _assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert problem["type"].endswith(f"/problems/{code}")
    assert problem["title"] and problem["detail"]
    assert problem["instance"].startswith("urn:uuid:")
    return problem


@pytest.fixture
async def headers(client: httpx.AsyncClient, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}


async def _nothing_relayed(simulators: dict[str, FastAPI]) -> None:
    for app in simulators.values():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
            assert (await c.get("/_sim/received")).json() == []


async def test_malformed_json(client: httpx.AsyncClient, headers: dict[str, str],
                             simulators: dict[str, FastAPI]) -> None:
    response = await client.post("/v1/exchanges/push", content=b'{"recipient": "vt-utrecht",',
                                 headers=headers | {"content-type": "application/json"})
    _assert_problem(response, 400, "malformed-json")
    await _nothing_relayed(simulators)


async def test_wrong_content_type(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post("/v1/exchanges/push", content=json.dumps(melding_request()).encode(),
                                 headers=headers | {"content-type": "text/plain"})
    _assert_problem(response, 415, "unsupported-media-type")


async def test_oversized_body(client: httpx.AsyncClient, headers: dict[str, str], settings: Settings) -> None:
    body = melding_request()
    body["dossier"]["signals"][0]["situation"] = "x" * 9_000
    body["dossier"]["observations"] = [{"text": "y" * 9_000} for _ in range(150)]
    response = await client.post("/v1/exchanges/push", json=body, headers=headers)
    _assert_problem(response, 413, "payload-too-large")


async def test_unknown_recipient(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post("/v1/exchanges/push", json=melding_request(recipient="vt-nergenshuizen"),
                                 headers=headers)
    _assert_problem(response, 422, "unknown-organisation")


async def test_invalid_bsn_is_named_without_echoing_it(client: httpx.AsyncClient, headers: dict[str, str],
                                                       simulators: dict[str, FastAPI]) -> None:
    body = melding_request()
    body["dossier"]["persons"][0]["bsn"] = "111222334"
    response = await client.post("/v1/exchanges/push", json=body, headers=headers)
    problem = _assert_problem(response, 422, "validation-failed")
    assert problem["invalid_params"] == [{"name": "dossier.persons.0.bsn", "code": "invalid_bsn",
                                          "reason": problem["invalid_params"][0]["reason"]}]
    assert "111222334" not in response.text
    await _nothing_relayed(simulators)


async def test_unknown_fields_and_wrong_types_are_listed(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    body = melding_request()
    body["dossier"]["persons"][0]["shoe_size"] = 38
    body["context"]["urgency"] = "whenever"
    response = await client.post("/v1/exchanges/push", json=body, headers=headers)
    problem = _assert_problem(response, 422, "validation-failed")
    names = {p["name"] for p in problem["invalid_params"]}
    assert names == {"dossier.persons.0.shoe_size", "context.urgency"}


async def test_an_organisation_cannot_act_for_another(client: httpx.AsyncClient, headers: dict[str, str],
                                                      simulators: dict[str, FastAPI], app: FastAPI) -> None:
    response = await client.post("/v1/exchanges/push", json=melding_request(sender="vt-utrecht"), headers=headers)
    _assert_problem(response, 403, "acting-for-another-organisation")
    await _nothing_relayed(simulators)
    from sqlmodel import Session, select

    from gateway.exchange_log.models import LogEntry

    with Session(app.state.db) as session:
        entries = [json.loads(e.entry) for e in session.exec(select(LogEntry)).all()]
    assert [(e["kind"], e["caller"], e["reason"]) for e in entries] == [
        ("rejected_request", "wijkteam-utrecht-west", "acting-for-another-organisation")]


async def test_bad_idempotency_key(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post("/v1/exchanges/push", json=melding_request(),
                                 headers=headers | {"Idempotency-Key": "short"})
    _assert_problem(response, 400, "bad-request")


async def test_unknown_route_and_method(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    _assert_problem(await client.get("/v1/nothing-here", headers=headers), 404, "not-found")
    _assert_problem(await client.delete("/v1/exchanges/push", headers=headers), 405, "method-not-allowed")


async def test_errors_never_echo_identifiers(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    body = melding_request()
    body["dossier"]["persons"][0]["birth_date"] = f"born-{BSN_CHILD}"
    response = await client.post("/v1/exchanges/push", json=body, headers=headers)
    _assert_problem(response, 422, "validation-failed")
    assert BSN_CHILD not in response.text


async def test_problem_types_are_documented(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/problems/exchange-refused")).json()
    assert doc["status"] == 403
    assert (await client.get("/problems/no-such-problem")).status_code == 404
