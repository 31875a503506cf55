"""A value encrypted for the sender (F1's case number) can be reversed by the sender alone, and is logged."""

from __future__ import annotations

import json

import httpx
from fastapi import FastAPI

from gateway.core.settings import Settings
from tests.support import VT, WIJKTEAM, token_for

ADVIESVRAAG = {
    "recipient": "vt-utrecht", "purpose": "adviesvraag",
    "professional": {"id": "mdw-0042", "role": "wijkteammedewerker"},
    "context": {"kader": "vrijwillig"},
    "dossier": {
        "case_numbers": [{"organisation": "wijkteam-utrecht-west", "number": "WT-2026-0815"}],
        "household": {"composition": "eenoudergezin"},
        "signals": [{"kind": "adviesvraag", "situation": "Zorgen over een kind dat vaak bang lijkt thuis.",
                     "violence_forms": [{"category": "psychische_mishandeling"}]}],
    },
}


async def test_anonymous_advice_request_carries_a_case_number_only_the_sender_can_reverse(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI]) -> None:
    wijkteam = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}
    response = await client.post("/v1/exchanges/push", json=ADVIESVRAAG, headers=wijkteam)
    assert response.status_code == 201, response.text
    assert response.json()["flow"] == "F1"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulators["veilig_thuis"]),
                                 base_url="http://sim") as sim:
        received = json.dumps((await sim.get("/_sim/received")).json())
    assert "WT-2026-0815" not in received
    token = next(part for part in received.split('"') if part.startswith("ENC1."))

    mine = await client.post("/v1/exchanges/reidentify", json={"values": [token], "purpose": "koppelen_advies"},
                             headers=wijkteam)
    assert mine.status_code == 200
    assert mine.json()["values"] == ["WT-2026-0815"]
    vt = {"Authorization": f"Bearer {await token_for(client, settings, VT)}"}
    theirs = await client.post("/v1/exchanges/reidentify", json={"values": [token, "ENC1.x.garbage"],
                                                                  "purpose": "nieuwsgierig"}, headers=vt)
    assert theirs.json()["values"] == [None, None]

    from sqlmodel import Session, select

    from gateway.exchange_log.models import LogEntry

    with Session(app.state.db) as session:
        entries = [json.loads(e.entry) for e in session.exec(select(LogEntry)).all()]
    reidentifications = [(e["caller"], e["reidentified"]) for e in entries if e["kind"] == "reidentification"]
    assert reidentifications == [("wijkteam-utrecht-west", 1), ("vt-utrecht", 0)]
    assert "WT-2026-0815" not in json.dumps(entries)


async def test_advice_request_with_identifiers_is_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    body = json.loads(json.dumps(ADVIESVRAAG))
    body["dossier"]["persons"] = [{"ref": "k1", "role": "kind", "surname": "Jansen"}]
    wijkteam = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}
    response = await client.post("/v1/exchanges/push", json=body, headers=wijkteam)
    assert response.status_code == 403
    assert any("anoniem" in reason for reason in response.json()["exchange"]["reasons"])
