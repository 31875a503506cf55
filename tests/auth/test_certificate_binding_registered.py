"""Binding with registered certificates: the client's JWK set names the certificates it may use (RFC 8705)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from gateway.auth.client import token_form
from gateway.core.settings import Settings
from tests.auth.test_certificate_binding import (
    CLIENT_CERT,
    OTHER_CERT,
    bound_token,
    header_for,
    make_certificate,
    read_exchange,
    x5t_s256,
)
from tests.support import VT, WIJKTEAM, assertion_for

X5C_CERT = make_certificate("registered-as-x5c")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The wijkteam's system registers one certificate by thumbprint and one as an x5c chain; VT registers none.
    path = settings.keys_dir / "clients" / f"{WIJKTEAM}.jwks.json"
    jwks = json.loads(path.read_text())
    jwks["keys"][0]["x5t#S256"] = x5t_s256(CLIENT_CERT)
    x5c = base64.b64encode(X5C_CERT.public_bytes(serialization.Encoding.DER)).decode()
    jwks["keys"].append(jwks["keys"][0] | {"kid": "second", "x5c": [x5c]})
    del jwks["keys"][1]["x5t#S256"]
    path.write_text(json.dumps(jwks))
    return settings.model_copy(update={"mtls_bound_tokens": True, "mtls_require_registered_certificate": True})


async def test_registered_certificates_get_a_bound_token(client: httpx.AsyncClient, settings: Settings) -> None:
    for cert in (CLIENT_CERT, X5C_CERT):
        token = await bound_token(client, settings, cert)
        assert (await read_exchange(client, token, header_for(cert))).status_code == 404


async def test_an_unregistered_certificate_gets_no_token(client: httpx.AsyncClient, settings: Settings) -> None:
    for client_id, cert in ((WIJKTEAM, OTHER_CERT), (VT, CLIENT_CERT)):
        response = await client.post("/oauth/token", data=token_form(assertion_for(settings, client_id)),
                                     headers=header_for(cert))
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "invalid-client"
