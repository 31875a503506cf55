from __future__ import annotations

import contextlib
import gc
import os
import shutil
import warnings
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from gateway.core.settings import Settings
from tests.pg import REQUIRE_ENV, PostgresServer, PostgresUnavailable, postgres_server, wait_for
from tests.support import SIM_HOSTS, RoutingTransport, test_settings

BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    # KNOWN GAP: now and then a pooled psycopg connection of a test's (already disposed) engine is
    # garbage-collected without having been closed; the server side is cleaned up by DROP DATABASE … WITH (FORCE).
    # Until its cause is found, psycopg's ResourceWarning for it must not turn into a random test error.
    config.addinivalue_line("filterwarnings", "ignore:.*was deleted while still open:ResourceWarning")


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    # The same known gap: collect any such connection now, under the same filter, not at unconfigure.
    try:
        return (yield)
    finally:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*was deleted while still open", ResourceWarning)
            gc.collect()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | PostgresUnavailable]:
    """The session's PostgreSQL server, or why there is none (the postgresql variants then skip)."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(postgres_server())
            wait_for(server.admin_url)
        except PostgresUnavailable as exc:
            yield exc
            return
        yield server


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer | PostgresUnavailable) -> Iterator[str]:
    """A database migrated to head once per session; each test copies it (CREATE DATABASE … TEMPLATE)."""
    from gateway.core.database import make_engine, upgrade_to_head

    server = _server_or_skip(postgres)
    name = server.create_database()
    engine = make_engine(server.url_for(name))
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()  # a template must have no connections when it is copied
    yield name
    server.drop_database(name)


def _server_or_skip(postgres: PostgresServer | PostgresUnavailable) -> PostgresServer:
    if isinstance(postgres, PostgresUnavailable):
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"PostgreSQL is required ({REQUIRE_ENV}=1) but unavailable: {postgres}")
        pytest.skip(f"PostgreSQL unavailable: {postgres}")
    return postgres


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test; every test using `settings`, `app` or `client` runs on both."""
    name: str = request.param
    return name


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database with no tables, on the backend under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = _server_or_skip(request.getfixturevalue("postgres"))
    with server.database() as url:
        yield url


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database of the test's own; on PostgreSQL a copy of the migrated template."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    server = _server_or_skip(request.getfixturevalue("postgres"))
    with server.database(template=request.getfixturevalue("postgres_template")) as url:
        yield url


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
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dev_keys: Path, database_url: str) -> Settings:
    for name, host in SIM_HOSTS.items():
        monkeypatch.setenv(f"GATEWAY_SIM_{name.upper()}_URL", f"http://{host}")
    # The wijkteam's ZGW simulator checks the gateway's JWT with the secret from the test's keys directory.
    monkeypatch.setenv("GATEWAY_SIM_WIJKTEAM_ZGW_SECRET_FILE",
                       str(tmp_path / "keys" / "partners" / "wijkteam-utrecht-west.zgw-secret"))
    shutil.copytree(dev_keys, tmp_path / "keys")
    return test_settings(tmp_path, database_url=database_url)


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
        for org_id, own in list(relay.partner_clients.items()):  # partners with outbound auth keep their auth
            await own.aclose()
            relay.partner_clients[org_id] = httpx.AsyncClient(
                transport=RoutingTransport({SIM_HOSTS[n]: a for n, a in simulators.items()}), auth=own.auth,
                event_hooks=own.event_hooks, timeout=5)
        yield application
        for own in relay.partner_clients.values():
            await own.aclose()
        await relay.client.aclose()


@pytest.fixture
async def client(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.public_url) as c:
        yield c
