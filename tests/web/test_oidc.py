"""OIDC login against an in-process identity provider: code flow with PKCE, nonce, roles from the claims."""

from __future__ import annotations

import base64
import hashlib
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlmodel import Session, select

from gateway.core.settings import Settings
from gateway.web.models import AdminAuditEntry, WebUser
from gateway.web.oidc import OidcClient
from tests.support import test_settings as make_settings
from tests.web.web_support import add_user

ISSUER = "http://idp.test"
CLIENT_ID = "kgb-gateway"
SECRET = "idp-client-secret-for-tests"


class FakeIdp:
    """Just enough of an OpenID provider: discovery, JWKS, authorize (auto-consent) and token with PKCE."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "idp-1", "use": "sig", "alg": "RS256"})
        self.claims: dict[str, Any] = {"sub": "u-123", "preferred_username": "Fg.Oidc", "name": "FG via OIDC",
                                       "roles": ["dpo"], "organisation": "vt-utrecht"}
        self.codes: dict[str, dict[str, str]] = {}
        self.nonce_override: str | None = None
        self.app = FastAPI()
        app = self.app

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks"}

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        async def authorize(request: Request) -> RedirectResponse:
            q = request.query_params
            assert q["client_id"] == CLIENT_ID and q["response_type"] == "code"
            assert q["code_challenge_method"] == "S256"
            code = f"code-{len(self.codes)}"
            self.codes[code] = {"challenge": q["code_challenge"], "nonce": q["nonce"], "redirect": q["redirect_uri"]}
            return RedirectResponse(f"{q['redirect_uri']}?code={code}&state={q['state']}", status_code=302)

        @app.post("/token")
        async def token(code: str = Form(), code_verifier: str = Form(), client_id: str = Form(),
                        client_secret: str = Form(), redirect_uri: str = Form()) -> JSONResponse:
            grant = self.codes.pop(code, None)
            digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
            if grant is None or digest != grant["challenge"] or client_secret != SECRET or \
                    client_id != CLIENT_ID or redirect_uri != grant["redirect"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {**self.claims, "iss": ISSUER, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                      "nonce": self.nonce_override or grant["nonce"]}
            id_token = jwt.encode({"alg": "RS256", "kid": "idp-1"}, claims, self.key)
            return JSONResponse({"access_token": "at", "token_type": "Bearer", "id_token": id_token,
                                 "expires_in": 300})


@pytest.fixture
def idp() -> FakeIdp:
    return FakeIdp()


@pytest.fixture
async def oidc_app(tmp_path: Path, dev_keys: Path, idp: FakeIdp) -> AsyncIterator[FastAPI]:
    from gateway.main import create_app

    shutil.copytree(dev_keys, tmp_path / "keys")
    (tmp_path / "oidc-secret").write_text(SECRET)
    settings: Settings = make_settings(tmp_path, oidc_issuer=ISSUER, oidc_client_id=CLIENT_ID,
                                       oidc_client_secret_file=tmp_path / "oidc-secret", delivery_worker=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.oidc = OidcClient(settings, transport=httpx.ASGITransport(app=idp.app))
        yield app


async def _oidc_login(app: FastAPI, idp: FakeIdp, client: httpx.AsyncClient,
                      next_path: str = "/ui/audit") -> httpx.Response:
    start = await client.get(f"/ui/login/oidc?next={next_path}")
    assert start.status_code == 303, start.text
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=idp.app), base_url=ISSUER) as browser_at_idp:
        consent = await browser_at_idp.get(start.headers["location"])
    assert consent.status_code == 302
    back = urlsplit(consent.headers["location"])
    return await client.get(f"{back.path}?{back.query}")


@pytest.fixture
async def web(oidc_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=oidc_app),
                                 base_url=oidc_app.state.settings.public_url) as c:
        yield c


async def test_oidc_login_creates_a_session_with_the_roles_of_the_claims(oidc_app: FastAPI, idp: FakeIdp,
                                                                         web: httpx.AsyncClient) -> None:
    start = await web.get("/ui/login/oidc?next=/ui/audit")
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    done = await _oidc_login(oidc_app, idp, web)
    assert done.status_code == 303 and done.headers["location"] == "/ui/audit"
    page = await web.get("/ui/audit")
    assert page.status_code == 200 and "FG via OIDC" in page.text
    with Session(oidc_app.state.db) as session:
        user = session.get(WebUser, "fg.oidc")
        assert user is not None and user.roles == "dpo" and user.password_hash is None
        logins = session.exec(select(AdminAuditEntry).where(AdminAuditEntry.action == "login")).all()
    assert any('"oidc"' in e.detail for e in logins)


async def test_no_known_role_means_no_session(oidc_app: FastAPI, idp: FakeIdp, web: httpx.AsyncClient) -> None:
    idp.claims["roles"] = ["medewerker"]
    refused = await _oidc_login(oidc_app, idp, web)
    assert refused.status_code == 403
    assert (await web.get("/ui/audit")).status_code == 303


async def test_a_wrong_nonce_is_refused(oidc_app: FastAPI, idp: FakeIdp, web: httpx.AsyncClient) -> None:
    idp.nonce_override = "replayed-nonce"
    assert (await _oidc_login(oidc_app, idp, web)).status_code == 403
    assert (await web.get("/ui/audit")).status_code == 303


async def test_a_forged_state_is_refused(oidc_app: FastAPI, idp: FakeIdp, web: httpx.AsyncClient) -> None:
    await web.get("/ui/login/oidc")
    forged = await web.get("/ui/oidc/callback?code=code-0&state=someone-elses-state")
    assert forged.status_code == 403
    # Without the sealed pending cookie (a login not started here) the callback is refused too.
    web.cookies.clear()
    assert (await web.get("/ui/oidc/callback?code=code-0&state=x")).status_code == 403


async def test_an_idp_login_never_takes_over_a_local_account(oidc_app: FastAPI, idp: FakeIdp,
                                                             web: httpx.AsyncClient) -> None:
    add_user(oidc_app, "fg.oidc", ["privacy_officer"])
    assert (await _oidc_login(oidc_app, idp, web)).status_code == 403
    with Session(oidc_app.state.db) as session:
        assert session.get(WebUser, "fg.oidc").roles == "privacy_officer"  # type: ignore[union-attr]


async def test_the_account_follows_the_subject_not_the_name(oidc_app: FastAPI, idp: FakeIdp,
                                                            web: httpx.AsyncClient) -> None:
    assert (await _oidc_login(oidc_app, idp, web)).status_code == 303
    # The user renames themselves at the provider: still the same account, under its first name.
    idp.claims["preferred_username"] = "someone-else"
    assert (await _oidc_login(oidc_app, idp, web)).status_code == 303
    with Session(oidc_app.state.db) as session:
        users = session.exec(select(WebUser)).all()
    assert [(u.username, u.oidc_subject) for u in users] == [("fg.oidc", "u-123")]


async def test_another_subject_cannot_claim_an_existing_oidc_name(oidc_app: FastAPI, idp: FakeIdp,
                                                                  web: httpx.AsyncClient) -> None:
    assert (await _oidc_login(oidc_app, idp, web)).status_code == 303
    web.cookies.clear()
    idp.claims["sub"] = "u-999"  # a different person who set the same preferred_username at the provider
    refused = await _oidc_login(oidc_app, idp, web)
    assert refused.status_code == 403
    assert (await web.get("/ui/audit")).status_code == 303
