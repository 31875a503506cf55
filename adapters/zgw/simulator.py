"""A simulated ZGW case system (Zaken, Documenten and Catalogi APIs, the parts the gateway uses), like Open Zaak.

It checks what a real one checks and answers like one: a ZGW JWT on every API call (HS256 with the client's
secret, `iat` not too old; else 403), every request body against the published schemas vendored in
`adapters/zgw/schemas/` (else 400 with ZGW's `ValidatieFout`: `invalidParams` with name, code and reason — never
a submitted value), `Accept-Crs`/`Content-Crs: EPSG:4326` on zaak calls (else 412), a known zaaktype and
informatieobjecttype, a valid RSIN, and a unique `identificatie` per bronorganisatie (else 400
`identificatie-niet-uniek`, as Open Zaak does). Created resources answer 201 with `url` and `uuid`; lists are
ZGW's paginated `{count, next, previous, results}` (the zaakinformatieobjecten list is a plain array).

Test hooks as in every simulator (`adapters.simkit`): `GET`/`DELETE /_sim/received` — one entry per zaak the
gateway created, its `body` holding the request bodies of zaak, document and link and `dossier` the document
decoded to canonical fields — and `POST`/`DELETE /_sim/faults` ("receive" faults hit the POSTs, "query" faults
the BSN search). In memory only.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import orjson
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from jsonschema import Draft202012Validator

from adapters.simkit import FaultRequest, SimState
from adapters.zgw.auth import ZgwTokenError, verify_zgw_token
from gateway.dossier.bsn import is_valid_bsn

Json = dict[str, Any]
ZAKEN, DOCUMENTEN, CATALOGI = "/zaken/api/v1", "/documenten/api/v1", "/catalogi/api/v1"
BSN_FILTER = "rol__betrokkeneIdentificatie__natuurlijkPersoon__inpBsn"


@cache
def schema_validator(name: str) -> Draft202012Validator:
    text = resources.files("adapters.zgw").joinpath("schemas", f"{name}.yaml").read_text(encoding="utf-8")
    return Draft202012Validator(yaml.safe_load(text), format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass(frozen=True)
class SeedZaak:
    """A zaak the partner already has: its identificatie, the BSNs of its rollen and its document's content."""

    identificatie: str
    bsns: frozenset[str]
    content: bytes
    vertrouwelijkheidaanduiding: str = "vertrouwelijk"


@dataclass(frozen=True)
class ZgwSimConfig:
    title: str
    clients: Callable[[], Mapping[str, str]]  # client id → secret, read per call (a dev secret may appear later)
    rsin: str
    zaaktype: str  # identificatie
    informatieobjecttype: str  # omschrijving
    seeds: list[SeedZaak] = field(default_factory=list)
    # Test hook only: the document content as canonical fields, so `/_sim/received` shows in plain text what
    # arrived (a leak check on it then sees names and BSNs, not base64).
    decode: Callable[[bytes], Json] | None = None


class Problem(Exception):
    def __init__(self, status: int, code: str, title: str, params: list[Json] | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.title, self.params = status, code, title, params


def invalid(name: str, code: str, reason: str) -> Problem:
    return Problem(400, "invalid", "Invalid input.", [{"name": name, "code": code, "reason": reason}])


@dataclass
class _Store:
    """Resources by path; `url`s are made from the caller's base URL when answering."""

    zaken: dict[str, Json] = field(default_factory=dict)
    documents: dict[str, Json] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)
    links: list[Json] = field(default_factory=list)
    bsns: dict[str, frozenset[str]] = field(default_factory=dict)  # zaak path → BSNs of its rollen
    received: dict[str, Json] = field(default_factory=dict)  # zaak path → test-hook entry


class ZgwSimulator:
    def __init__(self, config: ZgwSimConfig) -> None:
        self.config = config
        self.faults = SimState()
        self.zaaktype_path = f"{CATALOGI}/zaaktypen/{uuid.uuid5(uuid.NAMESPACE_URL, config.zaaktype)}"
        self.catalogus_path = f"{CATALOGI}/catalogussen/{uuid.uuid5(uuid.NAMESPACE_URL, config.rsin)}"
        iot_uuid = uuid.uuid5(uuid.NAMESPACE_URL, config.informatieobjecttype)
        self.iot_path = f"{CATALOGI}/informatieobjecttypen/{iot_uuid}"
        self.store = _Store()
        self.reset()

    def reset(self) -> None:
        self.store = _Store()
        for seed in self.config.seeds:
            zaak = self.add_zaak({"identificatie": seed.identificatie, "bronorganisatie": self.config.rsin,
                                   "zaaktype": self.zaaktype_path, "verantwoordelijkeOrganisatie": self.config.rsin,
                                   "startdatum": "2024-01-01",
                                   "vertrouwelijkheidaanduiding": seed.vertrouwelijkheidaanduiding})
            self.store.bsns[zaak] = seed.bsns
            document = self.add_document({"identificatie": seed.identificatie, "bronorganisatie": self.config.rsin,
                                           "titel": "Gezinsdossier", "formaat": "application/json"}, seed.content)
            self.store.links.append({"_path": f"{ZAKEN}/zaakinformatieobjecten/{uuid.uuid4()}", "zaak": zaak,
                                     "informatieobject": document})

    # --- resources -------------------------------------------------------------------------------------

    def add_zaak(self, body: Json) -> str:
        zaak_uuid = str(uuid.uuid4())
        path = f"{ZAKEN}/zaken/{zaak_uuid}"
        self.store.zaken[path] = {**body, "uuid": zaak_uuid, "_path": path}
        return path

    def add_document(self, body: Json, content: bytes) -> str:
        doc_uuid = str(uuid.uuid4())
        path = f"{DOCUMENTEN}/enkelvoudiginformatieobjecten/{doc_uuid}"
        stored = {k: v for k, v in body.items() if k != "inhoud"}
        self.store.documents[path] = {**stored, "uuid": doc_uuid, "versie": 1, "bestandsomvang": len(content),
                                      "_path": path}
        self.store.contents[path] = content
        return path

    def catalog(self) -> dict[str, Json]:
        return {
            self.catalogus_path: {"_path": self.catalogus_path, "rsin": self.config.rsin, "domein": "JEUGD"},
            self.zaaktype_path: {"_path": self.zaaktype_path, "identificatie": self.config.zaaktype,
                                 "status": "definitief", "catalogus": self.catalogus_path},
            self.iot_path: {"_path": self.iot_path, "omschrijving": self.config.informatieobjecttype,
                            "status": "definitief", "catalogus": self.catalogus_path},
        }

    # --- checks ----------------------------------------------------------------------------------------

    def authenticate(self, request: Request) -> None:
        try:
            verify_zgw_token(request.headers.get("authorization"), self.config.clients())
        except ZgwTokenError:
            raise Problem(403, "not_authenticated", "Authenticatiegegevens zijn niet geldig.") from None

    @staticmethod
    def require_crs(request: Request, *, content: bool) -> None:
        for header in ("accept-crs", *(("content-crs",) if content else ())):
            if request.headers.get(header) != "EPSG:4326":
                raise Problem(412, "precondition_failed", f"'{header}' header ontbreekt of is niet EPSG:4326.")

    @staticmethod
    async def body(request: Request, schema: str) -> Json:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise Problem(400, "parse_error", "JSON parse error.") from None
        if not isinstance(body, dict):
            raise invalid("nonFieldErrors", "invalid", "Verwacht een object.")
        errors = sorted(schema_validator(schema).iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            # Name and rule only: a reason that quoted the value could carry personal data.
            params = [{"name": ".".join(str(p) for p in e.absolute_path) or (
                e.message.split("'")[1] if e.validator == "required" else "nonFieldErrors"),
                "code": str(e.validator), "reason": f"Voldoet niet aan {e.validator}."} for e in errors]
            raise Problem(400, "invalid", "Invalid input.", params)
        return body


def local_path(url: Any) -> str:
    """The path of a URL we handed out (callers send absolute URLs; our store keys are paths)."""
    text = str(url)
    for root in (ZAKEN, DOCUMENTEN, CATALOGI):
        if root in text:
            return text[text.index(root):]
    return text


def render(resource: Json, base: str) -> Json:
    out = {k: v for k, v in resource.items() if k != "_path"}
    out["url"] = base + resource["_path"]
    for key in ("zaaktype", "zaak", "informatieobject", "catalogus", "informatieobjecttype"):
        if isinstance(out.get(key), str) and out[key].startswith("/"):
            out[key] = base + out[key]
    return out


def page(items: list[Json], base: str) -> Json:
    return {"count": len(items), "next": None, "previous": None, "results": [render(i, base) for i in items]}


def _problem_response(problem: Problem) -> JSONResponse:
    body: Json = {"type": f"https://zaakgerichtwerken.vng.cloud/ref/fouten/{problem.code}/", "code": problem.code,
                  "title": problem.title, "status": problem.status, "detail": problem.title,
                  "instance": f"urn:uuid:{uuid.uuid4()}"}
    if problem.params is not None:
        body["invalidParams"] = problem.params
    return JSONResponse(body, status_code=problem.status, media_type="application/problem+json")


def build_app(config: ZgwSimConfig) -> FastAPI:
    """A fresh ZGW simulator with its own state (tests rely on each call being an independent partner)."""
    sim = ZgwSimulator(config)
    app = FastAPI(title=config.title, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.sim = sim

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> Response:
        return _problem_response(exc)

    from adapters.zgw.simulator_routes import add_api_routes, add_test_routes

    add_api_routes(app, sim)
    add_test_routes(app, sim)
    return app


async def hold(fault_delay: float) -> None:
    await asyncio.sleep(fault_delay)


def take_fault(sim: ZgwSimulator, scope: str) -> tuple[int | None, float] | None:
    fault = sim.faults.take_fault("receive" if scope == "receive" else "query")
    return None if fault is None else (fault.status, fault.delay)


def check_rsin(name: str, value: Any) -> None:
    if not isinstance(value, str) or not is_valid_bsn(value):  # an RSIN passes the same 11-proef as a BSN
        raise invalid(name, "invalid-rsin", "Onjuist RSIN nummer.")


def content_of(body: Json) -> bytes:
    inhoud = body.get("inhoud")
    return base64.b64decode(inhoud) if isinstance(inhoud, str) else b""


__all__ = ["FaultRequest", "SeedZaak", "ZgwSimConfig", "build_app"]
