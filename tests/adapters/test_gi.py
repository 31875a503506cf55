"""Gecertificeerde Instelling: mapping both ways, and the adapter against the GI simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapters.gi import adapter as gi
from adapters.gi.fixtures import FIXTURES
from adapters.gi.simulator import create_app
from gateway.dossier.model import Gezinsdossier
from gateway.relay.port import Delivery, FetchRequest, PartnerEndpoint
from tests.adapters.adapter_checks import ENCRYPTED, PSEUDONYM, SimulatorChecks


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


def test_full_dossier_as_jeugdbeschermingszaak(full_dossier: dict[str, Any]) -> None:
    zaak = gi.dossier_to_native(full_dossier)
    noor = zaak["Clienten"][0]
    assert (noor["Relatie"], noor["Bsn"], noor["Geboortedatum"], noor["Geslacht"]) == (
        "JEUGDIGE", "111222333", "20160412", "V")
    assert noor["Tolk"] == "N"
    assert zaak["Clienten"][4]["Melder"] == {"Rol": "OW", "Organisatie": "De Proeftuin", "AnoniemVoorGezin": "J"}
    assert zaak["Gezag"][0]["Indicatie"] == "12"
    assert zaak["Maatregelen"][0]["Maatregel"] == "VOTS"
    assert zaak["Maatregelen"][0]["Beschikkingsdatum"] == "20250203"
    assert zaak["PlanVanAanpak"]["Jeugdbeschermer"] == "jeugdbeschermer"
    assert zaak["Veiligheidsplan"]["Afspraken"] == [
        {"Wie": "p3", "Wat": "verlaat het huis bij spanning", "Wanneer": "direct"}]
    assert zaak["Hulpverlening"][0]["Ggz"] == "J"


def test_full_dossier_round_trip(full_dossier: dict[str, Any]) -> None:
    assert gi.native_to_dossier(gi.dossier_to_native(full_dossier)) == full_dossier


def test_minimised_dossier_keeps_pseudonyms_and_generalised_dates(minimised_dossier: dict[str, Any]) -> None:
    zaak = gi.dossier_to_native(minimised_dossier)
    assert [c.get("Bsn") for c in zaak["Clienten"]] == [PSEUDONYM, ENCRYPTED, None, None]
    assert [c.get("Geboortedatum") for c in zaak["Clienten"]] == ["2016", "30-39", "0-4", None]
    assert zaak["Gezinssysteem"]["Woonadres"] == {"Postcode": "1234", "Woonplaats": "Voorbeeldstad"}
    assert gi.native_to_dossier(zaak) == minimised_dossier


@pytest.mark.parametrize("fixture", FIXTURES, ids=["voorbeeld", "denkbeeld"])
def test_seeded_zaak_is_a_valid_canonical_dossier(fixture: dict[str, Any]) -> None:
    Gezinsdossier.model_validate(gi.decode_message(fixture))


async def test_deliver_stores_native_zaak(client: httpx.AsyncClient, checks: SimulatorChecks,
                                          make_delivery: Callable[..., Delivery],
                                          full_dossier: dict[str, Any]) -> None:
    delivery = make_delivery(full_dossier, flow="F6", purpose="uitvoering_ots")
    stored = await checks.deliver_twice(gi.ADAPTER, client, delivery)
    assert stored["Opdracht"]["Stroom"] == "F6"
    assert stored["Opdracht"]["Logpositie"] == delivery.log_position
    assert gi.decode_message(stored) == full_dossier


async def test_deliver_minimised_dossier(client: httpx.AsyncClient, checks: SimulatorChecks,
                                         make_delivery: Callable[..., Delivery],
                                         minimised_dossier: dict[str, Any]) -> None:
    stored = await checks.deliver_twice(gi.ADAPTER, client, make_delivery(minimised_dossier))
    assert gi.decode_message(stored) == minimised_dossier


async def test_fetch_known_bsn(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                               make_fetch: Callable[..., FetchRequest]) -> None:
    dossier = await gi.ADAPTER.fetch(client, endpoint, make_fetch("111222333"))
    model = Gezinsdossier.model_validate(dossier)
    assert model.measures is not None
    assert [m.kind for m in model.measures] == ["voorlopige_ots", "voorlopige_ots"]
    assert model.plan is not None
    assert model.plan.case_director == "J. Beschermer"
    other = await gi.ADAPTER.fetch(client, endpoint, make_fetch("999910024", role="ouder"))
    assert other["measures"][0]["kind"] == "jeugdreclassering"


async def test_fetch_unknown_bsn(client: httpx.AsyncClient, checks: SimulatorChecks,
                                 make_fetch: Callable[..., FetchRequest]) -> None:
    await checks.unknown_bsn_is_rejected(gi.ADAPTER, client, make_fetch("999999990"))


async def test_fault_injection(client: httpx.AsyncClient, checks: SimulatorChecks,
                               make_delivery: Callable[..., Delivery], full_dossier: dict[str, Any]) -> None:
    await checks.fault_fails_delivery(gi.ADAPTER, client, make_delivery(full_dossier))


async def test_health(client: httpx.AsyncClient, checks: SimulatorChecks) -> None:
    await checks.health(gi.ADAPTER, client)
