"""Pull exchanges (bevragen): decide first, fetch through the holder's adapter, minimise, log, then answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import Session, col, select

from gateway.core.settings import Settings
from gateway.dossier.fields import flatten
from gateway.exchange_log.models import LogEntry
from tests.support import BSN_CHILD, GI, token_for

OTS = {"kind": "ots", "reference": "C/16/123456 / JE RK 26-1", "start": "2026-06-01", "end": "2027-06-01"}


def _pull(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "holder": "wijkteam-utrecht-west", "purpose": "informatie_ots",
        "professional": {"id": "jb-17", "role": "jeugdbeschermer"},
        "context": {"kader": "gedwongen_civiel", "measure": OTS},
        "subjects": [{"ref": "k1", "role": "kind", "bsn": BSN_CHILD}],
        "categories": ["identification", "help", "signals"],
    }
    body.update(overrides)
    return body


async def _headers(client: httpx.AsyncClient, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(client, settings, GI)}"}


def _entries(app: FastAPI) -> list[dict[str, Any]]:
    with Session(app.state.db) as session:
        rows = session.exec(select(LogEntry).order_by(col(LogEntry.position))).all()
    return [json.loads(r.entry) for r in rows]


async def test_gi_obtains_requested_categories_during_an_ots(client: httpx.AsyncClient, settings: Settings,
                                                              app: FastAPI) -> None:
    response = await client.post("/v1/exchanges/pull", json=_pull(), headers=await _headers(client, settings))
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["flow"], result["status"], result["pattern"]) == ("F7", "fetched", "pull")
    assert (result["sender"], result["recipient"]) == ("wijkteam-utrecht-west", "gi-utrecht")
    categories = {f.category for f in flatten(result["data"])} - {"structure"}
    assert categories and categories <= {"identification", "help", "signals"}
    assert "finances" not in result["data"] and "plan" not in result["data"]  # holder had them; not asked for
    dropped = {f["field"] for f in result["fields"] if f["treatment"] == "drop"}
    assert {"finances.debts", "plan.type"} <= dropped
    entries = _entries(app)
    assert len(entries) == 1
    record = entries[0]
    assert record["pattern"] == "pull" and record["status"] == "fetched"
    assert record["relayed_payload_hash"].startswith("sha256:")
    assert "Voorbeeld" not in json.dumps(entries)  # the fetched data is never logged


async def test_pull_without_an_active_ots_fetches_nothing(client: httpx.AsyncClient, settings: Settings,
                                                          simulators: dict[str, FastAPI], app: FastAPI) -> None:
    # A fault armed on the holder's query endpoint would turn any fetch into a failure: it must stay unused.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulators["wijkteam"]),
                                 base_url="http://sim") as sim:
        await sim.post("/_sim/faults", json={"fail_next": 1, "status": 500, "scope": "query"})
    expired = {**OTS, "start": "2024-01-01", "end": "2025-01-01"}
    for context in ({"kader": "gedwongen_civiel"}, {"kader": "gedwongen_civiel", "measure": expired}):
        response = await client.post("/v1/exchanges/pull", json=_pull(context=context),
                                     headers=await _headers(client, settings))
        assert response.status_code == 403, response.text
        exchange = response.json()["exchange"]
        assert exchange["status"] == "refused" and exchange["reasons"]
        assert exchange["delivery"]["status"] == "not_relayed"
    later = await client.post("/v1/exchanges/pull", json=_pull(), headers=await _headers(client, settings))
    assert later.status_code == 502  # the armed fault was still there: nothing had been fetched before
    assert [e["status"] for e in _entries(app)] == ["refused", "refused", "failed"]


async def test_unknown_household_at_the_holder_is_a_visible_failure(client: httpx.AsyncClient,
                                                                    settings: Settings) -> None:
    body = _pull(subjects=[{"ref": "k1", "role": "kind", "bsn": "999999990"}])
    response = await client.post("/v1/exchanges/pull", json=body, headers=await _headers(client, settings))
    assert response.status_code == 502
    problem = response.json()
    assert problem["code"] == "delivery-failed"
    assert problem["exchange"]["delivery"]["reason"] == "rejected"


async def test_replayed_pull_reports_the_outcome_without_data(client: httpx.AsyncClient,
                                                              settings: Settings) -> None:
    headers = await _headers(client, settings) | {"Idempotency-Key": "pull-ots-2026-0001"}
    first = await client.post("/v1/exchanges/pull", json=_pull(), headers=headers)
    second = await client.post("/v1/exchanges/pull", json=_pull(), headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["data"]
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["data"] is None
    assert second.json()["exchange_id"] == first.json()["exchange_id"]


async def test_pull_needs_the_pull_scope_and_a_flow_that_allows_pulling(client: httpx.AsyncClient,
                                                                        settings: Settings) -> None:
    # F2 (melding) is push-only: Veilig Thuis cannot pull a melding out of the wijkteam's system.
    from tests.support import VT

    vt = {"Authorization": f"Bearer {await token_for(client, settings, VT)}"}
    response = await client.post("/v1/exchanges/pull", json=_pull(purpose="melding", context={}), headers=vt)
    assert response.status_code == 403
    assert response.json()["code"] == "exchange-refused"
