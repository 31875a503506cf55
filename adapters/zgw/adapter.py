"""The ZGW adapter: a delivery becomes a zaak with one document in VNG's Zaken, Documenten and Catalogi APIs.

Deliver (every request follows the published request schemas vendored in `adapters/zgw/schemas/`):
1. resolve, once per partner, the zaaktype (by `identificatie`) and the informatieobjecttype (by `omschrijving`,
   in the zaaktype's catalogus) in the Catalogi API, and the catalogus's RSIN (the bronorganisatie);
2. `GET /zaken/api/v1/zaken?identificatie=…&bronorganisatie=…` for the delivery's zaak — its `identificatie` is
   derived from the delivery's idempotency key — and create it (`POST /zaken`) only if there is none, so a
   redelivery never makes a second zaak (a racing attempt's `identificatie-niet-uniek` means: use that zaak);
3. the dossier, in the partner's own terms (its YAML mapping), as an enkelvoudiginformatieobject (`POST
   /documenten/api/v1/enkelvoudiginformatieobjecten`, base64 `inhoud`), again looked up by `identificatie` first;
4. the link, `POST /zaken/api/v1/zaakinformatieobjecten`, unless the zaak already has it.
The vertrouwelijkheidaanduiding of zaak and document is the strictest of the configured default and the labels
of the data categories the dossier holds (health, justice → zeer_geheim). It labels; it does not decide.

Fetch finds the zaak by a subject's BSN (`_zoek` with the BSN in the body, never in a URL) and reads the dossier
from its document. Authentication (ZGW's JWT) lives on the HTTP client the relay passes in; errors are reason
codes only (`adapters.common`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from adapters.common import json_object, subject_bsns, trace_headers
from adapters.declarative import PartnerMapping
from adapters.mapping import Json
from gateway.dossier.fields import flatten
from gateway.relay.port import AdapterError, Delivery, DeliveryReceipt, FetchRequest, PartnerEndpoint

LABELS = ("openbaar", "beperkt_openbaar", "intern", "zaakvertrouwelijk", "vertrouwelijk", "confidentieel",
          "geheim", "zeer_geheim")
CRS = {"Accept-Crs": "EPSG:4326"}  # the Zaken API refuses zaak calls without it (zaakgeometrie)
BSN_FILTER = "rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn"
DUPLICATE = "identificatie-niet-uniek"
_MAPPING_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError)


@dataclass(frozen=True)
class Catalog:
    zaaktype: str
    informatieobjecttype: str
    rsin: str


@dataclass(frozen=True)
class _Attempt:
    """One delivery attempt: what every call of it needs."""

    endpoint: PartnerEndpoint
    delivery: Delivery
    catalog: Catalog
    identificatie: str
    label: str
    trace: Mapping[str, str]


def zaak_identificatie(delivery_key: str, prefix: str) -> str:
    """Stable per delivery (≤ 40 characters, the API's limit): the same delivery always names the same zaak."""
    return prefix + hashlib.sha256(delivery_key.encode()).hexdigest()[:32]


def _jsonable(dossier: Mapping[str, Any]) -> Json:
    loaded: Json = orjson.loads(orjson.dumps(dossier))  # a python-mode dump (date objects) as JSON values
    return loaded


class ZgwAdapter:
    """A `PartnerAdapter` for a ZGW case system; the dossier's native shape comes from a YAML mapping."""

    def __init__(self, *, name: str, mapping: PartnerMapping) -> None:
        options = mapping.spec.options.zgw
        if options is None:
            raise TypeError("a ZGW adapter needs options.zgw in its mapping")
        self.name = name
        self.mapping = mapping
        self.options = options
        self._catalogs: dict[str, Catalog] = {}

    # --- mapping -------------------------------------------------------------------------------------------

    def confidentiality(self, delivery: Delivery) -> str:
        labels = [self.options.default_confidentiality]
        categories = {field.category for field in flatten(_jsonable(delivery.dossier))}
        labels += [label for category, label in self.options.category_confidentiality.items()
                   if category.value in categories]
        return str(max(labels, key=LABELS.index))

    def document_content(self, dossier: Mapping[str, Any]) -> bytes:
        try:
            return orjson.dumps(self.mapping.dossier_to_native(dossier))
        except (*_MAPPING_ERRORS, orjson.JSONEncodeError):
            raise AdapterError("unmappable") from None

    def content_to_dossier(self, content: bytes) -> Json:
        try:
            native = orjson.loads(content)
            if not isinstance(native, dict):
                raise TypeError("document content is not an object")
            return self.mapping.native_to_dossier(native)
        except (*_MAPPING_ERRORS, orjson.JSONDecodeError):
            raise AdapterError("bad_response") from None

    # --- HTTP ----------------------------------------------------------------------------------------------

    def _url(self, endpoint: PartnerEndpoint, api: str, path: str) -> str:
        root: str = getattr(self.options.apis, api)
        return endpoint.base_url.rstrip("/") + root.rstrip("/") + path

    async def _call(self, client: httpx.AsyncClient, method: str, url: str, *, body: Json | None = None,
                    headers: Mapping[str, str] | None = None) -> httpx.Response:
        try:
            return await client.request(method, url, content=None if body is None else orjson.dumps(body),
                                        headers={"Content-Type": "application/json", **(headers or {})})
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise AdapterError("unreachable") from exc

    async def _get(self, client: httpx.AsyncClient, url: str, params: Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None) -> Any:
        if params:
            url = str(httpx.URL(url, params=params))
        response = await self._call(client, "GET", url, headers=headers)
        return _json_any(response)

    async def _results(self, client: httpx.AsyncClient, url: str, params: Mapping[str, str]) -> list[Json]:
        """A paginated ZGW list, following `next` (bounded: these lists are short)."""
        page: Any = await self._get(client, url, params)
        results: list[Json] = []
        for _ in range(20):
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise AdapterError("bad_response")
            results += [item for item in page["results"] if isinstance(item, dict)]
            if not page.get("next"):
                return results
            page = await self._get(client, str(page["next"]))
        return results

    async def catalog(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint) -> Catalog:
        """Zaaktype, informatieobjecttype and RSIN from the partner's Catalogi API, cached per partner."""
        cached = self._catalogs.get(endpoint.base_url)
        if cached is not None:
            return cached
        zaaktypen = await self._results(client, self._url(endpoint, "catalogi", "/zaaktypen"),
                                        {"identificatie": self.options.zaaktype, "status": "definitief"})
        if not zaaktypen:
            raise AdapterError("zaaktype_unknown")
        zaaktype = zaaktypen[-1]  # the newest published version
        catalogus = str(zaaktype.get("catalogus"))
        types = await self._results(client, self._url(endpoint, "catalogi", "/informatieobjecttypen"),
                                    {"catalogus": catalogus, "status": "definitief"})
        document_type = next((t for t in types if t.get("omschrijving") == self.options.informatieobjecttype), None)
        if document_type is None:
            raise AdapterError("informatieobjecttype_unknown")
        rsin = self.options.bronorganisatie
        if rsin is None:
            owner = await self._get(client, catalogus)
            rsin = owner.get("rsin") if isinstance(owner, dict) else None
        if not isinstance(rsin, str) or not isinstance(zaaktype.get("url"), str):
            raise AdapterError("bad_response")
        found = Catalog(zaaktype["url"], str(document_type.get("url")), rsin)
        self._catalogs[endpoint.base_url] = found
        return found

    # --- deliver -------------------------------------------------------------------------------------------

    async def deliver(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                      delivery: Delivery) -> DeliveryReceipt:
        content = self.document_content(delivery.dossier)  # before any I/O: an unmappable dossier never leaves
        label = self.confidentiality(delivery)
        trace = trace_headers(delivery.trace_id, delivery.exchange_id)
        catalog = await self.catalog(client, endpoint)
        identificatie = zaak_identificatie(delivery.delivery_key, self.options.identificatie_prefix)
        attempt = _Attempt(endpoint, delivery, catalog, identificatie, label, trace)
        zaak = await self._find_zaak(client, endpoint, identificatie, catalog.rsin, trace)
        created = zaak is None
        if zaak is None:
            zaak = await self._create_zaak(client, attempt)
        linked = await self._get(client, self._url(endpoint, "zaken", "/zaakinformatieobjecten"),
                                 {"zaak": str(zaak["url"])}, trace)
        if not isinstance(linked, list):
            raise AdapterError("bad_response")
        if not linked:
            document = await self._document(client, attempt, content)
            body = {"zaak": zaak["url"], "informatieobject": document, "titel": self.options.document_title}
            json_object(await self._call(client, "POST", self._url(endpoint, "zaken", "/zaakinformatieobjecten"),
                                         body=body, headers=trace))
            created = True
        return DeliveryReceipt(status_code=201 if created else 200, partner_reference=identificatie)

    async def _find_zaak(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint, identificatie: str,
                         rsin: str, trace: Mapping[str, str]) -> Json | None:
        page = await self._get(client, self._url(endpoint, "zaken", "/zaken"),
                               {"identificatie": identificatie, "bronorganisatie": rsin}, {**CRS, **trace})
        results = page.get("results") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise AdapterError("bad_response")
        zaak = next((z for z in results if isinstance(z, dict) and z.get("identificatie") == identificatie), None)
        if zaak is not None and not isinstance(zaak.get("url"), str):
            raise AdapterError("bad_response")
        return zaak

    async def _create_zaak(self, client: httpx.AsyncClient, attempt: _Attempt) -> Json:
        delivery, catalog = attempt.delivery, attempt.catalog
        body: Json = {
            "identificatie": attempt.identificatie, "bronorganisatie": catalog.rsin, "zaaktype": catalog.zaaktype,
            "verantwoordelijkeOrganisatie": self.options.verantwoordelijke_organisatie or catalog.rsin,
            "startdatum": _today(), "vertrouwelijkheidaanduiding": attempt.label,
            "omschrijving": f"{delivery.purpose} ({delivery.flow})"[:80],
            "toelichting": (f"Ontvangen van {delivery.sender_name} via de gegevensuitwisseling; uitwisseling "
                            f"{delivery.exchange_id}, logpositie {delivery.log_position}.")[:1000],
        }
        if len(delivery.exchange_id) <= 40:
            body["kenmerken"] = [{"kenmerk": delivery.exchange_id, "bron": "gegevensuitwisseling"}]
        response = await self._call(client, "POST", self._url(attempt.endpoint, "zaken", "/zaken"), body=body,
                                    headers={**CRS, "Content-Crs": "EPSG:4326", **attempt.trace})
        if response.status_code == 400 and _is_duplicate(response):
            # Another attempt of this delivery created it in the meantime: use that zaak.
            found = await self._find_zaak(client, attempt.endpoint, attempt.identificatie, catalog.rsin,
                                          attempt.trace)
            if found is not None:
                return found
        zaak = json_object(response)
        if not isinstance(zaak.get("url"), str):
            raise AdapterError("bad_response", response.status_code)
        return zaak

    async def _document(self, client: httpx.AsyncClient, attempt: _Attempt, content: bytes) -> str:
        """The document's URL: the one an earlier attempt stored, else a new one."""
        delivery, rsin = attempt.delivery, attempt.catalog.rsin
        url = self._url(attempt.endpoint, "documenten", "/enkelvoudiginformatieobjecten")
        existing = await self._get(client, url, {"identificatie": attempt.identificatie, "bronorganisatie": rsin},
                                   attempt.trace)
        results = existing.get("results") if isinstance(existing, dict) else existing
        earlier = next((d for d in results or [] if isinstance(d, dict) and isinstance(d.get("url"), str)), None)
        if earlier is not None:
            return str(earlier["url"])
        body = {
            "identificatie": attempt.identificatie, "bronorganisatie": rsin, "creatiedatum": _today(),
            "titel": self.options.document_title, "vertrouwelijkheidaanduiding": attempt.label,
            "auteur": delivery.sender_name[:200] or delivery.sender_id, "formaat": "application/json",
            "taal": "dut", "bestandsnaam": f"gezinsdossier-{attempt.identificatie}.json",
            "inhoud": base64.b64encode(content).decode("ascii"),
            "informatieobjecttype": attempt.catalog.informatieobjecttype,
            "beschrijving": f"Gezinsdossier, doel {delivery.purpose}, stroom {delivery.flow}"[:1000],
        }
        document = json_object(await self._call(client, "POST", url, body=body, headers=attempt.trace))
        if not isinstance(document.get("url"), str):
            raise AdapterError("bad_response")
        return str(document["url"])

    # --- fetch and health ------------------------------------------------------------------------------------

    async def fetch(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                    request: FetchRequest) -> dict[str, Any]:
        bsns = subject_bsns(request)
        if not bsns:
            raise AdapterError("no_subject_identifier")
        trace = trace_headers(request.trace_id, request.exchange_id)
        for bsn in bsns:
            response = await self._call(client, "POST", self._url(endpoint, "zaken", "/zaken/_zoek"),
                                        body={BSN_FILTER: bsn}, headers={**CRS, **trace})
            results = json_object(response).get("results")
            if isinstance(results, list) and results:
                return await self._read_dossier(client, endpoint, results[0], trace)
        raise AdapterError("rejected", 404)  # no zaak for any of the subjects

    async def _read_dossier(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint, zaak: Any,
                            trace: Mapping[str, str]) -> Json:
        if not isinstance(zaak, dict) or not isinstance(zaak.get("url"), str):
            raise AdapterError("bad_response")
        links = await self._get(client, self._url(endpoint, "zaken", "/zaakinformatieobjecten"),
                                {"zaak": zaak["url"]}, trace)
        if not isinstance(links, list) or not links or not isinstance(links[0], dict):
            raise AdapterError("bad_response")
        document = await self._get(client, str(links[0].get("informatieobject")), headers=trace)
        if not isinstance(document, dict) or not isinstance(document.get("inhoud"), str):
            raise AdapterError("bad_response")
        response = await self._call(client, "GET", document["inhoud"], headers=trace)  # the download URL
        if response.status_code != 200:
            raise AdapterError("bad_response", response.status_code)
        return self.content_to_dossier(response.content)

    async def health(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint) -> bool:
        try:
            response = await client.get(endpoint.base_url.rstrip("/") + self.options.health_path)
        except (httpx.HTTPError, httpx.InvalidURL):
            return False
        return response.status_code == 200


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def _json_any(response: httpx.Response) -> Any:
    """Like `json_object`, but a ZGW list endpoint may answer a JSON array."""
    if 200 <= response.status_code < 300:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise AdapterError("bad_response", response.status_code) from None
    return json_object(response)  # raises the reason code for the status


def _is_duplicate(response: httpx.Response) -> bool:
    try:
        problem = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return False
    params = problem.get("invalidParams") if isinstance(problem, dict) else None
    return isinstance(params, list) and any(isinstance(p, dict) and p.get("code") == DUPLICATE for p in params)


def decode_inhoud(inhoud: str) -> bytes:
    try:
        return base64.b64decode(inhoud, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("document content is not base64") from None
