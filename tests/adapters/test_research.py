"""Research / monitoring recipient: flat records, no direct identifiers, the adapter against its simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapters.research import adapter as research
from adapters.research.fixtures import PSEUDONYM_CHILD, PSEUDONYM_PARENT
from adapters.research.simulator import create_app
from gateway.relay.port import AdapterError, Delivery, FetchRequest, PartnerEndpoint
from tests.adapters.adapter_checks import ENCRYPTED, PSEUDONYM, SimulatorChecks, without_direct_identifiers


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


def test_minimised_dossier_as_flat_records(minimised_dossier: dict[str, Any]) -> None:
    native = research.dossier_to_native(minimised_dossier)
    rows = native["records"]
    assert all(not isinstance(v, dict) for row in rows for v in row.values())  # flat: no nested objects
    persons = [row for row in rows if row["type"] == "persoon"]
    assert persons[0] == {"type": "persoon", "nr": 0, "sleutel": "p1", "rol": "kind", "pseudoniem": PSEUDONYM,
                          "geboorte": "2016", "geslacht": "V"}
    assert persons[1]["pseudoniem"] == ENCRYPTED
    household = next(row for row in rows if row["type"] == "huishouden")
    assert household["postcodegebied"] == "1234"
    assert [row for row in rows if row["type"] == "geweldsvorm"] == [
        {"type": "geweldsvorm", "signaal_nr": 0, "vorm": "verwaarlozing"}]
    assert native["aantallen"]["signaal"] == 2


def test_minimised_dossier_round_trip(minimised_dossier: dict[str, Any]) -> None:
    assert research.native_to_dossier(research.dossier_to_native(minimised_dossier)) == minimised_dossier


def test_every_research_field_round_trips(full_dossier: dict[str, Any]) -> None:
    """The full dossier without its direct identifiers: every other canonical field has a place."""
    full_dossier = without_direct_identifiers(full_dossier)
    assert research.native_to_dossier(research.dossier_to_native(full_dossier)) == full_dossier


@pytest.mark.parametrize(("path", "value"), [
    (("persons", 0, "bsn"), "111222333"),
    (("persons", 0, "surname"), "Voorbeeld"),
    (("persons", 1, "phone"), "0600000001"),
    (("household", "address", "postcode"), "1234 AB"),
    (("household", "address", "street"), "Proefstraat"),
])
def test_direct_identifiers_are_refused(minimised_dossier: dict[str, Any], path: tuple[Any, ...],
                                        value: str) -> None:
    node: Any = minimised_dossier
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    with pytest.raises(AdapterError) as raised:
        research.dossier_to_native(minimised_dossier)
    assert raised.value.reason == "identifier_not_allowed"
    assert value not in str(raised.value)


async def test_full_dossier_is_never_sent(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                                          make_delivery: Callable[..., Delivery],
                                          full_dossier: dict[str, Any]) -> None:
    with pytest.raises(AdapterError) as raised:
        await research.ADAPTER.deliver(client, endpoint, make_delivery(full_dossier))
    assert raised.value.reason == "identifier_not_allowed"
    assert (await client.get("/_sim/received")).json() == []


async def test_deliver_stores_records(client: httpx.AsyncClient, checks: SimulatorChecks,
                                      make_delivery: Callable[..., Delivery],
                                      minimised_dossier: dict[str, Any]) -> None:
    delivery = make_delivery(minimised_dossier, flow="R1", purpose="actieonderzoek")
    stored = await checks.deliver_twice(research.ADAPTER, client, delivery)
    assert stored["aanlevering"]["stroom"] == "R1"
    assert research.decode_message(stored) == minimised_dossier


async def test_simulator_refuses_plaintext_bsn_and_wrong_counts(client: httpx.AsyncClient) -> None:
    leaked = {"aanlevering": {"aantallen": {"persoon": 1}},
              "records": [{"type": "persoon", "nr": 0, "pseudoniem": "111222333"}]}
    response = await client.post(research.RECEIVE_PATH, json=leaked, headers={"Idempotency-Key": "a"})
    assert (response.status_code, response.json()["error"]) == (422, "direct_identifier")
    short = {"aanlevering": {"aantallen": {"persoon": 2}}, "records": [{"type": "persoon", "nr": 0}]}
    response = await client.post(research.RECEIVE_PATH, json=short, headers={"Idempotency-Key": "b"})
    assert (response.status_code, response.json()["error"]) == (422, "count_mismatch")


async def test_fetch_by_pseudonym(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                                  make_fetch: Callable[..., FetchRequest]) -> None:
    dossier = await research.ADAPTER.fetch(client, endpoint, make_fetch(PSEUDONYM_PARENT, role="ouder"))
    assert [p["bsn"] for p in dossier["persons"]] == [PSEUDONYM_CHILD, PSEUDONYM_PARENT]
    assert dossier["signals"][0]["violence_forms"] == [{"category": "getuige_huiselijk_geweld", "victim_ref": "p1"}]
    assert dossier["household"]["address"] == {"postcode": "3531", "municipality": "Utrecht"}


async def test_fetch_unknown_pseudonym(client: httpx.AsyncClient, checks: SimulatorChecks,
                                       make_fetch: Callable[..., FetchRequest]) -> None:
    await checks.unknown_bsn_is_rejected(research.ADAPTER, client, make_fetch(PSEUDONYM))


async def test_fault_injection(client: httpx.AsyncClient, checks: SimulatorChecks,
                               make_delivery: Callable[..., Delivery], minimised_dossier: dict[str, Any]) -> None:
    await checks.fault_fails_delivery(research.ADAPTER, client, make_delivery(minimised_dossier))


async def test_health(client: httpx.AsyncClient, checks: SimulatorChecks) -> None:
    await checks.health(research.ADAPTER, client)
