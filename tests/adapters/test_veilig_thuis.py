"""Veilig Thuis: mapping both ways, and the adapter against the VT simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapters.veilig_thuis import adapter as vt
from adapters.veilig_thuis.fixtures import FIXTURES
from adapters.veilig_thuis.simulator import create_app
from gateway.dossier.model import Gezinsdossier
from gateway.relay.port import AdapterError, Delivery, FetchRequest, PartnerEndpoint
from tests.adapters.adapter_checks import ENCRYPTED, PSEUDONYM, SimulatorChecks


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


def test_full_dossier_in_vt_vocabulary(full_dossier: dict[str, Any]) -> None:
    casus = vt.dossier_to_native(full_dossier)
    noor = casus["betrokkenen"][0]
    assert noor["gezinsrol"] == "JEUGDIGE"
    assert noor["persoonsgegevens"]["geboortedatum"] == "12-04-2016"
    assert noor["persoonsgegevens"]["geslacht"] == "V"
    assert [m["betrokkeneId"] for m in casus["melders"]] == ["p5"]
    assert casus["melders"][0]["melderkenmerken"]["beroepsgroep"] == "ONDERWIJS"
    assert "gezinsrol" not in casus["melders"][0]
    assert [i["betrokkeneId"] for i in casus["informanten"]] == ["p6"]
    form = casus["meldingen"][0]["geweldsvormen"][0]
    assert form == {"vorm": "KM_GETUIGE_HG", "directbetrokkenen": [
        {"betrokkeneId": "p1", "rol": "slachtoffer"}, {"betrokkeneId": "p3", "rol": "pleger"}]}
    assert casus["veiligheidsbeoordelingen"][0]["triage"] == "STRUCTURELE_ONVEILIGHEID"


def test_full_dossier_round_trip(full_dossier: dict[str, Any]) -> None:
    assert vt.native_to_dossier(vt.dossier_to_native(full_dossier)) == full_dossier


def test_minimised_dossier_keeps_pseudonyms_and_generalised_values(minimised_dossier: dict[str, Any]) -> None:
    casus = vt.dossier_to_native(minimised_dossier)
    kind, ouder, jongste = casus["betrokkenen"]
    assert kind["persoonsgegevens"] == {"bsn": PSEUDONYM, "geboortedatum": "2016", "geslacht": "V"}
    assert ouder["persoonsgegevens"] == {"bsn": ENCRYPTED, "geboortedatum": "30-39"}
    assert jongste["persoonsgegevens"] == {"geboortedatum": "0-4"}
    assert casus["gezin"]["adres"] == {"postcode": "1234", "gemeente": "Voorbeeldstad"}
    assert vt.native_to_dossier(casus) == minimised_dossier


def test_empty_dossier_round_trip() -> None:
    assert vt.native_to_dossier(vt.dossier_to_native({})) == {}
    assert vt.native_to_dossier(vt.dossier_to_native({"persons": []})) == {"persons": []}


@pytest.mark.parametrize("fixture", FIXTURES, ids=["voorbeeld", "verzonnen"])
def test_seeded_casus_is_a_valid_canonical_dossier(fixture: dict[str, Any]) -> None:
    Gezinsdossier.model_validate(vt.decode_message(fixture))


def test_unknown_canonical_field_is_refused(make_delivery: Callable[..., Delivery]) -> None:
    with pytest.raises(AdapterError) as raised:
        vt.ADAPTER.to_native(make_delivery({"persons": [{"ref": "p1", "shoe_size": 42}]}))
    assert raised.value.reason == "unmappable"
    assert "42" not in str(raised.value)


async def test_deliver_stores_native_melding(client: httpx.AsyncClient, checks: SimulatorChecks,
                                             make_delivery: Callable[..., Delivery],
                                             full_dossier: dict[str, Any]) -> None:
    delivery = make_delivery(full_dossier)
    stored = await checks.deliver_twice(vt.ADAPTER, client, delivery)
    assert stored["berichtkop"]["stroom"] == "F2"
    assert stored["berichtkop"]["grondslag"] == delivery.legal_basis
    assert vt.decode_message(stored) == full_dossier


async def test_deliver_minimised_dossier(client: httpx.AsyncClient, checks: SimulatorChecks,
                                         make_delivery: Callable[..., Delivery],
                                         minimised_dossier: dict[str, Any]) -> None:
    stored = await checks.deliver_twice(vt.ADAPTER, client, make_delivery(minimised_dossier))
    assert vt.decode_message(stored) == minimised_dossier


async def test_fetch_known_bsn(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                               make_fetch: Callable[..., FetchRequest]) -> None:
    dossier = await vt.ADAPTER.fetch(client, endpoint, make_fetch("111222333"))
    model = Gezinsdossier.model_validate(dossier)
    assert model.persons is not None
    assert {p.bsn for p in model.persons} >= {"111222333", "123456782"}
    assert [p.role for p in model.persons][-1] == "melder"
    other = await vt.ADAPTER.fetch(client, endpoint, make_fetch("999990044", role="ouder"))
    assert other["signals"][0]["kind"] == "adviesvraag"


async def test_fetch_unknown_bsn(client: httpx.AsyncClient, checks: SimulatorChecks,
                                 make_fetch: Callable[..., FetchRequest]) -> None:
    await checks.unknown_bsn_is_rejected(vt.ADAPTER, client, make_fetch("999999990"))


async def test_fault_injection(client: httpx.AsyncClient, checks: SimulatorChecks,
                               make_delivery: Callable[..., Delivery], full_dossier: dict[str, Any]) -> None:
    await checks.fault_fails_delivery(vt.ADAPTER, client, make_delivery(full_dossier))


async def test_health(client: httpx.AsyncClient, checks: SimulatorChecks) -> None:
    await checks.health(vt.ADAPTER, client)
