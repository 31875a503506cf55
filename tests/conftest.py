from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from gateway.core.settings import Settings
from tests.support import SIM_HOSTS, RoutingTransport, test_settings


@pytest.fixture(scope="session")
def dev_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dev keys generated once per session the way the gateway does at first start (RSA generation is slow)."""
    from gateway.auth.keys import ensure_dev_client_keys, load_signing_key
    from gateway.core.settings import REPO_ROOT
    from gateway.pseudonymise.keyring import load_keyring
    from gateway.registry.organisations import load_registry

    keys = tmp_path_factory.mktemp("dev-keys") / "keys"
    ensure_dev_client_keys(keys, load_registry(REPO_ROOT / "config" / "organisations.yaml"))
    load_signing_key(keys, generate=True)
    load_keyring(keys, generate=True)
    return keys


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dev_keys: Path) -> Settings:
    for name, host in SIM_HOSTS.items():
        monkeypatch.setenv(f"GATEWAY_SIM_{name.upper()}_URL", f"http://{host}")
    shutil.copytree(dev_keys, tmp_path / "keys")
    return test_settings(tmp_path)


@pytest.fixture
def simulators() -> dict[str, FastAPI]:
    from adapters.simulators import create_simulator

    return {name: create_simulator(name) for name in SIM_HOSTS}


@pytest.fixture
async def app(settings: Settings, simulators: dict[str, FastAPI]) -> AsyncIterator[FastAPI]:
    from gateway.main import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        # Partners are reached through the simulators in process; the end-to-end tests use real processes.
        relay = application.state.exchange.relay
        await relay.client.aclose()
        relay.client = httpx.AsyncClient(
            transport=RoutingTransport({SIM_HOSTS[n]: a for n, a in simulators.items()}), timeout=5)
        yield application
        await relay.client.aclose()


@pytest.fixture
async def client(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.public_url) as c:
        yield c
