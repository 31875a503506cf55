"""OpenTelemetry traces of exchanges: one trace id from the caller through the log record to the partner.

Spans are captured with the SDK's in-memory exporter added to the running app's tracer provider; the
gateway's own code is not patched.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlmodel import Session, col, select

from gateway.core import telemetry
from gateway.core.settings import Settings
from gateway.exchange.models import ExchangeRow
from gateway.exchange_log.models import LogEntry
from tests.support import (
    BSN_CHILD,
    BSN_MOTHER,
    BSN_REPORTER,
    GI,
    MELDING_DOSSIER,
    WIJKTEAM,
    melding_request,
    token_for,
)

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"  # pragma: allowlist secret (a W3C example trace id)
CALLER_SPAN = "00f067aa0ba902b7"
CALLER_TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


@pytest.fixture
def spans(app: FastAPI) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    app.state.telemetry.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.clear()


def _personal_values() -> set[str]:
    """Every string in the sample dossier that names or identifies a person (BSNs, names, contact details)."""
    values = {BSN_CHILD, BSN_MOTHER, BSN_REPORTER}
    for person in MELDING_DOSSIER["persons"]:
        for key in ("given_names", "surname", "phone", "email", "birth_date"):
            if isinstance(person.get(key), str):
                values.add(person[key])
    address = MELDING_DOSSIER["household"]["address"]
    values.update({address["street"], address["postcode"]})
    return values


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def _trace_of(span: ReadableSpan) -> str:
    assert span.context is not None
    return _hex(span.context.trace_id, 32)


def _span_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return _hex(span.context.span_id, 16)


def _by_name(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name == name]


def _log_records(app: FastAPI) -> list[dict[str, Any]]:
    with Session(app.state.db) as session:
        rows = session.exec(select(LogEntry).order_by(col(LogEntry.position))).all()
    return [json.loads(r.entry) for r in rows]


async def _received(simulators: dict[str, FastAPI], name: str = "veilig_thuis") -> list[dict[str, Any]]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulators[name]), base_url="http://sim") as c:
        received: list[dict[str, Any]] = (await c.get("/_sim/received")).json()
    return received


async def _push(client: httpx.AsyncClient, settings: Settings, **headers: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}
    return await client.post("/v1/exchanges/push", json=melding_request(), headers=auth | headers)


async def test_an_exchange_continues_the_callers_trace_into_its_log_record_and_to_the_partner(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI],
        spans: InMemorySpanExporter) -> None:
    response = await _push(client, settings, traceparent=CALLER_TRACEPARENT)
    assert response.status_code == 201, response.text
    finished = tuple(s for s in spans.get_finished_spans() if s.name != "POST /oauth/token")

    server = next(s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST /v1/exchanges/push")
    assert _trace_of(server) == CALLER_TRACE
    assert server.parent is not None and server.parent.is_remote
    assert _hex(server.parent.span_id, 16) == CALLER_SPAN
    assert server.attributes is not None and server.attributes["gateway.flow"] == "F2"
    assert server.attributes["gateway.decision.outcome"] == "allow"
    assert server.attributes["gateway.exchange.id"] == response.json()["exchange_id"]
    # The answer names our server span, so the caller can link to it.
    assert response.headers["traceparent"] == f"00-{CALLER_TRACE}-{_span_id(server)}-01"

    records = _log_records(app)
    assert [r["kind"] for r in records] == ["exchange", "delivery"]
    assert {r["trace_id"] for r in records} == {CALLER_TRACE} == {_trace_of(s) for s in finished}

    for name in ("gateway.policy.decide", "gateway.pseudonymise.subjects", "gateway.minimise",
                 "gateway.log.append", "gateway.relay.deliver"):
        assert _by_name(finished, name), f"no {name} span"
    decide = _by_name(finished, "gateway.policy.decide")[0]
    assert decide.parent is not None and decide.parent.span_id == server.context.span_id  # type: ignore[union-attr]
    relay = _by_name(finished, "gateway.relay.deliver")[0]
    assert relay.kind is SpanKind.CLIENT

    # The partner received the traceparent of the relay's client span: same trace, that span's id.
    received = await _received(simulators)
    assert received[0]["traceparent"] == f"00-{CALLER_TRACE}-{_span_id(relay)}-01"


async def test_without_a_traceparent_a_new_trace_is_the_one_in_the_log_record(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI],
        spans: InMemorySpanExporter) -> None:
    response = await _push(client, settings)
    assert response.status_code == 201, response.text
    trace_id = response.json()["trace_id"]
    assert trace_id != CALLER_TRACE
    push_spans = [s for s in spans.get_finished_spans() if _trace_of(s) == trace_id]
    assert {s.name for s in push_spans} >= {"POST /v1/exchanges/push", "gateway.log.append", "gateway.relay.deliver"}
    exchange_record = next(r for r in _log_records(app) if r["kind"] == "exchange")
    assert exchange_record["trace_id"] == trace_id
    received = await _received(simulators)
    assert received[0]["traceparent"].split("-")[1] == trace_id


async def test_a_pull_fetches_under_a_client_span_of_the_callers_trace(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, spans: InMemorySpanExporter) -> None:
    body = {"holder": "wijkteam-utrecht-west", "purpose": "informatie_ots",
            "professional": {"id": "jb-17", "role": "jeugdbeschermer"},
            "context": {"kader": "gedwongen_civiel", "measure": {
                "kind": "ots", "reference": "C/16/123456 / JE RK 26-1", "start": "2026-06-01", "end": "2027-06-01"}},
            "subjects": [{"ref": "k1", "role": "kind", "bsn": BSN_CHILD}], "categories": ["identification", "help"]}
    headers = {"Authorization": f"Bearer {await token_for(client, settings, GI)}", "traceparent": CALLER_TRACEPARENT}
    response = await client.post("/v1/exchanges/pull", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["trace_id"] == CALLER_TRACE
    finished = spans.get_finished_spans()
    (fetch,) = _by_name(finished, "gateway.relay.fetch")
    assert fetch.kind is SpanKind.CLIENT and _trace_of(fetch) == CALLER_TRACE
    assert fetch.attributes is not None and fetch.attributes["gateway.sender"] == "wijkteam-utrecht-west"
    assert len(_by_name(finished, "gateway.policy.decide")) == 2  # before the fetch, and on what came back
    assert {r["trace_id"] for r in _log_records(app)} == {CALLER_TRACE}
    for span in finished:
        assert BSN_CHILD not in " ".join(map(str, (span.attributes or {}).values()))


async def test_no_span_attribute_carries_a_bsn_a_name_or_other_payload_content(
        client: httpx.AsyncClient, settings: Settings, spans: InMemorySpanExporter) -> None:
    assert (await _push(client, settings, traceparent=CALLER_TRACEPARENT)).status_code == 201
    finished = spans.get_finished_spans()
    assert finished
    personal = _personal_values()
    for span in finished:
        values: list[str] = [span.name, *map(str, (span.attributes or {}).values()),
                             *map(str, span.resource.attributes.values())]
        for event in span.events:
            values.extend(map(str, (event.attributes or {}).values()))
        for value in values:
            for secret in personal:
                assert secret not in value, f"{span.name} carries personal data"
        assert set(span.attributes or {}) <= telemetry.ALLOWED_ATTRIBUTES


async def test_delivery_worker_attempts_continue_the_exchange_trace_and_link_to_it(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, simulators: dict[str, FastAPI],
        spans: InMemorySpanExporter) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulators["veilig_thuis"]),
                                 base_url="http://sim") as sim:
        await sim.post("/_sim/faults", json={"fail_next": 1, "status": 500})
    response = await _push(client, settings, traceparent=CALLER_TRACEPARENT)
    assert response.status_code == 202, response.text
    exchange_id = response.json()["exchange_id"]
    await _wait_delivered(app, exchange_id, spans)

    finished = spans.get_finished_spans()
    attempts = _by_name(finished, "gateway.delivery.attempt")
    assert attempts, "the worker made no attempt span"
    attempt = attempts[-1]
    assert attempt.kind is SpanKind.CONSUMER
    assert _trace_of(attempt) == CALLER_TRACE
    assert attempt.attributes is not None and attempt.attributes["gateway.exchange.id"] == exchange_id
    # Linked to the span that queued the job: the log append of the exchange, inside the request's trace.
    queued_in = {_span_id(s) for s in _by_name(finished, "gateway.log.append")
                 if s.attributes is not None and s.attributes["gateway.log.kind"] == "exchange"}
    assert [_hex(link.context.span_id, 16) for link in attempt.links] == [next(iter(queued_in))]
    assert attempt.parent is not None and _hex(attempt.parent.span_id, 16) in queued_in

    worker_relay = [s for s in _by_name(finished, "gateway.relay.deliver")
                    if s.parent is not None and s.parent.span_id == attempt.context.span_id]  # type: ignore[union-attr]
    assert len(worker_relay) == 1
    received = await _received(simulators)
    assert received[-1]["traceparent"] == f"00-{CALLER_TRACE}-{_span_id(worker_relay[0])}-01"
    delivery_record = next(r for r in _log_records(app) if r["kind"] == "delivery")
    assert delivery_record["trace_id"] == CALLER_TRACE


async def _wait_delivered(app: FastAPI, exchange_id: str, spans: InMemorySpanExporter,
                          within: float = 10.0) -> None:
    """Until the exchange is delivered and the worker's attempt has ended its span (the outcome is committed,
    and visible here, a moment before the worker's coroutine resumes and ends the span)."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        with Session(app.state.db) as session:
            row = session.get(ExchangeRow, exchange_id)
        if row is not None and row.status == "delivered" and _by_name(spans.get_finished_spans(),
                                                                        "gateway.delivery.attempt"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the delivery was not retried in time")


async def test_probes_and_scrapes_make_no_span(client: httpx.AsyncClient, spans: InMemorySpanExporter) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await client.get(path)).status_code == 200
    assert spans.get_finished_spans() == ()


async def test_an_invalid_traceparent_starts_a_new_trace_named_in_the_problem_answer(
        client: httpx.AsyncClient, spans: InMemorySpanExporter) -> None:
    invalid = "00-" + "0" * 32 + "-" + "1" * 16 + "-01"
    response = await client.get("/problems/no-such-problem", headers={"traceparent": invalid})
    assert response.status_code == 404
    (server,) = spans.get_finished_spans()
    assert server.parent is None
    assert response.json()["trace_id"] == _trace_of(server) != "0" * 32
    assert server.name == "GET /problems/{code}"
    assert server.attributes is not None and server.attributes["http.route"] == "/problems/{code}"
    assert server.attributes["http.response.status_code"] == 404


def test_attributes_outside_the_closed_set_are_dropped() -> None:
    kept = telemetry.allowed({"gateway.flow": "F2", "person.bsn": BSN_CHILD, "gateway.purpose": None,
                              "http.route": "/v1/exchanges/push"})
    assert kept == {"gateway.flow": "F2", "http.route": "/v1/exchanges/push"}


def test_otlp_endpoint_base_or_full_url() -> None:
    assert telemetry.traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert telemetry.traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert telemetry.traces_url("https://c.example/v1/traces") == "https://c.example/v1/traces"
