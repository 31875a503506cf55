"""Break-glass end to end: opens within the flow's limits with a justification, is queued for the DPO, flagged."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import Session, col, select

from gateway.core.settings import Settings
from gateway.exchange_log.models import LogEntry
from gateway.review.models import ReviewItem
from tests.support import WIJKTEAM, melding_request, token_for

JUSTIFICATION = "Kind belt in paniek vanaf school; vader dreigt het kind vandaag mee te nemen, OTS-gegevens onbekend."


def _glass(**overrides: Any) -> dict[str, Any]:
    body = melding_request(recipient="gi-utrecht", purpose="informatie_ots",
                           context={"kader": "vrijwillig", "break_glass": {"justification": JUSTIFICATION}})
    body.update(overrides)
    return body


async def _headers(client: httpx.AsyncClient, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}


def _review_items(app: FastAPI) -> list[ReviewItem]:
    with Session(app.state.db) as session:
        return list(session.exec(select(ReviewItem).order_by(col(ReviewItem.created_at))).all())


def _records(app: FastAPI) -> list[dict[str, Any]]:
    with Session(app.state.db) as session:
        rows = session.exec(select(LogEntry).where(col(LogEntry.kind) == "exchange")).all()
    return [json.loads(r.entry) for r in rows]


async def test_break_glass_opens_f7_without_an_ots_and_queues_it_for_the_dpo(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI]) -> None:
    without = melding_request(recipient="gi-utrecht", purpose="informatie_ots", context={"kader": "vrijwillig"})
    assert (await client.post("/v1/exchanges/push", json=without,
                              headers=await _headers(client, settings))).status_code == 403
    response = await client.post("/v1/exchanges/push", json=_glass(), headers=await _headers(client, settings))
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["break_glass"]["applied"] is True
    assert result["break_glass"]["flags"] == []
    assert result["reasons"][0].startswith("Doorbraak (break-glass) toegepast")
    treatments = {f["path"]: f["treatment"] for f in result["fields"]}
    assert treatments["persons[0].bsn"] == "pass"
    assert treatments["persons[2].surname"] == "drop"  # the reporter: never opened by break-glass
    assert treatments["health[0].description"] == "drop"  # not something break-glass opens in F7
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulators["gi"]), base_url="http://sim") as sim:
        assert len((await sim.get("/_sim/received")).json()) == 1

    items = _review_items(app)
    assert [(i.kind, i.exchange_id) for i in items] == [("break_glass", result["exchange_id"])]
    item = items[0]
    assert item.sealed_note is not None and JUSTIFICATION not in item.sealed_note
    assert app.state.exchange.review_sealer.open(item.sealed_note, context=item.id).decode() == JUSTIFICATION
    assert (item.due_at - item.created_at).days == 3
    record = _records(app)[-1]
    assert record["break_glass"]["applied"] is True
    assert record["break_glass"]["review_item"] == item.id
    assert JUSTIFICATION not in json.dumps(_records(app))  # the log keeps a hash, never the free text
    assert record["break_glass"]["justification_hash"].startswith("sha256:")
    metrics = (await client.get("/metrics")).text
    assert 'gateway_break_glass_total{applied="true",flow="F7",unnecessary="false"} 1.0' in metrics


async def test_break_glass_needs_a_written_justification(client: httpx.AsyncClient, settings: Settings) -> None:
    body = _glass()
    body["context"]["break_glass"] = {"justification": "spoed"}
    response = await client.post("/v1/exchanges/push", json=body, headers=await _headers(client, settings))
    assert response.status_code == 422
    assert response.json()["invalid_params"][0]["name"] == "context.break_glass.justification"


async def test_break_glass_never_opens_an_excluded_flow_but_is_still_queued(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    # F1 is an anonymous advice request: break-glass cannot make identifiers acceptable there.
    body = _glass(recipient="vt-utrecht", purpose="adviesvraag")
    response = await client.post("/v1/exchanges/push", json=body, headers=await _headers(client, settings))
    assert response.status_code == 403
    exchange = response.json()["exchange"]
    assert exchange["break_glass"]["applied"] is False
    assert exchange["break_glass"]["flags"] == ["not_applied"]
    assert [json.loads(i.flags) for i in _review_items(app)] == [["not_applied"]]


async def test_unnecessary_and_repeated_break_glass_are_flagged(client: httpx.AsyncClient, settings: Settings,
                                                               app: FastAPI) -> None:
    headers = await _headers(client, settings)
    normal = melding_request(context={"afwegingskader_documented": True, "parents_informed": True,
                                      "break_glass": {"justification": JUSTIFICATION}})
    first = (await client.post("/v1/exchanges/push", json=normal, headers=headers)).json()
    assert first["break_glass"] == {**first["break_glass"], "applied": False, "unnecessary": True,
                                    "flags": ["unnecessary"]}
    await client.post("/v1/exchanges/push", json=_glass(), headers=headers)
    third = (await client.post("/v1/exchanges/push", json=_glass(), headers=headers)).json()
    assert third["break_glass"]["flags"] == ["repeated"]
    assert [json.loads(i.flags) for i in _review_items(app)] == [["unnecessary"], [], ["repeated"]]
