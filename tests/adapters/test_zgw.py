"""The ZGW adapter's protocol: JWT auth, published request schemas, CRS headers, exactly-once zaak creation."""

from __future__ import annotations

import stat
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from adapters.wijkteam import adapter as wt
from adapters.wijkteam.simulator import RSIN, create_app
from adapters.zgw.adapter import decode_inhoud, zaak_identificatie
from adapters.zgw.auth import ZgwJwt, ZgwTokenError, verify_zgw_token, zgw_token
from adapters.zgw.simulator import schema_validator
from gateway.auth.keys import ensure_dev_partner_secrets
from gateway.registry.organisations import Organisation, OrganisationRegistry
from gateway.relay.partner_clients import PartnerConfigError, needs_own_client, partner_client
from gateway.relay.port import AdapterError, Delivery, PartnerEndpoint

SECRET = "zgw-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"  # pragma: allowlist secret (test-only)
ZAKEN = "/zaken/api/v1/zaken"
CRS = {"Accept-Crs": "EPSG:4326", "Content-Crs": "EPSG:4326"}


def _auth(secret: str = SECRET, **kwargs: Any) -> ZgwJwt:
    return ZgwJwt(client_id="kgb-gateway", secret=secret, user_id="kgb-gateway", user_representation="Gateway",
                  **kwargs)


@pytest.fixture
def simulator() -> FastAPI:
    return create_app({"kgb-gateway": SECRET})


@pytest.fixture
async def client(simulator: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator), base_url="http://sim",
                                 auth=_auth()) as client:
        yield client


async def _zaaktype(client: httpx.AsyncClient) -> str:
    page = (await client.get("/catalogi/api/v1/zaaktypen", params={"identificatie": "JEUGD-GEZINSDOSSIER"})).json()
    url: str = page["results"][0]["url"]
    return url


async def _zaak_body(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    return {"bronorganisatie": RSIN, "verantwoordelijkeOrganisatie": RSIN, "zaaktype": await _zaaktype(client),
            "startdatum": "2025-03-01", **overrides}


# --- JWT ------------------------------------------------------------------------------------------------------

def test_token_claims_and_verification() -> None:
    token = zgw_token(client_id="kgb-gateway", secret=SECRET, user_id="u1", user_representation="Gateway")
    assert verify_zgw_token(f"Bearer {token}", {"kgb-gateway": SECRET}) == "kgb-gateway"
    for wrong in ({"kgb-gateway": SECRET + "x"}, {"other": SECRET}):
        with pytest.raises(ZgwTokenError):
            verify_zgw_token(f"Bearer {token}", wrong)
    stale = zgw_token(client_id="kgb-gateway", secret=SECRET, user_id="u1", user_representation="Gateway",
                      now=lambda: time.time() - 3600)
    with pytest.raises(ZgwTokenError, match="too old"):
        verify_zgw_token(f"Bearer {stale}", {"kgb-gateway": SECRET})
    for broken in (None, "", "Basic abc", f"Bearer {token[:-4]}", "Bearer a.b"):
        with pytest.raises(ZgwTokenError):
            verify_zgw_token(broken, {"kgb-gateway": SECRET})


async def test_simulator_refuses_calls_without_a_valid_jwt(simulator: FastAPI) -> None:
    transport = httpx.ASGITransport(app=simulator)
    for auth in (None, _auth("not-the-secret-0123456789-abcdefghijklmnop")):  # pragma: allowlist secret
        async with httpx.AsyncClient(transport=transport, base_url="http://sim", auth=auth) as client:
            response = await client.get("/catalogi/api/v1/zaaktypen")
            assert response.status_code == 403
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "not_authenticated"
            assert response.json()["instance"].startswith("urn:uuid:")


async def test_partner_client_signs_every_call(tmp_path: Path) -> None:
    org = Organisation.model_validate({
        "id": "wijkteam-test", "type": "wijkteam", "name": "Wijkteam", "oin": "0" * 20,
        "endpoint": {"base_url": "http://sim", "adapter": "wijkteam",
                     "zgw_jwt": {"client_id": "kgb-gateway", "secret_file": "partners/wt.secret"}}})
    assert org.endpoint is not None and needs_own_client(org.endpoint)
    with pytest.raises(PartnerConfigError):  # no secret yet: the gateway refuses to start
        partner_client(org, keys_dir=tmp_path, timeout=httpx.Timeout(1))
    assert ensure_dev_partner_secrets(tmp_path, OrganisationRegistry([org])) == ["wijkteam-test"]
    assert ensure_dev_partner_secrets(tmp_path, OrganisationRegistry([org])) == []  # kept, not replaced
    secret_file = tmp_path / "partners" / "wt.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    client = partner_client(org, keys_dir=tmp_path, timeout=httpx.Timeout(1))
    try:
        request = next(client.auth.sync_auth_flow(httpx.Request("GET", "http://sim/zaken/api/v1/zaken")))
    finally:
        await client.aclose()
    secret = secret_file.read_text().strip()
    assert verify_zgw_token(request.headers["Authorization"], {"kgb-gateway": secret}) == "kgb-gateway"


def test_zgw_jwt_excludes_other_auth() -> None:
    with pytest.raises(ValueError, match="zgw_jwt"):
        Organisation.model_validate({
            "id": "wijkteam-test", "type": "wijkteam", "name": "Wijkteam", "oin": "0" * 20,
            "endpoint": {"base_url": "http://sim", "adapter": "wijkteam", "api_key": {"secret_env": "A_KEY"},
                         "zgw_jwt": {"client_id": "kgb-gateway", "secret_env": "ZGW_SECRET"}}})


# --- published schemas and ZGW answers ------------------------------------------------------------------------

async def test_zaak_is_created_like_the_zaken_api(client: httpx.AsyncClient) -> None:
    response = await client.post(ZAKEN, json=await _zaak_body(client, identificatie="Z-1"), headers=CRS)
    assert response.status_code == 201
    assert response.headers["Content-Crs"] == "EPSG:4326"
    zaak = response.json()
    assert zaak["url"] == f"http://sim{ZAKEN}/{zaak['uuid']}"
    assert response.headers["Location"] == zaak["url"]
    duplicate = await client.post(ZAKEN, json=await _zaak_body(client, identificatie="Z-1"), headers=CRS)
    assert duplicate.status_code == 400
    assert duplicate.json()["invalidParams"][0] == {
        "name": "identificatie", "code": "identificatie-niet-uniek",
        "reason": "Deze identificatie bestaat al voor deze bronorganisatie"}
    found = (await client.get(ZAKEN, params={"identificatie": "Z-1", "bronorganisatie": RSIN}, headers=CRS)).json()
    assert (found["count"], found["results"][0]["url"]) == (1, zaak["url"])


@pytest.mark.parametrize(("change", "name", "code"), [
    ({"startdatum": None}, "startdatum", "required"),
    ({"bronorganisatie": "1234X"}, "bronorganisatie", "pattern"),
    ({"bronorganisatie": "123456789"}, "bronorganisatie", "invalid-rsin"),
    ({"omschrijving": "x" * 81}, "omschrijving", "maxLength"),
    ({"vertrouwelijkheidaanduiding": "heel_geheim"}, "vertrouwelijkheidaanduiding", "enum"),
    ({"zaaktype": "http://sim/catalogi/api/v1/zaaktypen/ZT-SENTINEL-77"}, "zaaktype", "bad-url"),
    ({"onbekendVeld": "SENTINEL-88"}, "nonFieldErrors", "additionalProperties"),
])
async def test_invalid_zaak_is_a_validatiefout(client: httpx.AsyncClient, change: dict[str, Any], name: str,
                                               code: str) -> None:
    body = {k: v for k, v in {**await _zaak_body(client), **change}.items() if v is not None}
    response = await client.post(ZAKEN, json=body, headers=CRS)
    assert response.status_code == 400
    problem = response.json()
    assert (problem["code"], problem["status"]) == ("invalid", 400)
    assert {"name": name, "code": code} in [{"name": p["name"], "code": p["code"]} for p in problem["invalidParams"]]
    for value in change.values():
        assert value is None or value not in response.text  # reasons never quote a submitted value


async def test_zaak_calls_need_crs_headers(client: httpx.AsyncClient) -> None:
    response = await client.post(ZAKEN, json=await _zaak_body(client), headers={"Accept-Crs": "EPSG:4326"})
    assert response.status_code == 412
    assert (await client.get(ZAKEN)).status_code == 412


def test_what_the_adapter_sends_follows_the_vendored_schemas() -> None:
    for name in ("zaak", "enkelvoudiginformatieobject", "zaakinformatieobject", "zaak_zoek"):
        assert schema_validator(name).schema["type"] == "object"
    assert set(schema_validator("zaak").schema["required"]) == {
        "bronorganisatie", "zaaktype", "verantwoordelijkeOrganisatie", "startdatum"}
    assert set(schema_validator("enkelvoudiginformatieobject").schema["required"]) == {
        "auteur", "bronorganisatie", "creatiedatum", "informatieobjecttype", "taal", "titel"}


# --- exactly once -------------------------------------------------------------------------------------------

async def test_zaak_left_behind_by_a_crash_is_completed_not_duplicated(
        client: httpx.AsyncClient, simulator: FastAPI, endpoint: PartnerEndpoint,
        make_delivery: Callable[..., Delivery], minimised_dossier: dict[str, Any]) -> None:
    delivery = make_delivery(minimised_dossier)
    identificatie = zaak_identificatie(delivery.delivery_key, "KGB-")
    # An earlier attempt created the zaak and then died before the document.
    created = await client.post(ZAKEN, json=await _zaak_body(client, identificatie=identificatie), headers=CRS)
    assert created.status_code == 201
    receipt = await wt.ADAPTER.deliver(client, endpoint, delivery)
    assert (receipt.status_code, receipt.partner_reference) == (201, identificatie)
    store = simulator.state.sim.store
    assert [z["identificatie"] for z in store.zaken.values()].count(identificatie) == 1
    assert [link["zaak"] for link in store.links].count(f"{ZAKEN}/{created.json()['uuid']}") == 1
    assert wt.decode_message(next(iter(store.received.values()))["body"]) == minimised_dossier
    assert (await wt.ADAPTER.deliver(client, endpoint, delivery)).status_code == 200


class _HideFirstLookup(httpx.AsyncBaseTransport):
    """The zaak lookup answers "none" once, as when two attempts of one delivery race each other."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.hidden = inner, False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.hidden and request.method == "GET" and request.url.path == ZAKEN:
            self.hidden = True
            return httpx.Response(200, json={"count": 0, "next": None, "previous": None, "results": []})
        return await self.inner.handle_async_request(request)


async def test_duplicate_identificatie_from_a_racing_attempt_uses_that_zaak(
        simulator: FastAPI, endpoint: PartnerEndpoint, make_delivery: Callable[..., Delivery]) -> None:
    delivery = make_delivery({"persons": []})
    identificatie = zaak_identificatie(delivery.delivery_key, "KGB-")
    transport = _HideFirstLookup(httpx.ASGITransport(app=simulator))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim", auth=_auth()) as client:
        await client.post(ZAKEN, json=await _zaak_body(client, identificatie=identificatie), headers=CRS)
        receipt = await wt.ADAPTER.deliver(client, endpoint, delivery)
    assert transport.hidden
    assert receipt.partner_reference == identificatie
    assert [z["identificatie"] for z in simulator.state.sim.store.zaken.values()].count(identificatie) == 1


async def test_unknown_zaaktype_is_a_reason_code(make_delivery: Callable[..., Delivery]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"count": 0, "next": None, "previous": None, "results": []})

    endpoint = PartnerEndpoint(organisation_id="x", organisation_type="wijkteam", display_name="X",
                               base_url="http://elsewhere", adapter="wijkteam")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(AdapterError) as raised:
            await wt.ADAPTER.deliver(client, endpoint, make_delivery({}))
    assert raised.value.reason == "zaaktype_unknown"


def test_unreadable_document_is_a_bad_response() -> None:
    for content in (b"not json", b"[1, 2]", b'{"rollen": [{"roltype": "ouder"}]}'):  # the last lacks its required ref
        with pytest.raises(AdapterError) as raised:
            wt.ADAPTER.content_to_dossier(content)
        assert raised.value.reason == "bad_response"
    with pytest.raises(ValueError, match="not base64"):
        decode_inhoud("not base64!")
    with pytest.raises(TypeError, match="no document"):
        wt.decode_message({"zaak": {}})  # a zaak whose document never arrived


async def test_received_keeps_unreadable_content_raw(client: httpx.AsyncClient) -> None:
    """A document the wijkteam mapping cannot read is still stored and listed; only the decoded view is empty."""
    zaak = (await client.post(ZAKEN, json=await _zaak_body(client, identificatie="Z-RAW"), headers=CRS)).json()
    iot = (await client.get("/catalogi/api/v1/informatieobjecttypen")).json()["results"][0]["url"]
    document = await client.post("/documenten/api/v1/enkelvoudiginformatieobjecten", json={
        "bronorganisatie": RSIN, "creatiedatum": "2025-03-01", "titel": "x", "auteur": "x", "taal": "dut",
        "informatieobjecttype": iot, "inhoud": "bm90IGpzb24="})  # "not json"
    assert document.status_code == 201
    link = await client.post("/zaken/api/v1/zaakinformatieobjecten",
                             json={"zaak": zaak["url"], "informatieobject": document.json()["url"]})
    assert link.status_code == 201
    [entry] = (await client.get("/_sim/received")).json()
    assert entry["dossier"] is None
    assert entry["body"]["informatieobject"]["inhoud"] == "bm90IGpzb24="
