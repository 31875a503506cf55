"""Raad voor de Kinderbescherming: mapping both ways, and the adapter against the RvdK simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapters.rvdk import adapter as rvdk
from adapters.rvdk.fixtures import FIXTURES
from adapters.rvdk.simulator import create_app
from gateway.dossier.model import Gezinsdossier
from gateway.relay.port import AdapterError, Delivery, FetchRequest, PartnerEndpoint
from tests.adapters.adapter_checks import ENCRYPTED, PSEUDONYM, SimulatorChecks


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


def test_full_dossier_as_kindzaak(full_dossier: dict[str, Any]) -> None:
    kindzaak = rvdk.dossier_to_native(full_dossier)
    noor = kindzaak["personen"][0]
    assert noor["hoedanigheid"] == "MINDERJARIGE"
    assert noor["burgerservicenummer"] == "111222333"
    assert noor["naam"] == {"voornamen": "Noor", "geslachtsnaam": "Voorbeeld"}
    assert noor["geboorte"] == {"datum": {"type": "Datum", "datum": "2016-04-12"}}
    assert noor["geslacht"] == {"code": "V"}
    assert kindzaak["zaakkenmerken"]["gezag"][0]["gezagsrelatie"] == {"type": "GezamenlijkOuderlijkGezag"}
    assert kindzaak["zaakkenmerken"]["aanleidingen"][1]["soort_aanleiding"] == "CONSULTATIE"
    assert kindzaak["zaakkenmerken"]["maatregelen"][0]["soort"] == "VOORLOPIGE_ONDERTOEZICHTSTELLING"
    assert kindzaak["raadsonderzoek"]["bevindingen"][0]["feit_of_mening"] == "FEIT"
    assert kindzaak["raadsonderzoek"]["advies"]["regievoerder"] == "jeugdbeschermer"


def test_full_dossier_round_trip(full_dossier: dict[str, Any]) -> None:
    assert rvdk.native_to_dossier(rvdk.dossier_to_native(full_dossier)) == full_dossier


def test_generalised_dates_use_incomplete_date_types(minimised_dossier: dict[str, Any]) -> None:
    personen = rvdk.dossier_to_native(minimised_dossier)["personen"]
    assert personen[0]["burgerservicenummer"] == PSEUDONYM
    assert personen[0]["geboorte"]["datum"] == {"type": "JaarDatum", "jaar": 2016}
    assert personen[1]["burgerservicenummer"] == ENCRYPTED
    assert personen[1]["geboorte"]["datum"] == {"type": "Gegeneraliseerd", "waarde": "30-39"}
    assert personen[2]["geboorte"]["datum"] == {"type": "Gegeneraliseerd", "waarde": "0-4"}
    year_month = rvdk.ONVOLLEDIGE_DATUM.encode("2024-10")
    assert year_month == {"type": "JaarMaandDatum", "jaar": 2024, "maand": 10}
    assert rvdk.ONVOLLEDIGE_DATUM.decode(year_month) == "2024-10"


def test_minimised_dossier_round_trip(minimised_dossier: dict[str, Any]) -> None:
    assert rvdk.native_to_dossier(rvdk.dossier_to_native(minimised_dossier)) == minimised_dossier


@pytest.mark.parametrize("fixture", FIXTURES, ids=["voorbeeld", "fictief"])
def test_seeded_kindzaak_is_a_valid_canonical_dossier(fixture: dict[str, Any]) -> None:
    dossier = rvdk.decode_message(fixture)
    Gezinsdossier.model_validate(dossier)
    assert "behandeling" not in dossier  # native-only data (the raadsonderzoeker) stays behind


async def test_deliver_stores_native_kindzaak(client: httpx.AsyncClient, checks: SimulatorChecks,
                                              make_delivery: Callable[..., Delivery],
                                              full_dossier: dict[str, Any]) -> None:
    delivery = make_delivery(full_dossier, flow="F4", purpose="verzoek_tot_onderzoek")
    stored = await checks.deliver_twice(rvdk.ADAPTER, client, delivery)
    assert stored["bericht"]["doelbinding"] == "verzoek_tot_onderzoek"
    assert stored["bericht"]["wettelijke_grondslag"] == delivery.legal_basis
    assert rvdk.decode_message(stored) == full_dossier


async def test_deliver_minimised_dossier(client: httpx.AsyncClient, checks: SimulatorChecks,
                                         make_delivery: Callable[..., Delivery],
                                         minimised_dossier: dict[str, Any]) -> None:
    stored = await checks.deliver_twice(rvdk.ADAPTER, client, make_delivery(minimised_dossier))
    assert rvdk.decode_message(stored) == minimised_dossier


async def test_receipt_is_the_kindzaaknummer(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                                            make_delivery: Callable[..., Delivery]) -> None:
    receipt = await rvdk.ADAPTER.deliver(client, endpoint, make_delivery({}))
    assert receipt.partner_reference == "KZ-2025-00001"


async def test_fetch_known_bsn(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                               make_fetch: Callable[..., FetchRequest]) -> None:
    dossier = await rvdk.ADAPTER.fetch(client, endpoint, make_fetch("999990020", role="ouder"))
    model = Gezinsdossier.model_validate(dossier)
    assert model.signals is not None
    assert model.signals[0].kind == "verzoek_tot_onderzoek"
    other = await rvdk.ADAPTER.fetch(client, endpoint, make_fetch("999900006"))
    assert other["persons"][1]["birth_date"] == "1980-07-19"
    assert other["gezag"][0]["under_investigation"] is True


async def test_fetch_unknown_bsn(client: httpx.AsyncClient, checks: SimulatorChecks,
                                 make_fetch: Callable[..., FetchRequest]) -> None:
    await checks.unknown_bsn_is_rejected(rvdk.ADAPTER, client, make_fetch("999999990"))


async def test_incomplete_message_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post(rvdk.RECEIVE_PATH, json={"kindzaak": {}}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.json() == {"fout": {"code": "KZ422", "reden": "bericht_onvolledig"}}


async def test_fault_injection(client: httpx.AsyncClient, checks: SimulatorChecks,
                               make_delivery: Callable[..., Delivery], full_dossier: dict[str, Any]) -> None:
    await checks.fault_fails_delivery(rvdk.ADAPTER, client, make_delivery(full_dossier))


async def test_query_fault(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                           make_fetch: Callable[..., FetchRequest]) -> None:
    await client.post("/_sim/faults", json={"fail_next": 1, "status": 502, "scope": "query"})
    with pytest.raises(AdapterError) as raised:
        await rvdk.ADAPTER.fetch(client, endpoint, make_fetch("111222333"))
    assert (raised.value.reason, raised.value.status_code) == ("partner_error", 502)


async def test_health(client: httpx.AsyncClient, checks: SimulatorChecks) -> None:
    await checks.health(rvdk.ADAPTER, client)
