"""Certificate-bound access tokens (RFC 8705) with binding on, through the real HTTP surface.

The ingress's header carries the URL-encoded PEM of the client certificate (ingress-nginx `ssl-client-cert`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.types import Receive, Scope, Send

from gateway.auth.client import token_form
from gateway.core.settings import Settings
from tests.support import WIJKTEAM, assertion_for, melding_request

HEADER = "ssl-client-cert"


def make_certificate(name: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def header_for(cert: x509.Certificate) -> dict[str, str]:
    return {HEADER: quote(pem(cert))}


def x5t_s256(cert: x509.Certificate) -> str:
    der = cert.public_bytes(serialization.Encoding.DER)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


CLIENT_CERT = make_certificate("wijkteam-utrecht-west-cms")
OTHER_CERT = make_certificate("someone-else")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"mtls_bound_tokens": True})


async def bound_token(client: httpx.AsyncClient, settings: Settings, cert: x509.Certificate) -> str:
    response = await client.post("/oauth/token", data=token_form(assertion_for(settings, WIJKTEAM)),
                                 headers=header_for(cert))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def read_exchange(client: httpx.AsyncClient, token: str, headers: dict[str, str]) -> httpx.Response:
    # An unknown exchange id: a 404 means the token was accepted, a 401 that it was refused.
    return await client.get("/v1/exchanges/3fa85f64-5717-4562-b3fc-2c963f66afa6",
                            headers={"Authorization": f"Bearer {token}"} | headers)


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid-token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_token_carries_the_thumbprint_of_the_client_certificate(client: httpx.AsyncClient,
                                                                      settings: Settings) -> None:
    token = await bound_token(client, settings, CLIENT_CERT)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    claims = jwt.decode(token, RSAKey.import_key(jwks["keys"][0]), algorithms=["RS256"]).claims
    assert claims["cnf"] == {"x5t#S256": x5t_s256(CLIENT_CERT)}


async def test_bound_token_with_the_same_certificate_is_accepted(client: httpx.AsyncClient,
                                                                 settings: Settings) -> None:
    token = await bound_token(client, settings, CLIENT_CERT)
    response = await read_exchange(client, token, header_for(CLIENT_CERT))
    assert response.status_code == 404, response.text
    push = await client.post("/v1/exchanges/push", json=melding_request(),
                             headers={"Authorization": f"Bearer {token}"} | header_for(CLIENT_CERT))
    assert push.status_code in {201, 202}, push.text


async def test_bound_token_with_another_certificate_is_refused(client: httpx.AsyncClient,
                                                               settings: Settings) -> None:
    token = await bound_token(client, settings, CLIENT_CERT)
    assert_invalid_token(await read_exchange(client, token, header_for(OTHER_CERT)))


async def test_bound_token_without_a_certificate_is_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    token = await bound_token(client, settings, CLIENT_CERT)
    assert_invalid_token(await read_exchange(client, token, {}))
    assert_invalid_token(await read_exchange(client, token, {HEADER: "  "}))


MALFORMED = {
    "bad-escape": "%%%not-url-encoding",
    "not-pem": "garbage",
    "not-a-certificate": quote("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"),
    "bad-base64": quote("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
    "unterminated": quote("-----BEGIN CERTIFICATE-----\n"),
    "not-ascii": quote("-----BEGIN CERTIFICATE-----\nMIIé\n-----END CERTIFICATE-----\n"),
    "too-long": "A" * 20_000,
}


async def test_malformed_certificate_header_is_a_clean_401(client: httpx.AsyncClient, settings: Settings) -> None:
    # One app for all values: each case is two requests, an app start is the slow part.
    token = await bound_token(client, settings, CLIENT_CERT)
    for name, value in MALFORMED.items():
        assert_invalid_token(await read_exchange(client, token, {HEADER: value}))
        at_token_endpoint = await client.post("/oauth/token", data=token_form(assertion_for(settings, WIJKTEAM)),
                                              headers={HEADER: value})
        assert at_token_endpoint.status_code == 401, (name, at_token_endpoint.text)
        assert at_token_endpoint.json()["code"] == "invalid-client", name


async def test_no_token_without_a_certificate(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.post("/oauth/token", data=token_form(assertion_for(settings, WIJKTEAM)))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_unbound_token_is_refused_when_binding_is_on(client: httpx.AsyncClient, settings: Settings,
                                                           app: FastAPI) -> None:
    tokens = app.state.tokens
    org, cfg = tokens.registry.by_client(WIJKTEAM)
    unbound = tokens.issue(org, cfg, ["exchange:read"], dt.datetime.now(dt.UTC))
    assert_invalid_token(await read_exchange(client, unbound, header_for(CLIENT_CERT)))


async def test_metadata_advertises_bound_tokens(client: httpx.AsyncClient) -> None:
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert meta["tls_client_certificate_bound_access_tokens"] is True


class _TlsExtension:
    """A server that terminates TLS itself hands the certificate to the app in the ASGI TLS extension."""

    def __init__(self, app: FastAPI, chain: list[str]) -> None:
        self.app, self.chain = app, chain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = scope | {"extensions": {"tls": {"client_cert_chain": self.chain, "client_cert_error": None}}}
        await self.app(scope, receive, send)


@pytest.fixture
async def tls_client(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_TlsExtension(app, [pem(CLIENT_CERT)]))
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as c:
        yield c


async def test_certificate_from_the_asgi_tls_extension(tls_client: httpx.AsyncClient, settings: Settings) -> None:
    token = await bound_token(tls_client, settings, CLIENT_CERT)
    assert (await read_exchange(tls_client, token, {})).status_code == 404
    # The connection's own certificate wins over a header naming another one.
    assert (await read_exchange(tls_client, token, header_for(OTHER_CERT))).status_code == 404
    other = await bound_token(tls_client, settings, OTHER_CERT)  # the header is ignored here as well
    assert (await read_exchange(tls_client, other, {})).status_code == 404
