"""The embedded default as a user runs it: `gateway run` as a real process (gateway + five simulators)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.processes import free_block, running, wait_ready

SIMULATORS = ("veilig_thuis", "rvdk", "gi", "wijkteam", "research")


@dataclass
class RunningGateway:
    url: str
    simulators: dict[str, str]
    keys_dir: Path
    database: Path
    log_file: Path


@pytest.fixture(scope="session")
def running_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    workdir = tmp_path_factory.mktemp("embedded")
    base = free_block(6)
    url = f"http://127.0.0.1:{base}"
    env = {**os.environ, "GATEWAY_PORT": str(base), "GATEWAY_PUBLIC_URL": url,
           "GATEWAY_SIMULATOR_BASE_PORT": str(base + 1), "GATEWAY_KEYS_DIR": str(workdir / "keys"),
           "GATEWAY_DATABASE_URL": f"sqlite:///{workdir / 'gateway.db'}"}
    log_file = workdir / "gateway.log"
    with running([sys.executable, "-m", "gateway.cli", "run"], env, log_file) as process:
        wait_ready(url, process, log_file)
        yield RunningGateway(url, {name: f"http://127.0.0.1:{base + 1 + i}" for i, name in enumerate(SIMULATORS)},
                             workdir / "keys", workdir / "gateway.db", log_file)
