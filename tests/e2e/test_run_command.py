"""`gateway run` stops its partner simulators however it is stopped: Ctrl-C (SIGINT) or a service manager's SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import SIMULATORS
from tests.e2e.processes import free_block, running, wait_ready


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", timeout=0.5)
    except httpx.HTTPError:
        return False
    return True


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_stopping_the_gateway_stops_its_simulators(tmp_path: Path, stop: signal.Signals) -> None:
    base = free_block(len(SIMULATORS) + 1)
    url = f"http://127.0.0.1:{base}"
    simulators = [f"http://127.0.0.1:{base + 1 + i}" for i in range(len(SIMULATORS))]
    env = {**os.environ, "GATEWAY_PORT": str(base), "GATEWAY_PUBLIC_URL": url,
           "GATEWAY_SIMULATOR_BASE_PORT": str(base + 1), "GATEWAY_KEYS_DIR": str(tmp_path / "keys"),
           "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.db'}"}
    log_file = tmp_path / "gateway.log"
    with running([sys.executable, "-m", "gateway.cli", "run"], env, log_file) as process:
        try:
            wait_ready(url, process, log_file)
            assert all(_answers(sim) for sim in simulators)
            process.send_signal(stop)
            assert process.wait(timeout=30) is not None
            left = [sim for sim in simulators if _answers(sim)]
        finally:  # whatever happened, no simulator outlives the test (they share the gateway's process group)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    assert left == [], log_file.read_text()[-2000:]
