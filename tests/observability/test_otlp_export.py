"""OTLP/HTTP export for real: the gateway's exporter posts protobuf to a receiver on loopback at /v1/traces."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from gateway.core import telemetry
from gateway.core.settings import Settings
from gateway.core.telemetry import Telemetry
from tests.support import BSN_CHILD, BSN_MOTHER, BSN_REPORTER, WIJKTEAM, melding_request, token_for

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"  # pragma: allowlist secret (a W3C example trace id)


@dataclass
class Receiver:
    url: str
    posts: list[tuple[str, str, bytes]] = field(default_factory=list)  # path, content type, body

    def requests(self) -> list[ExportTraceServiceRequest]:
        out = []
        for path, content_type, body in self.posts:
            assert path == "/v1/traces"
            assert content_type == "application/x-protobuf"
            out.append(ExportTraceServiceRequest.FromString(body))
        return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    posts: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            posts.append((self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}", posts)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def settings(settings: Settings, receiver: Receiver) -> Settings:
    return settings.model_copy(update={"otlp_endpoint": receiver.url, "otel_service_name": "kgb-gateway-test"})


def _spans(requests: list[ExportTraceServiceRequest]) -> list[tuple[str, str, dict[str, str]]]:
    """(trace id, span name, resource attributes) of every exported span."""
    out = []
    for request in requests:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                out.extend((s.trace_id.hex(), s.name, resource) for s in scope_spans.spans)
    return out


async def test_exchange_spans_reach_an_otlp_http_receiver(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, receiver: Receiver) -> None:
    headers = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}",
               "traceparent": f"00-{CALLER_TRACE}-b7ad6b7169203331-01"}
    response = await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)
    assert response.status_code == 201, response.text
    assert app.state.telemetry.exporting
    assert await asyncio.to_thread(app.state.telemetry.provider.force_flush, 10_000)

    exported = _spans(receiver.requests())
    names = {name for trace_id, name, _ in exported if trace_id == CALLER_TRACE}
    assert {"POST /v1/exchanges/push", "gateway.policy.decide", "gateway.minimise", "gateway.log.append",
            "gateway.relay.deliver"} <= names
    resource = exported[0][2]
    assert resource["service.name"] == "kgb-gateway-test"
    assert resource["service.version"] == app.version
    for _, _, body in receiver.posts:
        for secret in (BSN_CHILD, BSN_MOTHER, BSN_REPORTER, "Jansen"):
            assert secret.encode() not in body


def test_the_standard_otel_variable_switches_export_on(monkeypatch: pytest.MonkeyPatch,
                                                       receiver: Receiver) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{receiver.url}/v1/traces")
    tracing = Telemetry(service_name="kgb-gateway", service_version="0", environment="development")
    assert tracing.exporting
    tracing.start()
    try:
        with tracing.activated(), telemetry.span("gateway.log.append", {"gateway.log.kind": "exchange"}):
            pass
    finally:
        tracing.shutdown()  # flushes
    assert [name for _, name, _ in _spans(receiver.requests())] == ["gateway.log.append"]


def test_without_an_endpoint_nothing_is_exported(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in telemetry.OTLP_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    tracing = Telemetry(service_name="kgb-gateway", service_version="0", environment="development")
    assert not tracing.exporting
