"""Wijkteam (ZGW-shaped zaaksysteem): mapping both ways, and the adapter against the wijkteam simulator."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest

from adapters.wijkteam import adapter as wt
from adapters.wijkteam.fixtures import FIXTURES
from adapters.wijkteam.simulator import create_app
from gateway.dossier.model import Gezinsdossier
from gateway.relay.port import AdapterError, Delivery, FetchRequest, PartnerEndpoint
from tests.adapters.adapter_checks import ENCRYPTED, PSEUDONYM, SimulatorChecks


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


def _content(native: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = orjson.loads(base64.b64decode(native["informatieobject"]["inhoud"]))
    return content


def test_full_dossier_as_zaak_with_rollen(full_dossier: dict[str, Any]) -> None:
    native = wt.dossier_to_native(full_dossier)
    assert native["zaak"]["kenmerken"] == [{"bron": "wijkteam-voorbeeldstad", "kenmerk": "WT-2025-0042"}]
    noor = native["rollen"][0]
    assert noor["roltype"] == "jeugdige"
    assert noor["betrokkeneType"] == "natuurlijk_persoon"
    assert noor["betrokkeneIdentificatie"]["inpBsn"] == "111222333"
    assert noor["betrokkeneIdentificatie"]["geslachtsaanduiding"] == "v"
    assert native["rollen"][4]["omschrijvingGeneriek"] == "initiator"  # the melder
    assert native["informatieobject"]["formaat"] == "application/json"
    content = _content(native)
    assert content["huishouden"]["adres"]["aoaPostcode"] == "1234 AB"
    assert content["plan"]["regisseur"] == "jeugdbeschermer"
    assert content["beschikkingen"][0]["maatregel"] == "vots"


def test_full_dossier_round_trip(full_dossier: dict[str, Any]) -> None:
    assert wt.native_to_dossier(wt.dossier_to_native(full_dossier)) == full_dossier


def test_minimised_dossier_round_trip(minimised_dossier: dict[str, Any]) -> None:
    native = wt.dossier_to_native(minimised_dossier)
    identities = [rol["betrokkeneIdentificatie"] for rol in native["rollen"] if "betrokkeneIdentificatie" in rol]
    assert identities[0] == {"inpBsn": PSEUDONYM, "geboortedatum": "2016", "geslachtsaanduiding": "v"}
    assert identities[1] == {"inpBsn": ENCRYPTED, "geboortedatum": "30-39"}
    assert wt.native_to_dossier(native) == minimised_dossier


def test_confidentiality_label(make_delivery: Callable[..., Delivery], full_dossier: dict[str, Any],
                               minimised_dossier: dict[str, Any]) -> None:
    assert wt.confidentiality_of(make_delivery(full_dossier)) == "geheim"  # health and justice data
    assert wt.confidentiality_of(make_delivery(minimised_dossier)) == "vertrouwelijk"
    stated = make_delivery(minimised_dossier, context={"confidentiality": "zeer_geheim"})
    assert wt.encode_message(stated)["zaak"]["vertrouwelijkheidaanduiding"] == "zeer_geheim"


def test_unreadable_content_is_a_bad_response() -> None:
    broken = {"zaak": {}, "informatieobject": {"inhoud": "not base64!"}}
    with pytest.raises(AdapterError) as raised:
        wt.ADAPTER.to_canonical(broken)
    assert raised.value.reason == "bad_response"


@pytest.mark.parametrize("fixture", FIXTURES, ids=["voorbeeld", "bedacht"])
def test_seeded_zaak_is_a_valid_canonical_dossier(fixture: dict[str, Any]) -> None:
    Gezinsdossier.model_validate(wt.decode_message(fixture))


async def test_deliver_stores_native_zaak(client: httpx.AsyncClient, checks: SimulatorChecks,
                                          make_delivery: Callable[..., Delivery],
                                          full_dossier: dict[str, Any]) -> None:
    delivery = make_delivery(full_dossier, flow="F8", purpose="hulp_tijdens_ots")
    stored = await checks.deliver_twice(wt.ADAPTER, client, delivery)
    assert stored["zaak"]["identificatie"] == delivery.exchange_id
    assert stored["zaak"]["zaaktype"] == "urn:kgb:zaaktype:F8"
    assert stored["zaak"]["eigenschappen"]["grondslag"] == delivery.legal_basis
    assert wt.decode_message(stored) == full_dossier


async def test_deliver_minimised_dossier(client: httpx.AsyncClient, checks: SimulatorChecks,
                                         make_delivery: Callable[..., Delivery],
                                         minimised_dossier: dict[str, Any]) -> None:
    stored = await checks.deliver_twice(wt.ADAPTER, client, make_delivery(minimised_dossier))
    assert wt.decode_message(stored) == minimised_dossier


async def test_fetch_known_bsn(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                               make_fetch: Callable[..., FetchRequest]) -> None:
    dossier = await wt.ADAPTER.fetch(client, endpoint, make_fetch("111222333"))
    model = Gezinsdossier.model_validate(dossier)
    assert model.plan is not None
    assert model.plan.case_director == "buurtteammedewerker"
    other = await wt.ADAPTER.fetch(client, endpoint, make_fetch("999920017", role="ouder"))
    assert other["persons"][1]["interpreter_needed"] is True


async def test_fetch_unknown_bsn_is_a_problem_json(client: httpx.AsyncClient, checks: SimulatorChecks,
                                                   make_fetch: Callable[..., FetchRequest]) -> None:
    await checks.unknown_bsn_is_rejected(wt.ADAPTER, client, make_fetch("999999990"))
    response = await client.post(wt.QUERY_PATH, json={wt.BSN_FILTER: ["999999990"]})
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


async def test_fault_injection(client: httpx.AsyncClient, checks: SimulatorChecks,
                               make_delivery: Callable[..., Delivery], full_dossier: dict[str, Any]) -> None:
    await checks.fault_fails_delivery(wt.ADAPTER, client, make_delivery(full_dossier))


async def test_health(client: httpx.AsyncClient, checks: SimulatorChecks) -> None:
    await checks.health(wt.ADAPTER, client)
