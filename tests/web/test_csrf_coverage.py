"""Every state-changing route under /ui is protected against CSRF: it depends on `require_role_csrf` somewhere in
its dependency tree; the one exception, the login form (no session yet), checks its own login CSRF token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute, Mount

from gateway.main import create_app
from gateway.web.deps import WebPrincipal, require_role, require_role_csrf
from tests import support
from tests.web.web_support import PASSWORD, add_user, login_csrf

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Routes that cannot have a session's CSRF token and check another one themselves (tested below).
OWN_CSRF_CHECK = {("POST", "/ui/login")}
_CSRF_CODE = require_role_csrf().__code__  # every dependency require_role_csrf(...) makes runs this code


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: frozenset[str]
    dependant: Dependant | None  # None: not a FastAPI route (no dependencies to inspect)
    app: Any = None  # a Mount's application


def endpoints(routes: list[BaseRoute]) -> Iterator[Endpoint]:
    """Every route as served: FastAPI 0.165 keeps an included router as one lazy entry in `app.routes`, whose
    `effective_candidates()` are its routes with the full path and the dependencies of the include as well."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if candidates is not None:
            for candidate in candidates():
                if hasattr(candidate, "effective_candidates"):
                    yield from endpoints([candidate])
                else:
                    yield Endpoint(candidate.path, frozenset(candidate.methods or ()), candidate.dependant)
        elif isinstance(route, Mount):
            yield Endpoint(route.path, frozenset({"*"}), None, route.app)
        elif isinstance(route, APIRoute):
            yield Endpoint(route.path, frozenset(route.methods), route.dependant)
        else:
            yield Endpoint(getattr(route, "path", ""), frozenset(getattr(route, "methods", None) or ()), None)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _checks_csrf(dependant: Dependant | None) -> bool:
    return dependant is not None and any(getattr(c, "__code__", None) is _CSRF_CODE for c in _calls(dependant))


def unprotected(routes: list[BaseRoute]) -> list[tuple[str, str]]:
    """(method, path) of every state-changing /ui route without the CSRF dependency, exceptions not counted."""
    found = []
    for endpoint in endpoints(routes):
        if not endpoint.path.startswith("/ui"):
            continue
        if "*" in endpoint.methods:  # a mount: only static files (GET and HEAD) are allowed under /ui
            if not isinstance(endpoint.app, StaticFiles):
                found.append(("*", endpoint.path))
            continue
        found.extend((method, endpoint.path) for method in sorted(endpoint.methods & UNSAFE)
                     if (method, endpoint.path) not in OWN_CSRF_CHECK and not _checks_csrf(endpoint.dependant))
    return found


async def unguarded(principal: Annotated[WebPrincipal, Depends(require_role("dpo"))]) -> None:
    del principal


async def checked(principal: Annotated[WebPrincipal, Depends(require_role_csrf("dpo"))]) -> WebPrincipal:
    return principal


async def nested(principal: Annotated[WebPrincipal, Depends(checked)]) -> None:  # the check one level down
    del principal


@pytest.fixture
def routes_app(tmp_path: Path) -> FastAPI:
    return create_app(support.test_settings(tmp_path))  # the routes only: no lifespan runs


def test_every_state_changing_ui_route_checks_csrf(routes_app: FastAPI) -> None:
    assert unprotected(routes_app.routes) == []
    posts = [(m, e.path) for e in endpoints(routes_app.routes) for m in e.methods & UNSAFE if e.path.startswith("/ui")]
    assert len(posts) > 15  # the walk does see the app's forms and API posts
    assert set(posts) >= OWN_CSRF_CHECK  # an exception for a route that no longer exists must go


def test_a_post_route_without_the_csrf_dependency_is_found(routes_app: FastAPI) -> None:
    routes_app.router.add_api_route("/ui/dummy/unguarded", unguarded, methods=["POST"])
    routes_app.router.add_api_route("/ui/dummy/delete", unguarded, methods=["GET", "DELETE"])
    routes_app.router.add_api_route("/ui/dummy/nested", nested, methods=["POST", "PATCH"])
    routes_app.router.add_api_route("/v1/dummy", unguarded, methods=["POST"])  # not a web page: not this rule
    assert unprotected(routes_app.routes) == [("POST", "/ui/dummy/unguarded"), ("DELETE", "/ui/dummy/delete")]


async def test_the_login_form_checks_its_own_csrf_token(app: FastAPI, client: httpx.AsyncClient) -> None:
    add_user(app, "fg-login", ["dpo"])
    form = {"username": "fg-login", "password": PASSWORD, "next": "/ui/"}
    page = await client.get("/ui/login")
    token = login_csrf(page.text)
    assert (await client.post("/ui/login", data=form)).status_code == 403
    assert (await client.post("/ui/login", data={**form, "csrf_token": "not-the-token"})).status_code == 403
    accepted = await client.post("/ui/login", data={**form, "csrf_token": token})
    assert accepted.status_code == 303, accepted.text
