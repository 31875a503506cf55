"""Simulator behaviour the later tests rely on: idempotency, faults, test hooks, the runner."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from adapters.simulators import SIMULATOR_PORTS, create_simulator
from adapters.veilig_thuis import adapter as vt
from gateway.relay.port import AdapterError, Delivery, PartnerEndpoint

MESSAGE = {"berichtkop": {"berichtId": "ex-1"}, "casus": {"betrokkenen": []}}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_simulator("veilig_thuis"))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


async def _post(client: httpx.AsyncClient, body: dict[str, Any], key: str | None = "key-1") -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await client.post(vt.RECEIVE_PATH, json=body, headers=headers)


def test_every_simulator_is_a_fresh_app() -> None:
    assert set(SIMULATOR_PORTS) == {"veilig_thuis", "rvdk", "gi", "wijkteam", "research"}
    for name in SIMULATOR_PORTS:
        assert create_simulator(name) is not create_simulator(name)
    with pytest.raises(KeyError):
        create_simulator("unknown")


async def test_idempotency_key_is_required(client: httpx.AsyncClient) -> None:
    response = await _post(client, MESSAGE, key=None)
    assert (response.status_code, response.json()["foutcode"]) == (400, "IDEMPOTENCY_KEY_MISSING")


async def test_key_reused_for_another_message_is_refused(client: httpx.AsyncClient) -> None:
    assert (await _post(client, MESSAGE)).status_code == 201
    other = {**MESSAGE, "casus": {"betrokkenen": [{"betrokkeneId": "x"}]}}
    response = await _post(client, other)
    assert (response.status_code, response.json()["foutcode"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert len((await client.get("/_sim/received")).json()) == 1


async def test_not_json_is_a_native_400(client: httpx.AsyncClient) -> None:
    response = await client.post(vt.RECEIVE_PATH, content=b"<xml/>", headers={"Idempotency-Key": "k"})
    assert (response.status_code, response.json()["foutcode"]) == (400, "NOT_JSON")


async def test_clearing_received_also_forgets_keys(client: httpx.AsyncClient) -> None:
    first = (await _post(client, MESSAGE)).json()
    assert (await client.delete("/_sim/received")).status_code == 204
    assert (await client.get("/_sim/received")).json() == []
    response = await _post(client, MESSAGE)
    assert response.status_code == 201
    assert response.json()["registratienummer"] != first["registratienummer"]


async def test_fail_next_counts_down(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/faults", json={"fail_next": 2, "status": 500})
    assert [(await _post(client, MESSAGE, f"k{i}")).status_code for i in range(3)] == [500, 500, 201]


async def test_faults_can_be_cleared_and_scoped(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/faults", json={"fail_next": 5, "status": 503})
    assert (await client.delete("/_sim/faults")).status_code == 204
    assert (await _post(client, MESSAGE)).status_code == 201
    await client.post("/_sim/faults", json={"fail_next": 1, "status": 500, "scope": "query"})
    assert (await _post(client, MESSAGE, "k2")).status_code == 201  # receive is not affected
    query = await client.post(vt.QUERY_PATH, json={"zoekvraag": {"bsn": ["111222333"]}})
    assert query.status_code == 500


async def test_bad_fault_request_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/_sim/faults", json={"fail_next": -1})
    assert response.status_code == 422


async def test_delay_holds_the_next_call(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/faults", json={"delay_seconds": 0.2})
    started = time.monotonic()
    assert (await _post(client, MESSAGE)).status_code == 201
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    assert (await _post(client, MESSAGE, "k2")).status_code == 201
    assert time.monotonic() - started < 0.2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def running_simulator() -> Iterator[str]:
    """The VT simulator as its own process, started the way `gateway run --simulators` starts it."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "adapters.simulators", "veilig_thuis", "--host",
                                "127.0.0.1", "--port", str(port)])
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.e2e
async def test_hanging_partner_times_out_as_unreachable(running_simulator: str,
                                                        make_delivery: Callable[..., Delivery]) -> None:
    endpoint = PartnerEndpoint(organisation_id="vt", organisation_type="veilig_thuis", display_name="VT",
                               base_url=running_simulator, adapter="veilig_thuis")
    async with httpx.AsyncClient(timeout=0.3) as client:
        assert await vt.ADAPTER.health(client, endpoint) is True
        await client.post(f"{running_simulator}/_sim/faults", json={"delay_seconds": 1})
        with pytest.raises(AdapterError) as raised:
            await vt.ADAPTER.deliver(client, endpoint, make_delivery({}))
        assert raised.value.reason == "unreachable"
        # The partner stored the call it then held: the relay's retry is answered from its idempotency store.
        receipt = await vt.ADAPTER.deliver(client, endpoint, make_delivery({}))
        assert receipt.status_code == 200
        assert len((await client.get(f"{running_simulator}/_sim/received")).json()) == 1
