"""With certificate binding off (the default), tokens are plain bearer tokens and the ingress header is ignored."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import RSAKey

from gateway.core.settings import Settings
from tests.auth.test_certificate_binding import CLIENT_CERT, HEADER, assert_invalid_token, header_for, read_exchange
from tests.support import WIJKTEAM, token_for


async def test_binding_off_issues_unbound_tokens_and_ignores_the_header(client: httpx.AsyncClient,
                                                                        settings: Settings) -> None:
    assert settings.mtls_bound_tokens is False
    token = await token_for(client, settings, WIJKTEAM)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert "cnf" not in jwt.decode(token, RSAKey.import_key(jwks["keys"][0]), algorithms=["RS256"]).claims
    for headers in ({}, header_for(CLIENT_CERT), {HEADER: "%%% malformed"}):
        assert (await read_exchange(client, token, headers)).status_code == 404
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert "tls_client_certificate_bound_access_tokens" not in meta


async def test_a_bound_token_is_refused_when_binding_is_off(client: httpx.AsyncClient, app: FastAPI) -> None:
    # Its certificate cannot be checked here; accepting it would silently drop the binding.
    tokens = app.state.tokens
    org, cfg = tokens.registry.by_client(WIJKTEAM)
    bound = tokens.issue(org, cfg, ["exchange:read"], dt.datetime.now(dt.UTC), certificate_thumbprint="x" * 43)
    assert_invalid_token(await read_exchange(client, bound, header_for(CLIENT_CERT)))
