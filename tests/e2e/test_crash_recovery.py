"""Fault tests with real processes: the gateway is killed between accepting and delivering, then restarted.

Each accepted exchange must arrive exactly once after the restart. Loopback only; bounded in time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.auth.client import fetch_token
from gateway.core.settings import REPO_ROOT
from tests.e2e.processes import free_block, wait_ready
from tests.support import WIJKTEAM, melding_request

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    workdir: Path
    gateway_port: int
    simulator_url: str
    env: dict[str, str]
    gateway: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def start_gateway(self) -> None:
        with (self.workdir / "gateway.log").open("ab") as log:
            self.gateway = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "gateway.main:app_factory", "--factory", "--port",
                 str(self.gateway_port)], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_ready(self.url, self.gateway, self.workdir / "gateway.log")

    def kill_gateway(self) -> None:
        assert self.gateway is not None
        self.gateway.send_signal(signal.SIGKILL)  # no shutdown, no cleanup: a crash
        self.gateway.wait(timeout=10)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    base = free_block(2)
    sim_url = f"http://127.0.0.1:{base + 1}"
    env = {**os.environ, "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{base}", "GATEWAY_KEYS_DIR": str(tmp_path / "keys"),
           "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}", "GATEWAY_SIM_VEILIG_THUIS_URL": sim_url,
           "GATEWAY_DELIVERY_LEASE_SECONDS": "4", "GATEWAY_RELAY_CONNECT_TIMEOUT_SECONDS": "1",
           "GATEWAY_DELIVERY_BACKOFF_BASE_SECONDS": "0.1",
           "GATEWAY_DELIVERY_BACKOFF_MAX_SECONDS": "0.5", "GATEWAY_DELIVERY_POLL_SECONDS": "0.1",
           "GATEWAY_RELAY_READ_TIMEOUT_SECONDS": "2"}
    simulator = subprocess.Popen([sys.executable, "-m", "adapters.simulators", "veilig_thuis", "--port",
                                  str(base + 1)], cwd=REPO_ROOT, env=env)
    stack = Stack(tmp_path, base, sim_url, env)
    try:
        wait_ready(sim_url, path="/health")
        yield stack
    finally:
        for process in (stack.gateway, simulator):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def _push(stack: Stack, timeout: float = 10.0) -> dict[str, Any]:
    token = fetch_token(base_url=stack.url, client_id=WIJKTEAM,
                        private_key_path=stack.workdir / "keys" / "clients" / f"{WIJKTEAM}.pem")
    response = httpx.post(f"{stack.url}/v1/exchanges/push", json=melding_request(),
                          headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    result: dict[str, Any] = response.json()
    return result


def _received(stack: Stack) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = httpx.get(f"{stack.simulator_url}/_sim/received", timeout=5).json()
    return received


def _wait_received(stack: Stack, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        received = _received(stack)
        if len(received) >= count:
            time.sleep(1.5)  # would a second copy still arrive? give a re-delivery the chance to show up
            return _received(stack)
        time.sleep(0.1)
    return _received(stack)


def test_killed_after_accepting_while_the_partner_was_down(stack: Stack) -> None:
    stack.start_gateway()
    httpx.post(f"{stack.simulator_url}/_sim/faults", json={"fail_next": 1000, "status": 503}, timeout=5)
    accepted = _push(stack)
    assert accepted["status"] == "queued"
    stack.kill_gateway()
    httpx.delete(f"{stack.simulator_url}/_sim/faults", timeout=5)
    stack.start_gateway()
    received = _wait_received(stack, 1)
    assert [m["exchange_id"] for m in received] == [accepted["exchange_id"]]


def test_killed_while_the_partner_was_taking_the_delivery(stack: Stack) -> None:
    stack.start_gateway()
    # The partner stores the message, then hangs before answering: the gateway dies not knowing it arrived.
    httpx.post(f"{stack.simulator_url}/_sim/faults", json={"delay_seconds": 20}, timeout=5)
    with pytest.raises(httpx.TimeoutException):
        _push(stack, timeout=1.0)
    assert len(_received(stack)) == 1
    stack.kill_gateway()
    httpx.delete(f"{stack.simulator_url}/_sim/faults", timeout=5)
    stack.start_gateway()
    time.sleep(6)  # the lease (4 s) runs out and the worker sends again; the partner deduplicates on the key
    received = _received(stack)
    assert len(received) == 1
    token = fetch_token(base_url=stack.url, client_id=WIJKTEAM,
                        private_key_path=stack.workdir / "keys" / "clients" / f"{WIJKTEAM}.pem")
    status = httpx.get(f"{stack.url}/v1/exchanges/{received[0]['exchange_id']}",
                       headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    assert status["status"] == "delivered"


def test_a_partner_hanging_past_the_timeout_gets_the_delivery_exactly_once(stack: Stack) -> None:
    stack.start_gateway()
    # Stored, then no answer for 5 s: the gateway's 2 s timeout fires and the outbox tries again later.
    httpx.post(f"{stack.simulator_url}/_sim/faults", json={"delay_seconds": 5}, timeout=5)
    accepted = _push(stack)
    assert accepted["status"] == "queued"
    assert accepted["delivery"]["reason"] == "unreachable"
    token = fetch_token(base_url=stack.url, client_id=WIJKTEAM,
                        private_key_path=stack.workdir / "keys" / "clients" / f"{WIJKTEAM}.pem")
    deadline = time.monotonic() + 20
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = httpx.get(f"{stack.url}/v1/exchanges/{accepted['exchange_id']}",
                           headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
        if status["status"] == "delivered":
            break
        time.sleep(0.2)
    assert status["status"] == "delivered"
    assert [m["exchange_id"] for m in _received(stack)] == [accepted["exchange_id"]]
