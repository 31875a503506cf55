"""An organisation that cannot receive calls collects its deliveries from the inbox, and only its own."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI
from sqlmodel import Session, col, select

from gateway.core.settings import Settings
from gateway.exchange_log.models import LogEntry
from gateway.relay.models import DeliveryJob
from tests.support import BSN_CHILD, BSN_REPORTER, VT, WIJKTEAM, melding_request, token_for

OOST = "wijkteam-utrecht-oost-app"


async def _auth(client: httpx.AsyncClient, settings: Settings, client_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(client, settings, client_id)}"}


async def test_a_delivery_waits_in_the_inbox_until_its_recipient_acknowledges_it(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    body = melding_request(recipient="wijkteam-utrecht-oost", purpose="toeleiding_hulp",
                           context={"kader": "vrijwillig"})
    pushed = await client.post("/v1/exchanges/push", json=body, headers=await _auth(client, settings, VT))
    assert pushed.status_code == 202, pushed.text
    exchange_id = pushed.json()["exchange_id"]
    assert pushed.json()["status"] == "awaiting_pickup"

    oost = await _auth(client, settings, OOST)
    listing = (await client.get("/v1/inbox", headers=oost)).json()
    assert [(i["exchange_id"], i["sender"], i["flow"]) for i in listing] == [(exchange_id, "vt-utrecht", "F9")]
    fetched = (await client.get(f"/v1/inbox/{exchange_id}", headers=oost)).json()
    assert fetched["delivery_key"] == f"{exchange_id}:wijkteam-utrecht-oost"
    assert [p["role"] for p in fetched["dossier"]["persons"]] == ["kind", "ouder"]  # F9: no reporter
    assert BSN_REPORTER not in json.dumps(fetched)
    assert any(p.get("bsn") == BSN_CHILD for p in fetched["dossier"]["persons"])

    for outsider in (WIJKTEAM, VT):  # neither another wijkteam nor the sender can read someone's inbox
        headers = await _auth(client, settings, outsider)
        assert (await client.get(f"/v1/inbox/{exchange_id}", headers=headers)).status_code == 404
        assert (await client.get("/v1/inbox", headers=headers)).json() == []

    acked = await client.post(f"/v1/inbox/{exchange_id}/ack", headers=oost)
    assert acked.status_code == 200
    assert acked.json()["status"] == "delivered"
    assert (await client.get("/v1/inbox", headers=oost)).json() == []
    assert (await client.post(f"/v1/inbox/{exchange_id}/ack", headers=oost)).status_code == 404
    with Session(app.state.db) as session:
        job = session.get(DeliveryJob, exchange_id)
        deliveries = session.exec(select(LogEntry).where(col(LogEntry.kind) == "delivery")).all()
    assert job is not None and job.status == "delivered" and job.sealed_delivery is None
    assert [json.loads(d.entry)["partner_reference"] for d in deliveries] == [f"inbox:{OOST}"]
    status = await client.get(f"/v1/exchanges/{exchange_id}", headers=await _auth(client, settings, VT))
    assert status.json()["status"] == "delivered"
