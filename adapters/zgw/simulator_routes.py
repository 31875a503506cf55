"""The routes of the ZGW simulator (`adapters.zgw.simulator`): the API calls the gateway makes, and test hooks."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from adapters.simkit import FaultRequest
from adapters.zgw.simulator import (
    BSN_FILTER,
    CATALOGI,
    DOCUMENTEN,
    ZAKEN,
    Json,
    Problem,
    ZgwSimulator,
    check_rsin,
    content_of,
    hold,
    invalid,
    local_path,
    page,
    render,
    take_fault,
)
from gateway.relay.port import AdapterError

_CRS = {"Content-Crs": "EPSG:4326"}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _not_found() -> Problem:
    return Problem(404, "not_found", "Niet gevonden.")


async def _fault(sim: ZgwSimulator, scope: str) -> float:
    """Apply a pending fault: a failure answers at once (after its delay); a delay is returned to hold later."""
    fault = take_fault(sim, scope)
    if fault is None:
        return 0.0
    status, delay = fault
    if status is not None:
        await hold(delay)
        raise Problem(status, "storing", "Er is een serverfout.")
    return delay


def _zaken(sim: ZgwSimulator, filters: Mapping[str, Any]) -> list[Json]:
    found = []
    for path, zaak in sim.store.zaken.items():
        if filters.get("identificatie") not in (None, zaak.get("identificatie")):
            continue
        if filters.get("bronorganisatie") not in (None, zaak.get("bronorganisatie")):
            continue
        bsn = filters.get(BSN_FILTER)
        if bsn is not None and bsn not in sim.store.bsns.get(path, frozenset()):
            continue
        found.append(zaak)
    return found


def _decoded(sim: ZgwSimulator, content: bytes) -> Json | None:
    if sim.config.decode is None:
        return None
    try:
        return sim.config.decode(content)
    except (AdapterError, ValueError, TypeError, KeyError):
        return None  # content the partner's mapping cannot read: the raw body is still there


def add_api_routes(app: FastAPI, sim: ZgwSimulator) -> None:
    _catalogi_routes(app, sim)
    _zaken_routes(app, sim)
    _link_routes(app, sim)
    _documenten_routes(app, sim)

    @app.get("/health")
    async def health() -> Mapping[str, str]:
        return {"status": "ok"}

    @app.get(ZAKEN + "/")
    async def api_root(request: Request) -> Json:
        return {"zaken": f"{_base(request)}{ZAKEN}/zaken"}


def _catalogi_routes(app: FastAPI, sim: ZgwSimulator) -> None:
    @app.get(CATALOGI + "/zaaktypen")
    async def zaaktypen(request: Request, identificatie: str | None = None) -> Json:
        sim.authenticate(request)
        zaaktype = sim.catalog()[sim.zaaktype_path]
        return page([zaaktype] if identificatie in (None, zaaktype["identificatie"]) else [], _base(request))

    @app.get(CATALOGI + "/informatieobjecttypen")
    async def informatieobjecttypen(request: Request, catalogus: str | None = None) -> Json:
        sim.authenticate(request)
        types = [sim.catalog()[sim.iot_path]]
        return page([t for t in types if catalogus is None or local_path(catalogus) == t["catalogus"]],
                    _base(request))

    @app.get(CATALOGI + "/{kind}/{item}")
    async def catalog_item(request: Request, kind: str, item: str) -> Json:
        sim.authenticate(request)
        found = sim.catalog().get(f"{CATALOGI}/{kind}/{item}")
        if found is None:
            raise _not_found()
        return render(found, _base(request))


def _zaken_routes(app: FastAPI, sim: ZgwSimulator) -> None:
    numbers = itertools.count(1)

    @app.get(ZAKEN + "/zaken")
    async def list_zaken(request: Request) -> Response:
        sim.authenticate(request)
        sim.require_crs(request, content=False)
        filters = dict(request.query_params)
        delay = await _fault(sim, "query") if BSN_FILTER in filters else 0.0
        await hold(delay)
        return JSONResponse(page(_zaken(sim, filters), _base(request)), headers=_CRS)

    @app.post(ZAKEN + "/zaken/_zoek")
    async def search_zaken(request: Request) -> Response:
        sim.authenticate(request)
        sim.require_crs(request, content=False)
        await hold(await _fault(sim, "query"))
        body = await sim.body(request, "zaak_zoek")
        return JSONResponse(page(_zaken(sim, body), _base(request)), headers=_CRS)

    @app.post(ZAKEN + "/zaken")
    async def create_zaak(request: Request) -> Response:
        delay = await _fault(sim, "receive")
        sim.authenticate(request)
        sim.require_crs(request, content=True)
        body = await sim.body(request, "zaak")
        check_rsin("bronorganisatie", body["bronorganisatie"])
        check_rsin("verantwoordelijkeOrganisatie", body["verantwoordelijkeOrganisatie"])
        if local_path(body["zaaktype"]) != sim.zaaktype_path:
            raise invalid("zaaktype", "bad-url", "Het zaaktype is onbekend.")
        if "identificatie" in body and _zaken(sim, body):
            raise invalid("identificatie", "identificatie-niet-uniek",
                          "Deze identificatie bestaat al voor deze bronorganisatie")
        identificatie = body.get("identificatie") or f"ZAAK-2025-{next(numbers):07d}"
        path = sim.add_zaak({**body, "identificatie": identificatie, "zaaktype": sim.zaaktype_path})
        zaak = render(sim.store.zaken[path], _base(request))
        sim.store.received[path] = {
            "exchange_id": request.headers.get("x-exchange-id"), "traceparent": request.headers.get("traceparent"),
            "identificatie": identificatie,
            "receipt": {"url": zaak["url"], "uuid": zaak["uuid"], "identificatie": identificatie},
            "body": {"zaak": body}}
        await hold(delay)  # stored, then held: the caller times out although the zaak exists
        return JSONResponse(zaak, status_code=201, headers={**_CRS, "Location": zaak["url"]})

    @app.get(ZAKEN + "/zaken/{zaak_uuid}")
    async def read_zaak(request: Request, zaak_uuid: str) -> Response:
        sim.authenticate(request)
        sim.require_crs(request, content=False)
        zaak = sim.store.zaken.get(f"{ZAKEN}/zaken/{zaak_uuid}")
        if zaak is None:
            raise _not_found()
        return JSONResponse(render(zaak, _base(request)), headers=_CRS)



def _link_routes(app: FastAPI, sim: ZgwSimulator) -> None:
    @app.get(ZAKEN + "/zaakinformatieobjecten")
    async def list_links(request: Request, zaak: str | None = None) -> list[Json]:
        sim.authenticate(request)
        return [render(link, _base(request)) for link in sim.store.links
                if zaak is None or local_path(zaak) == link["zaak"]]

    @app.post(ZAKEN + "/zaakinformatieobjecten")
    async def create_link(request: Request) -> Response:
        delay = await _fault(sim, "receive")
        sim.authenticate(request)
        body = await sim.body(request, "zaakinformatieobject")
        zaak, document = local_path(body["zaak"]), local_path(body["informatieobject"])
        if zaak not in sim.store.zaken:
            raise invalid("zaak", "bad-url", "De zaak is onbekend.")
        if document not in sim.store.documents:
            raise invalid("informatieobject", "bad-url", "Het informatieobject is onbekend.")
        if any(link["zaak"] == zaak and link["informatieobject"] == document for link in sim.store.links):
            raise invalid("nonFieldErrors", "unique", "Dit informatieobject hoort al bij deze zaak.")
        link = {**body, "zaak": zaak, "informatieobject": document,
                "_path": f"{ZAKEN}/zaakinformatieobjecten/{document.rsplit('/', 1)[-1]}"}
        sim.store.links.append(link)
        entry = sim.store.received.get(zaak)
        if entry is not None:
            entry["body"]["informatieobject"] = sim.store.documents[document]["_request"]
            entry["body"]["zaakinformatieobject"] = body
            entry["dossier"] = _decoded(sim, sim.store.contents[document])
        await hold(delay)
        return JSONResponse(render(link, _base(request)), status_code=201)


def _documenten_routes(app: FastAPI, sim: ZgwSimulator) -> None:
    root = DOCUMENTEN + "/enkelvoudiginformatieobjecten"

    def rendered(document: Json, request: Request) -> Json:
        out = render({k: v for k, v in document.items() if k != "_request"}, _base(request))
        out["inhoud"] = f"{out['url']}/download"
        return out

    @app.get(root)
    async def list_documents(request: Request, identificatie: str | None = None,
                             bronorganisatie: str | None = None) -> Json:
        sim.authenticate(request)
        found = [rendered(d, request) for d in sim.store.documents.values()
                 if identificatie in (None, d.get("identificatie"))
                 and bronorganisatie in (None, d.get("bronorganisatie"))]
        return {"count": len(found), "next": None, "previous": None, "results": found}

    @app.post(root)
    async def create_document(request: Request) -> Response:
        delay = await _fault(sim, "receive")
        sim.authenticate(request)
        body = await sim.body(request, "enkelvoudiginformatieobject")
        check_rsin("bronorganisatie", body["bronorganisatie"])
        if local_path(body["informatieobjecttype"]) != sim.iot_path:
            raise invalid("informatieobjecttype", "bad-url", "Het informatieobjecttype is onbekend.")
        if "identificatie" in body and any(
                d.get("identificatie") == body["identificatie"] and d.get("bronorganisatie") == body["bronorganisatie"]
                for d in sim.store.documents.values()):
            raise invalid("identificatie", "identificatie-niet-uniek",
                          "Deze identificatie bestaat al voor deze bronorganisatie")
        path = sim.add_document({**body, "informatieobjecttype": sim.iot_path}, content_of(body))
        sim.store.documents[path]["_request"] = body
        await hold(delay)
        return JSONResponse(rendered(sim.store.documents[path], request), status_code=201)

    @app.get(root + "/{doc_uuid}")
    async def read_document(request: Request, doc_uuid: str) -> Json:
        sim.authenticate(request)
        document = sim.store.documents.get(f"{root}/{doc_uuid}")
        if document is None:
            raise _not_found()
        return rendered(document, request)

    @app.get(root + "/{doc_uuid}/download")
    async def download(request: Request, doc_uuid: str) -> Response:
        sim.authenticate(request)
        content = sim.store.contents.get(f"{root}/{doc_uuid}")
        if content is None:
            raise _not_found()
        return Response(content, media_type="application/octet-stream")


def add_test_routes(app: FastAPI, sim: ZgwSimulator) -> None:
    @app.get("/_sim/received")
    async def received() -> list[Json]:
        return list(sim.store.received.values())

    @app.delete("/_sim/received", status_code=204)
    async def clear_received() -> None:
        sim.reset()

    @app.post("/_sim/faults", status_code=204)
    async def add_fault(fault: FaultRequest) -> None:
        sim.faults.add_fault(fault)

    @app.delete("/_sim/faults", status_code=204)
    async def clear_faults() -> None:
        sim.faults.faults.clear()
