"""Wijkteam (a ZGW case system): the dossier mapping both ways, and the ZGW adapter against the ZGW simulator."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from adapters.wijkteam import adapter as wt
from adapters.wijkteam.fixtures import FIXTURES
from adapters.wijkteam.simulator import RSIN, create_app
from adapters.zgw.adapter import zaak_identificatie
from adapters.zgw.auth import ZgwJwt
from gateway.dossier.model import Gezinsdossier
from gateway.relay.port import AdapterError, Delivery, FetchRequest, PartnerEndpoint
from tests.adapters.adapter_checks import ENCRYPTED, PSEUDONYM, SimulatorChecks

SECRET = "test-secret-for-the-wijkteam-simulator-0123456789"


@pytest.fixture
def simulator() -> FastAPI:
    return create_app({"kgb-gateway": SECRET})


@pytest.fixture
async def client(simulator: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=simulator)
    auth = ZgwJwt(client_id="kgb-gateway", secret=SECRET, user_id="kgb-gateway", user_representation="Gateway")
    async with httpx.AsyncClient(transport=transport, base_url="http://sim", auth=auth) as client:
        yield client


def test_full_dossier_as_zgw_document_content(full_dossier: dict[str, Any]) -> None:
    content = wt.dossier_to_native(full_dossier)
    assert content["kenmerken"] == [{"bron": "wijkteam-voorbeeldstad", "kenmerk": "WT-2025-0042"}]
    noor = content["rollen"][0]
    assert (noor["roltype"], noor["betrokkeneType"]) == ("jeugdige", "natuurlijk_persoon")  # a YAML constant
    assert noor["betrokkeneIdentificatie"]["inpBsn"] == "111222333"
    assert noor["betrokkeneIdentificatie"]["geslachtsaanduiding"] == "v"
    assert content["huishouden"]["adres"]["aoaPostcode"] == "1234 AB"
    assert content["plan"]["regisseur"] == "jeugdbeschermer"
    assert content["beschikkingen"][0]["maatregel"] == "vots"


def test_full_dossier_round_trip(full_dossier: dict[str, Any]) -> None:
    assert wt.native_to_dossier(wt.dossier_to_native(full_dossier)) == full_dossier


def test_minimised_dossier_round_trip(minimised_dossier: dict[str, Any]) -> None:
    content = wt.dossier_to_native(minimised_dossier)
    identities = [rol.get("betrokkeneIdentificatie") for rol in content["rollen"]]
    assert identities[0] == {"inpBsn": PSEUDONYM, "geboortedatum": "2016", "geslachtsaanduiding": "v"}
    assert identities[1] == {"inpBsn": ENCRYPTED, "geboortedatum": "30-39"}
    assert wt.native_to_dossier(content) == minimised_dossier


@pytest.mark.parametrize("fixture", FIXTURES, ids=["voorbeeld", "bedacht"])
def test_seeded_document_is_a_valid_canonical_dossier(fixture: dict[str, Any]) -> None:
    Gezinsdossier.model_validate(wt.native_to_dossier(fixture))


def test_confidentiality_from_data_categories(make_delivery: Callable[..., Delivery], full_dossier: dict[str, Any],
                                              minimised_dossier: dict[str, Any]) -> None:
    assert wt.ADAPTER.confidentiality(make_delivery(full_dossier)) == "zeer_geheim"  # health and justice data
    assert wt.ADAPTER.confidentiality(make_delivery(minimised_dossier)) == "vertrouwelijk"
    mental = {"involvements": [{"kind": "behandeling", "mental_health": True}]}  # health data by content
    assert wt.ADAPTER.confidentiality(make_delivery(mental)) == "zeer_geheim"
    huisverbod = {"signals": [{"kind": "melding", "restraining_order": True}]}  # criminal-law data
    assert wt.ADAPTER.confidentiality(make_delivery(huisverbod)) == "zeer_geheim"


async def test_deliver_creates_zaak_document_and_link(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                                                      make_delivery: Callable[..., Delivery],
                                                      full_dossier: dict[str, Any]) -> None:
    delivery = make_delivery(full_dossier, flow="F8", purpose="hulp_tijdens_ots")
    receipt = await wt.ADAPTER.deliver(client, endpoint, delivery)
    identificatie = zaak_identificatie(delivery.delivery_key, "KGB-")
    assert (receipt.status_code, receipt.partner_reference) == (201, identificatie)
    [stored] = (await client.get("/_sim/received")).json()
    assert stored["exchange_id"] == delivery.exchange_id
    assert stored["traceparent"].startswith("00-")
    zaak = stored["body"]["zaak"]
    assert zaak["identificatie"] == identificatie
    assert (zaak["bronorganisatie"], zaak["verantwoordelijkeOrganisatie"]) == (RSIN, RSIN)  # from the catalogus
    assert zaak["zaaktype"].startswith("http://sim/catalogi/api/v1/zaaktypen/")
    assert zaak["vertrouwelijkheidaanduiding"] == "zeer_geheim"
    assert zaak["omschrijving"] == "hulp_tijdens_ots (F8)"
    document = stored["body"]["informatieobject"]
    assert (document["taal"], document["formaat"], document["vertrouwelijkheidaanduiding"]) == (
        "dut", "application/json", "zeer_geheim")
    assert document["auteur"] == delivery.sender_name
    assert document["informatieobjecttype"].startswith("http://sim/catalogi/api/v1/informatieobjecttypen/")
    assert orjson.loads(base64.b64decode(document["inhoud"])) == wt.dossier_to_native(full_dossier)
    assert stored["body"]["zaakinformatieobject"]["zaak"] == stored["receipt"]["url"]
    assert wt.decode_message(stored["body"]) == full_dossier
    assert stored["dossier"] == full_dossier  # the test hook's plain-text view of what arrived


async def test_redelivery_creates_nothing_twice(client: httpx.AsyncClient, simulator: FastAPI,
                                                endpoint: PartnerEndpoint, make_delivery: Callable[..., Delivery],
                                                minimised_dossier: dict[str, Any]) -> None:
    delivery = make_delivery(minimised_dossier)
    first = await wt.ADAPTER.deliver(client, endpoint, delivery)
    again = await wt.ADAPTER.deliver(client, endpoint, delivery)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.partner_reference == first.partner_reference
    received = (await client.get("/_sim/received")).json()
    assert len(received) == 1
    assert wt.decode_message(received[0]["body"]) == minimised_dossier
    sim = simulator.state.sim  # the simulator's own store: one zaak, one link
    created = {path for path, zaak in sim.store.zaken.items() if zaak["identificatie"] == first.partner_reference}
    assert len(created) == 1
    assert sum(link["zaak"] in created for link in sim.store.links) == 1
    other = await wt.ADAPTER.deliver(client, endpoint, make_delivery(minimised_dossier, delivery_key="ex-2:org"))
    assert other.status_code == 201 and other.partner_reference != first.partner_reference


async def test_unmappable_dossier_sends_nothing(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                                                make_delivery: Callable[..., Delivery]) -> None:
    with pytest.raises(AdapterError) as raised:
        await wt.ADAPTER.deliver(client, endpoint, make_delivery({"persons": [{"ref": "p1", "shoe_size": 42}]}))
    assert raised.value.reason == "unmappable"
    assert "42" not in str(raised.value)
    assert (await client.get("/_sim/received")).json() == []


async def test_fetch_known_bsn(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                               make_fetch: Callable[..., FetchRequest]) -> None:
    dossier = await wt.ADAPTER.fetch(client, endpoint, make_fetch("111222333"))
    model = Gezinsdossier.model_validate(dossier)
    assert model.plan is not None
    assert model.plan.case_director == "buurtteammedewerker"
    other = await wt.ADAPTER.fetch(client, endpoint, make_fetch("999920017", role="ouder"))
    assert other["persons"][1]["interpreter_needed"] is True


async def test_fetch_unknown_bsn_is_rejected(client: httpx.AsyncClient, checks: SimulatorChecks,
                                             make_fetch: Callable[..., FetchRequest]) -> None:
    await checks.unknown_bsn_is_rejected(wt.ADAPTER, client, make_fetch("999999990"))


async def test_fault_fails_delivery_then_it_arrives(client: httpx.AsyncClient, checks: SimulatorChecks,
                                                    make_delivery: Callable[..., Delivery],
                                                    full_dossier: dict[str, Any]) -> None:
    await checks.fault_fails_delivery(wt.ADAPTER, client, make_delivery(full_dossier))


async def test_query_fault(client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                           make_fetch: Callable[..., FetchRequest]) -> None:
    await client.post("/_sim/faults", json={"fail_next": 1, "status": 502, "scope": "query"})
    with pytest.raises(AdapterError) as raised:
        await wt.ADAPTER.fetch(client, endpoint, make_fetch("111222333"))
    assert (raised.value.reason, raised.value.status_code) == ("partner_error", 502)


async def test_health(client: httpx.AsyncClient, checks: SimulatorChecks) -> None:
    await checks.health(wt.ADAPTER, client)
