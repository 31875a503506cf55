"""Shared machinery for the partner simulators: in-memory store, idempotency, faults, test hooks.

A partner's `simulator.py` supplies only what is native to it (paths, receipt, error body, fixtures, how a
query names its subjects) as a `SimulatorSpec`; `build_app` turns that into a FastAPI app with:
- the native receive endpoint: stores the message in memory, deduplicates on `Idempotency-Key` (a repeat
  answers the first receipt with 200 and is not stored again; the same key with another body is a 422);
- the native query endpoint: answers a seeded fixture dossier that contains one of the asked BSNs, else 404;
- `GET`/`DELETE /_sim/received`, `POST`/`DELETE /_sim/faults`, `GET /health`.
Faults: `{"fail_next": N, "status": S}` answers the next N calls with S (nothing stored);
`{"delay_seconds": D, "count": N}` holds the next N calls for D seconds — a receive call is stored first and
then held, like a partner whose answer never arrives in time. `scope` picks "receive" (default), "query" or
"any"; a failure can carry a delay too.
Nothing is written to disk: simulators hold test data, but they must behave like a partner that keeps
what it receives confidential.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

Json = dict[str, Any]
Scope = Literal["receive", "query", "any"]


def _as_is(document: Json) -> Json:
    return document


@dataclass(frozen=True)
class SimulatorSpec:
    title: str
    receive_path: str
    query_path: str
    make_receipt: Callable[[int], Json]  # sequence number → native receipt with the partner's own id
    error_body: Callable[[int, str], Json]  # (status, code) → the partner's native error shape
    query_bsns: Callable[[Json], list[str]]  # native query body → the identifiers asked for
    fixtures: list[Json]  # native dossier documents, answered as they are
    fixture_bsns: Callable[[Json], set[str]]  # identifiers a fixture can be found by
    validate: Callable[[Json], str | None]  # native message → error code, or None when acceptable
    answer: Callable[[Json], Json] = _as_is  # how a found fixture is wrapped in the query answer
    error_media_type: str = "application/json"


class FaultRequest(BaseModel):
    fail_next: int = Field(default=0, ge=0, le=1000)
    status: int = Field(default=500, ge=400, le=599)
    delay_seconds: float = Field(default=0.0, ge=0.0, le=600.0)
    count: int | None = Field(default=None, ge=1, le=1000, description="Delayed calls; default 1.")
    scope: Scope = "receive"


@dataclass
class _Fault:
    remaining: int
    status: int | None
    delay: float
    scope: Scope


@dataclass
class _Stored:
    fingerprint: str
    receipt: Json


@dataclass
class SimState:
    received: list[Json] = field(default_factory=list)
    by_key: dict[str, _Stored] = field(default_factory=dict)
    faults: list[_Fault] = field(default_factory=list)
    sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_fault(self, request: FaultRequest) -> None:
        delay, scope = request.delay_seconds, request.scope
        if request.fail_next:
            self.faults.append(_Fault(request.fail_next, request.status, delay, scope))
        elif delay:
            self.faults.append(_Fault(request.count or 1, None, delay, scope))

    def take_fault(self, scope: Scope) -> _Fault | None:
        """Consume one use of the first fault that applies to this endpoint."""
        for fault in self.faults:
            if fault.scope in (scope, "any"):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None


def _fingerprint(body: Json) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _json_body(request: Request) -> Json | None:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _headers_of_interest(request: Request) -> Json:
    return {"idempotency_key": request.headers.get("idempotency-key"),
            "traceparent": request.headers.get("traceparent"),
            "exchange_id": request.headers.get("x-exchange-id")}


def _find_fixture(spec: SimulatorSpec, bsns: list[str]) -> Json | None:
    for bsn in bsns:
        for fixture in spec.fixtures:
            if bsn in spec.fixture_bsns(fixture):
                return fixture
    return None


class _Refused(Exception):
    """Control flow inside this module: a native error answer, never raised outside it."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


async def _admit(request: Request, spec: SimulatorSpec) -> tuple[str, Json]:
    """The idempotency key and body of an acceptable message, or `_Refused`."""
    key = request.headers.get("idempotency-key")
    if not key:
        raise _Refused(400, "idempotency_key_missing")
    body = await _json_body(request)
    if body is None:
        raise _Refused(400, "not_json")
    problem = spec.validate(body)
    if problem is not None:
        raise _Refused(422, problem)
    return key, body


def _store(state: SimState, spec: SimulatorSpec, request: Request, key: str, body: Json) -> tuple[int, Json]:
    fingerprint = _fingerprint(body)
    stored = state.by_key.get(key)
    if stored is not None:
        if stored.fingerprint != fingerprint:
            raise _Refused(422, "idempotency_key_reused")
        return 200, stored.receipt
    receipt = spec.make_receipt(next(state.sequence))
    state.by_key[key] = _Stored(fingerprint, receipt)
    state.received.append({**_headers_of_interest(request), "receipt": receipt, "body": body})
    return 201, receipt


def _add_native_routes(app: FastAPI, spec: SimulatorSpec, state: SimState) -> None:
    def error(status: int, code: str) -> JSONResponse:
        return JSONResponse(spec.error_body(status, code), status_code=status, media_type=spec.error_media_type)

    @app.post(spec.receive_path)
    async def receive(request: Request) -> Response:
        fault = state.take_fault("receive")
        if fault is not None and fault.status is not None:
            await asyncio.sleep(fault.delay)
            return error(fault.status, "storing")
        try:
            key, body = await _admit(request, spec)
            status, receipt = _store(state, spec, request, key, body)
        except _Refused as refused:
            return error(refused.status, refused.code)
        if fault is not None:
            # A hang after storing is the relay's hard case: the partner has the message, the gateway
            # times out and retries, and the retry must be answered from the idempotency store.
            await asyncio.sleep(fault.delay)
        return JSONResponse(receipt, status_code=status)

    @app.post(spec.query_path)
    async def query(request: Request) -> Response:
        fault = state.take_fault("query")
        if fault is not None:
            await asyncio.sleep(fault.delay)
            if fault.status is not None:
                return error(fault.status, "lookup")
        body = await _json_body(request)
        if body is None:
            return error(400, "not_json")
        found = _find_fixture(spec, spec.query_bsns(body))
        if found is None:
            return error(404, "not_found")
        return JSONResponse(spec.answer(found))


def _add_test_routes(app: FastAPI, state: SimState) -> None:
    @app.get("/_sim/received")
    async def received() -> list[Json]:
        return state.received

    @app.delete("/_sim/received", status_code=204)
    async def clear_received() -> None:
        state.received.clear()
        state.by_key.clear()

    @app.post("/_sim/faults", status_code=204)
    async def add_fault(fault: FaultRequest) -> None:
        state.add_fault(fault)

    @app.delete("/_sim/faults", status_code=204)
    async def clear_faults() -> None:
        state.faults.clear()

    @app.get("/health")
    async def health() -> Mapping[str, str]:
        return {"status": "ok"}


def build_app(spec: SimulatorSpec) -> FastAPI:
    """A fresh simulator with its own state: each call is an independent partner (tests rely on it)."""
    app = FastAPI(title=spec.title, openapi_url=None, docs_url=None, redoc_url=None)
    state = SimState()
    app.state.sim = state
    _add_native_routes(app, spec, state)
    _add_test_routes(app, state)
    return app
