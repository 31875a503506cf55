"""The relay's clients over aiohttp's transport (the default) and over httpx's own (GATEWAY_RELAY_TRANSPORT=httpx),
against real servers on loopback: delivery, auth headers, traceparent, timeouts, TLS with client certificates."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from gateway.core.metrics import Metrics
from gateway.core.settings import REPO_ROOT, Settings
from gateway.dossier.model import Gezinsdossier
from gateway.registry.organisations import Organisation
from gateway.relay.partner_clients import partner_client
from gateway.relay.port import AdapterError, Delivery
from gateway.relay.service import Relay
from gateway.relay.transport import AiohttpRelayTransport, RelayTransportName, relay_client
from tests.e2e.processes import free_block, wait_ready
from tests.relay.test_partner_clients import _cert, _write

TRANSPORTS: tuple[RelayTransportName, ...] = ("aiohttp", "httpx")
LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _org(base_url: str, **endpoint: object) -> Organisation:
    return Organisation.model_validate({"id": "vt-utrecht", "type": "veilig_thuis", "name": "VT", "oin": "0" * 20,
                                        "endpoint": {"adapter": "veilig_thuis", "base_url": base_url, **endpoint}})


def _delivery(key: str) -> Delivery:
    body = json.loads((REPO_ROOT / "examples" / "melding-f2.json").read_text())
    dossier = Gezinsdossier.model_validate(body["dossier"]).model_dump(mode="json", exclude_none=True)
    return Delivery(f"ex-{key}", key, "wijkteam-utrecht-west", "Buurtteam", "vt-utrecht", "melding", "F2", {}, 0,
                    TRACE_ID, dossier)


def _sent_over(client: httpx.AsyncClient, transport: RelayTransportName) -> bool:
    kind = AiohttpRelayTransport if transport == "aiohttp" else httpx.AsyncHTTPTransport
    return isinstance(client._transport, kind)


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Veilig Thuis simulator as its own process (uvicorn) on loopback."""
    port = free_block(1)
    log = tmp_path_factory.mktemp("sim") / "vt.log"
    with log.open("ab") as sink:
        process = subprocess.Popen([sys.executable, "-m", "adapters.simulators", "veilig_thuis", "--port", str(port)],
                                   cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log, path="/health")
        yield url
    finally:
        process.kill()
        process.wait(timeout=10)


async def _sim(url: str, method: str, path: str, body: Any = None) -> Any:
    async with httpx.AsyncClient(base_url=url, timeout=5) as sim:
        answer = await sim.request(method, path, json=body)
        return answer.json() if answer.status_code == 200 else None


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_relay_delivers_to_the_simulator_with_the_current_spans_traceparent(
        simulator: str, transport: RelayTransportName) -> None:
    await _sim(simulator, "DELETE", "/_sim/received")
    metrics = Metrics()
    relay = Relay(relay_client(transport=transport, timeout=httpx.Timeout(5.0), limits=LIMITS), metrics)
    assert _sent_over(relay.client, transport)
    tracer = TracerProvider().get_tracer("test")
    try:
        with tracer.start_as_current_span("caller") as span:
            receipt = await relay.deliver(_org(simulator), _delivery(f"deliver-{transport}"))
    finally:
        await relay.aclose()
    assert receipt.status_code == 201 and receipt.partner_reference
    (received,) = await _sim(simulator, "GET", "/_sim/received")
    assert received["idempotency_key"] == f"deliver-{transport}"
    assert received["receipt"]["registratienummer"] == receipt.partner_reference
    # The request hook replaced the adapter's traceparent with the current span's, over either transport.
    context = span.get_span_context()
    assert received["traceparent"] == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_partner_that_hangs_times_out_into_the_failure_path_and_the_retry_is_answered_idempotently(
        simulator: str, transport: RelayTransportName) -> None:
    await _sim(simulator, "POST", "/_sim/faults", {"delay_seconds": 3, "count": 1})
    metrics = Metrics()
    relay = Relay(relay_client(transport=transport, timeout=httpx.Timeout(0.5, connect=2.0), limits=LIMITS),
                  metrics)
    org, delivery = _org(simulator), _delivery(f"hang-{transport}")
    try:
        started = time.monotonic()
        with pytest.raises(AdapterError) as failed:
            await relay.deliver(org, delivery)
        assert time.monotonic() - started < 2.0  # the read timeout, not the partner's 3 s hold
        assert failed.value.reason == "unreachable"
        assert metrics.adapter_errors.labels("veilig_thuis", "unreachable")._value.get() == 1
        retry = await relay.deliver(org, delivery)  # the partner stored the first one before holding it
    finally:
        await relay.aclose()
        await _sim(simulator, "DELETE", "/_sim/faults")
    assert retry.status_code == 200 and retry.partner_reference


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """An aiohttp server on loopback: an OAuth2 token endpoint and an endpoint that records request headers."""
    seen: list[dict[str, str]] = []
    issued: list[str] = []

    async def token(request: web.Request) -> web.Response:
        assert request.headers["Authorization"].startswith("Basic ")
        issued.append(f"t{len(issued) + 1}")
        return web.json_response({"access_token": issued[-1], "expires_in": 600})

    async def record(request: web.Request) -> web.Response:
        seen.append({k.lower(): v for k, v in request.headers.items()})  # names are case-insensitive
        if request.headers.get("Authorization") == "Bearer t1":  # the first token is refused once
            return web.json_response({}, status=401)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_get("/record", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_api_key_and_oauth2_credentials_reach_a_real_partner_server(
        recorder: tuple[str, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        transport: RelayTransportName) -> None:
    url, seen = recorder
    monkeypatch.setenv("VT_API_KEY", "s3cret-key")
    async with partner_client(_org(url, api_key={"header": "X-VT-Key", "secret_env": "VT_API_KEY"}),
                              keys_dir=tmp_path, timeout=httpx.Timeout(5.0), transport=transport) as keyed:
        assert _sent_over(keyed, transport)
        assert (await keyed.get(f"{url}/record")).json() == {"ok": True}
    (tmp_path / "vt-secret").write_text("client-secret\n")
    oauth = _org(url, oauth2={"token_url": f"{url}/token", "client_id": "gateway", "secret_file": "vt-secret"})
    # A streamed token answer (not a MockTransport's pre-read one) must be read by the flow itself.
    async with partner_client(oauth, keys_dir=tmp_path, timeout=httpx.Timeout(5.0), transport=transport) as client:
        answers = [(await client.get(f"{url}/record")).status_code for _ in range(2)]
    assert seen[0]["x-vt-key"] == "s3cret-key"
    # t1 refused once → t2 fetched through the same transport and reused.
    assert [h.get("authorization") for h in seen[1:]] == ["Bearer t1", "Bearer t2", "Bearer t2"]
    assert answers == [200, 200]


async def test_an_unparseable_answer_is_an_httpx_error_not_an_aiohttp_one() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with relay_client(transport="aiohttp", timeout=httpx.Timeout(2.0), limits=LIMITS) as client:
            with pytest.raises(httpx.TransportError):  # what the adapters map to AdapterError("unreachable")
                await client.get(f"http://127.0.0.1:{port}/")
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_partners_cookie_is_neither_kept_nor_sent_on_the_next_call(transport: RelayTransportName) -> None:
    """One exchange's answer must not set state that rides along on the next exchange (another family)."""
    seen: list[str] = []

    async def partner(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie", ""))
        response = web.json_response({"ok": True})
        response.set_cookie("session", "from-the-first-answer")
        return response

    app = web.Application()
    app.router.add_post("/meldingen", partner)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with relay_client(transport=transport, timeout=httpx.Timeout(2.0), limits=LIMITS) as client:
            for _ in range(2):
                answer = await client.post(f"http://127.0.0.1:{port}/meldingen", json={})
                assert answer.status_code == 200 and "session=" in answer.headers["set-cookie"]
    finally:
        await runner.cleanup()
    assert seen == ["", ""]


@pytest.fixture(scope="module")
def mtls_partner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The VT simulator over TLS, requiring a client certificate from the test CA; the keys directory."""
    keys = tmp_path_factory.mktemp("mtls")
    ca_key, ca = _cert("Test CA", None, None, ca=True)
    _write(keys / "ca", ca_key, ca)
    _write(keys / "server", *_cert("localhost", ca_key, ca.subject))
    _write(keys / "gateway-client", *_cert("kgb-gateway", ca_key, ca.subject))
    other_key, other = _cert("Other CA", None, None, ca=True)
    _write(keys / "other-ca", other_key, other)
    _write(keys / "stranger", *_cert("stranger", other_key, other.subject))
    port = free_block(1)
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "adapters.veilig_thuis.simulator:create_app",
                                "--factory", "--port", str(port), "--log-level", "warning",
                                "--ssl-keyfile", str(keys / "server.key"), "--ssl-certfile", str(keys / "server.pem"),
                                "--ssl-ca-certs", str(keys / "ca.pem"), "--ssl-cert-reqs", "2"], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield f"https://localhost:{port}", keys
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_mutual_tls_verifies_the_partner_and_presents_the_client_certificate(
        mtls_partner: tuple[str, Path], transport: RelayTransportName) -> None:
    url, keys = mtls_partner
    tls = {"cert_file": "gateway-client.pem", "key_file": "gateway-client.key", "ca_file": "ca.pem"}
    async with partner_client(_org(url, tls=tls), keys_dir=keys, timeout=httpx.Timeout(5.0),
                              transport=transport) as client:
        assert _sent_over(client, transport)
        assert (await client.get(f"{url}/health")).status_code == 200
    # A client certificate the partner does not trust: the handshake fails, as a transport error.
    stranger = {**tls, "cert_file": "stranger.pem", "key_file": "stranger.key"}
    async with partner_client(_org(url, tls=stranger), keys_dir=keys, timeout=httpx.Timeout(5.0),
                              transport=transport) as client:
        with pytest.raises(httpx.TransportError):
            await client.get(f"{url}/health")
    # A partner whose certificate the configured CA did not issue: verification fails before anything is sent.
    wrong_ca = {**tls, "ca_file": "other-ca.pem"}
    async with partner_client(_org(url, tls=wrong_ca), keys_dir=keys, timeout=httpx.Timeout(5.0),
                              transport=transport) as client:
        with pytest.raises(httpx.ConnectError, match=r"(?i)certificate"):
            await client.get(f"{url}/health")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_lifespan_builds_every_relay_client_over_the_configured_transport_and_closes_them(
        settings: Settings, simulator: str, transport: RelayTransportName, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.main import create_app

    monkeypatch.setenv("GATEWAY_RELAY_TRANSPORT", transport)
    assert Settings().relay_transport == transport
    application: FastAPI = create_app(settings.model_copy(update={"relay_transport": transport}))
    async with application.router.lifespan_context(application):
        relay: Relay = application.state.exchange.relay
        clients = [relay.client, *relay.partner_clients.values()]
        assert relay.partner_clients  # the dev registry has partners with their own (authenticated) clients
        assert all(_sent_over(c, transport) for c in clients)
        assert (await relay.client.get(f"{simulator}/health")).status_code == 200
    assert all(c.is_closed for c in clients)
    if transport == "aiohttp":
        session = relay.client._transport.client  # type: ignore[attr-defined]
        assert session is not None and session.closed


def test_the_relay_transport_defaults_to_aiohttp_and_refuses_unknown_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_RELAY_TRANSPORT", raising=False)
    assert Settings().relay_transport == "aiohttp"
    monkeypatch.setenv("GATEWAY_RELAY_TRANSPORT", "requests")
    with pytest.raises(ValueError, match="relay_transport"):
        Settings()
