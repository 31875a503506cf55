"""The embedded default as a user runs it: `gateway run` as a real process (gateway + five simulators)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.core.settings import REPO_ROOT

SIMULATORS = ("veilig_thuis", "rvdk", "gi", "wijkteam", "research")


@dataclass
class RunningGateway:
    url: str
    simulators: dict[str, str]
    keys_dir: Path
    database: Path
    log_file: Path


def _free_block(count: int) -> int:
    for base in range(20_000 + (os.getpid() % 500) * 20, 60_000, 20):
        sockets = []
        try:
            for offset in range(count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port block")


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway run exited early:\n{log_file.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gateway not ready in time:\n{log_file.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def running_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    workdir = tmp_path_factory.mktemp("embedded")
    base = _free_block(6)
    url = f"http://127.0.0.1:{base}"
    env = {**os.environ, "GATEWAY_PORT": str(base), "GATEWAY_PUBLIC_URL": url,
           "GATEWAY_SIMULATOR_BASE_PORT": str(base + 1), "GATEWAY_KEYS_DIR": str(workdir / "keys"),
           "GATEWAY_DATABASE_URL": f"sqlite:///{workdir / 'gateway.db'}"}
    log_file = workdir / "gateway.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run"], cwd=REPO_ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_ready(url, process, log_file)
        yield RunningGateway(url, {name: f"http://127.0.0.1:{base + 1 + i}" for i, name in enumerate(SIMULATORS)},
                             workdir / "keys", workdir / "gateway.db", log_file)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
