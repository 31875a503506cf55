"""Push exchanges through the real HTTP surface, with partner simulators reached through their adapters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlmodel import Session

from gateway.core.errors import PolicyUnavailable
from gateway.core.settings import Settings
from gateway.exchange_log.models import LogEntry
from tests.support import (
    BSN_CHILD,
    BSN_MOTHER,
    BSN_REPORTER,
    GI,
    RVDK,
    VT,
    WIJKTEAM,
    melding_request,
    token_for,
)


async def _auth(client: httpx.AsyncClient, settings: Settings, client_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(client, settings, client_id)}"}


async def _received(simulators: dict[str, FastAPI], name: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulators[name]), base_url="http://sim") as c:
        received: list[dict[str, Any]] = (await c.get("/_sim/received")).json()
    return received


def _log_entries(app: FastAPI) -> list[dict[str, Any]]:
    with Session(app.state.db) as session:
        rows = session.execute(select(LogEntry).order_by(LogEntry.position)).scalars().all()  # type: ignore[arg-type]
    return [json.loads(r.entry) for r in rows]


async def test_melding_reaches_veilig_thuis_with_identities_under_the_logged_basis(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI]) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = await client.post("/v1/exchanges/push", json=melding_request(),
                                 headers=await _auth(client, settings, WIJKTEAM) | {"traceparent": traceparent})
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["outcome"] == "allow"
    assert result["status"] == "delivered"
    assert result["flow"] == "F2"
    assert result["legal_basis"]["national_article"]
    assert result["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    treatments = {f["path"]: f["treatment"] for f in result["fields"]}
    assert treatments["persons[0].bsn"] == "pass"
    assert treatments["persons[1].surname"] == "pass"
    received = await _received(simulators, "veilig_thuis")
    assert len(received) == 1
    native = json.dumps(received[0])
    assert BSN_CHILD in native and BSN_MOTHER in native
    entries = _log_entries(app)
    assert [e["kind"] for e in entries] == ["exchange", "delivery"]
    record = entries[0]
    assert record["decision"]["outcome"] == "allow"
    assert record["legal_basis"] == result["legal_basis"]
    assert record["decision"]["bundle_hash"].startswith("sha256:")
    assert record["trace_id"] == result["trace_id"]
    assert {s["role"] for s in record["subjects"]} == {"kind", "ouder", "melder"}
    assert entries[1]["outcome"] == "delivered"
    assert result["delivery"]["log_position"] == 1


async def test_refused_exchange_is_logged_with_reasons_and_not_relayed(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI]) -> None:
    body = melding_request(recipient="gi-utrecht", purpose="informatie_ots")
    response = await client.post("/v1/exchanges/push", json=body, headers=await _auth(client, settings, WIJKTEAM))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "exchange-refused"
    exchange = problem["exchange"]
    assert exchange["outcome"] == "deny" and exchange["reasons"]
    assert all(f["treatment"] == "drop" for f in exchange["fields"])
    assert await _received(simulators, "gi") == []
    entries = _log_entries(app)
    assert len(entries) == 1 and entries[0]["decision"]["outcome"] == "deny"
    assert entries[0]["decision"]["reasons"] == exchange["reasons"]


async def test_idempotency_key_prevents_a_second_delivery(
        client: httpx.AsyncClient, settings: Settings, simulators: dict[str, FastAPI]) -> None:
    headers = await _auth(client, settings, WIJKTEAM) | {"Idempotency-Key": "melding-2026-0001"}
    first = await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)
    second = await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert first.json()["exchange_id"] == second.json()["exchange_id"]
    assert len(await _received(simulators, "veilig_thuis")) == 1
    changed = melding_request(context={"afwegingskader_documented": True, "parents_informed": False,
                                       "parents_not_informed_reason": "veiligheid_kind"})
    conflict = await client.post("/v1/exchanges/push", json=changed, headers=headers)
    assert conflict.status_code == 422
    assert conflict.json()["code"] == "idempotency-key-reused"


async def test_reporter_identity_never_reaches_the_wijkteam_in_f9(
        client: httpx.AsyncClient, settings: Settings, simulators: dict[str, FastAPI]) -> None:
    body = melding_request(recipient="wijkteam-utrecht-west", purpose="toeleiding_hulp",
                           context={"kader": "vrijwillig"})
    response = await client.post("/v1/exchanges/push", json=body, headers=await _auth(client, settings, VT))
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["flow"] == "F9"
    reporter_fields = [f for f in result["fields"] if f["category"] == "reporter"]
    assert reporter_fields and all(f["treatment"] == "drop" for f in reporter_fields)
    native = json.dumps(await _received(simulators, "wijkteam"))
    assert BSN_REPORTER not in native
    assert "de Vries" not in native and "Noor" not in native and "De Linde" not in native


async def test_research_extract_carries_pseudonyms_and_generalised_dates(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI]) -> None:
    body = melding_request(recipient="monitor-regio-utrecht", purpose="onderzoek_en_sturing",
                           context={"kader": "vrijwillig"})
    response = await client.post("/v1/exchanges/push", json=body, headers=await _auth(client, settings, WIJKTEAM))
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["flow"] == "R1"
    treatments = {f["path"]: (f["treatment"], f["method"]) for f in result["fields"]}
    assert treatments["persons[0].bsn"][0] == "pseudonymise"
    assert treatments["persons[0].birth_date"][0] == "generalise"
    assert all(f["treatment"] != "pass" for f in result["fields"]
               if f["field"] in ("persons[].given_names", "persons[].surname", "persons[].phone"))
    native = json.dumps(await _received(simulators, "research"))
    pseudonymiser = app.state.exchange.pseudonymiser
    assert pseudonymiser.pseudonym(BSN_CHILD, "org:monitor-regio-utrecht") in native
    assert pseudonymiser.pseudonym(BSN_CHILD, "org:vt-utrecht") not in native
    for secret in (BSN_CHILD, BSN_MOTHER, BSN_REPORTER, "Jansen", "2016-05-17", "Voorbeeldstraat"):
        assert secret not in native


async def test_status_is_visible_to_the_parties_only(client: httpx.AsyncClient, settings: Settings) -> None:
    created = await client.post("/v1/exchanges/push", json=melding_request(),
                                headers=await _auth(client, settings, WIJKTEAM))
    exchange_id = created.json()["exchange_id"]
    for party in (WIJKTEAM, VT):
        seen = await client.get(f"/v1/exchanges/{exchange_id}", headers=await _auth(client, settings, party))
        assert seen.status_code == 200
        assert seen.json()["status"] == "delivered"
    for outsider in (RVDK, GI):
        hidden = await client.get(f"/v1/exchanges/{exchange_id}", headers=await _auth(client, settings, outsider))
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "not-found"


def _stored_bytes(app: FastAPI, tmp_path: Path) -> bytes:
    """Everything the database holds: SQLite's files (free pages and WAL too), or every row of every table."""
    engine = app.state.db
    if engine.dialect.name == "sqlite":
        engine.dispose()
        return b"".join(p.read_bytes() for p in tmp_path.glob("gateway.db*"))
    with engine.connect() as connection:
        tables = connection.execute(text("SELECT quote_ident(table_name) FROM information_schema.tables "
                                         "WHERE table_schema = current_schema()")).scalars().all()
        # Table names come from the catalog, quoted by quote_ident.
        rows = [connection.execute(text(f"SELECT t::text FROM {table} t")).scalars().all()  # noqa: S608
                for table in tables]
    return "\n".join(row for table_rows in rows for row in table_rows).encode()


async def test_no_plaintext_identifier_is_stored(client: httpx.AsyncClient, settings: Settings, app: FastAPI,
                                                 tmp_path: Path) -> None:
    headers = await _auth(client, settings, WIJKTEAM)
    await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)
    await client.post("/v1/exchanges/push", json=melding_request(recipient="gi-utrecht", purpose="informatie_ots"),
                      headers=headers)
    stored = _stored_bytes(app, tmp_path)
    assert stored  # the database exists and was written
    for secret in (BSN_CHILD, BSN_MOTHER, BSN_REPORTER, "Jansen", "de Vries", "0612345678", "Voorbeeldstraat"):
        assert secret.encode() not in stored, secret


class _BrokenPolicy:
    name = "broken"
    bundle_hash = "sha256:none"

    async def decide(self, policy_input: dict[str, Any]) -> Any:
        raise PolicyUnavailable(detail="The policy engine failed to evaluate.")

    async def ready(self) -> bool:
        return False

    async def aclose(self) -> None:
        return None


async def test_no_decision_means_nothing_is_relayed(client: httpx.AsyncClient, settings: Settings, app: FastAPI,
                                                    simulators: dict[str, FastAPI]) -> None:
    app.state.exchange.policy = _BrokenPolicy()
    response = await client.post("/v1/exchanges/push", json=melding_request(),
                                 headers=await _auth(client, settings, WIJKTEAM))
    assert response.status_code == 503
    assert response.json()["code"] == "policy-unavailable"
    assert await _received(simulators, "veilig_thuis") == []
    entries = _log_entries(app)
    assert entries[-1]["decision"]["outcome"] == "deny"
    assert (await client.get("/readyz")).status_code == 503


async def test_no_durable_log_means_nothing_is_relayed(client: httpx.AsyncClient, settings: Settings, app: FastAPI,
                                                       simulators: dict[str, FastAPI], tmp_path: Path) -> None:
    headers = await _auth(client, settings, WIJKTEAM)
    from sqlalchemy import create_engine

    app.state.exchange.db = create_engine(f"sqlite:///{tmp_path}/missing-dir/nope.db")
    response = await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)
    assert response.status_code == 503
    assert response.json()["code"] == "log-unavailable"
    assert await _received(simulators, "veilig_thuis") == []
