"""Property-based fuzzing of the gateway's own OpenAPI description with schemathesis.

Every operation of `/openapi.json` is called with generated requests (valid and invalid), carrying a valid access
token with every scope and a web session of a DPO (who is an operator as well) with its CSRF token, so both the
partner API and the review API (`/ui/api/review/*`) are reached past authentication. Each answer must be no 5xx,
a documented status code, the documented content type and a body that matches the documented schema. The app runs
in process on SQLite with the partner simulators behind the relay, as in the other in-process tests; schemathesis
runs its lifespan in its own event loop thread, so the app is built here rather than through the async `app`
fixture, once for the whole run.

Bounded: `FUZZ_EXAMPLES` examples per operation, no example database, so the run is repeatable in CI time
(about a minute of CPU time on 2 cores). Raise `GATEWAY_FUZZ_EXAMPLES` locally for a deeper run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from adapters.simulators import create_simulator
from gateway.auth.client import token_form
from gateway.auth.scopes import SCOPES
from gateway.core.settings import Settings
from gateway.main import create_app
from gateway.web.sessions import cookie_names
from tests import support
from tests.support import SIM_HOSTS, WIJKTEAM, RoutingTransport, assertion_for
from tests.web.web_support import PASSWORD, add_user, login_csrf

FUZZ_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, dev_keys: Path) -> Iterator[FastAPI]:
    """One gateway for the whole run: what one operation's examples leave behind is there for the next."""
    tmp_path = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, host in SIM_HOSTS.items():
            monkeypatch.setenv(f"GATEWAY_SIM_{name.upper()}_URL", f"http://{host}")
        shutil.copytree(dev_keys, tmp_path / "keys")
        gateway_settings = support.test_settings(tmp_path)
        app = create_app(gateway_settings)
        yield from _started(app, gateway_settings)


def _started(app: FastAPI, gateway_settings: Settings) -> Iterator[FastAPI]:
    app.state.fuzz_settings = gateway_settings
    with asgi.get_client(app):  # starts the lifespan in schemathesis' event loop thread
        pass
    relay = app.state.exchange.relay
    # Created here, first used inside the lifespan's loop: httpx binds an AsyncClient to a loop on first use.
    relay.client = httpx.AsyncClient(
        transport=RoutingTransport({SIM_HOSTS[n]: create_simulator(n) for n in SIM_HOSTS}), timeout=5)
    yield app
    # Stop the lifespan (delivery worker, checkpoints, engine) before tmp_path goes away.
    asgi.shutdown_lifespans()


@pytest.fixture
def bearer(fuzz_app: FastAPI) -> dict[str, str]:
    """A token of a registered client holding every scope, so scope checks never hide an operation's body.
    A fresh one per operation: under load the whole run can outlast a token's 5 minutes."""
    gateway_settings = fuzz_app.state.fuzz_settings
    with asgi.get_client(fuzz_app) as session:
        response = session.post("/oauth/token",
                                data=token_form(assertion_for(gateway_settings, WIJKTEAM), " ".join(SCOPES)))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def web_session(fuzz_app: FastAPI) -> dict[str, str]:
    """A DPO's (and operator's) web session, logged in through the form, and its CSRF token: the review API reads
    the session cookie and wants the token in `X-CSRF-Token` on every POST. One for the run (the idle timeout is
    longer than the run, and every request renews it)."""
    add_user(fuzz_app, "fuzz-dpo", ["dpo", "operator"])
    names = cookie_names(fuzz_app.state.fuzz_settings)
    with asgi.get_client(fuzz_app) as session:
        # Cookies are passed by hand: with secure cookies configured, requests would not send them over http.
        form = session.get("/ui/login")
        login_cookie = f"{names.login_csrf}={form.cookies[names.login_csrf]}"
        logged_in = session.post("/ui/login", allow_redirects=False, headers={"Cookie": login_cookie},
                                 data={"username": "fuzz-dpo", "password": PASSWORD,
                                       "csrf_token": login_csrf(form.text), "next": "/ui/"})
        assert logged_in.status_code == 303, logged_in.text
        cookie = f"{names.session}={logged_in.cookies[names.session]}"
        page = session.get("/ui/review/", headers={"Cookie": cookie})
        assert page.status_code == 200, page.text
    return {"Cookie": cookie, "X-CSRF-Token": login_csrf(page.text)}


# The description is generated from the routes alone (no lifespan, no files touched), so it can be loaded when the
# module is collected and each operation becomes its own test; requests go to a started app through `session`.
schema = schemathesis.openapi.from_dict(
    create_app(support.test_settings(Path(tempfile.gettempdir()) / "kgb-fuzz-unused")).openapi())


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate, Phase.shrink],
          suppress_health_check=list(HealthCheck))
def test_openapi_operations_hold_their_contract(case: Any, fuzz_app: FastAPI, bearer: dict[str, str],
                                               web_session: dict[str, str]) -> None:
    with asgi.get_client(fuzz_app) as session:
        case.call_and_validate(base_url=f"http://{asgi.HOST}", session=session, headers={**bearer, **web_session},
                               checks=CHECKS)
