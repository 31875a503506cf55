"""Outbound HTTP per partner: plain, API key, OAuth2 client credentials or ZGW's JWT, and/or mutual TLS — explicit
timeouts; sent over aiohttp's pool or httpx's own (`gateway.relay.transport`, GATEWAY_RELAY_TRANSPORT).

Partners without outbound auth share one pooled client. A partner with auth gets its own client: the
credentials live on the client (an `httpx.Auth` or a TLS context), so adapters never see a secret. Secrets come
from environment variables or files under the keys directory, never from the registry file itself.
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import time
from collections.abc import AsyncGenerator, Generator
from pathlib import Path

import httpx

from adapters.zgw.auth import ZgwJwt
from gateway.registry.organisations import EndpointConfig, Organisation, SecretRef
from gateway.relay.transport import RelayTransportName, relay_client


class PartnerConfigError(Exception):
    """A partner's outbound auth is configured but its secret or certificate is missing (names no secret)."""


def read_secret(ref: SecretRef, keys_dir: Path) -> str:
    if ref.secret_env:
        value = os.environ.get(ref.secret_env)
    else:
        path = keys_dir / (ref.secret_file or "")
        value = path.read_text(encoding="utf-8").strip() if path.is_file() else None
    if not value:
        raise PartnerConfigError("a partner secret is not available")
    return value


class ApiKey(httpx.Auth):
    def __init__(self, header: str, key: str) -> None:
        self.header, self.key = header, key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = self.key
        yield request


class ClientCredentials(httpx.Auth):
    """OAuth2 client credentials towards the partner's authorisation server; the token is cached until shortly
    before it expires and fetched again once when the partner answers 401."""

    requires_response_body = True

    def __init__(self, *, token_url: str, client_id: str, secret: str, scope: str | None) -> None:
        self.token_url, self.client_id, self.secret, self.scope = token_url, client_id, secret, scope
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"} | ({"scope": self.scope} if self.scope else {})
        basic = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()  # client_secret_basic
        return httpx.Request("POST", self.token_url, data=form, headers={"Authorization": f"Basic {basic}"})

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                answer = yield self._token_request()
                await self._accept(answer)
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            async with self._lock:
                answer = yield self._token_request()
                await self._accept(answer)
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    async def _accept(self, answer: httpx.Response) -> None:
        # This flow replaces httpx.Auth's own, which would read the body for `requires_response_body`: read it
        # here, or a real transport's streamed answer has no content yet (only a MockTransport's would).
        await answer.aread()
        if answer.status_code != 200:
            raise httpx.HTTPStatusError("partner token endpoint refused", request=answer.request, response=answer)
        body = answer.json()
        self._token = str(body["access_token"])
        self._expires = time.monotonic() + max(0.0, float(body.get("expires_in", 300)) - 30)


def _tls(endpoint: EndpointConfig, keys_dir: Path) -> ssl.SSLContext | None:
    if endpoint.tls is None:
        return None
    tls = endpoint.tls
    for name in (tls.cert_file, tls.key_file, *([tls.ca_file] if tls.ca_file else [])):
        if not (keys_dir / name).is_file():
            raise PartnerConfigError("a partner certificate or key file is missing")
    context = ssl.create_default_context(cafile=str(keys_dir / tls.ca_file) if tls.ca_file else None)
    context.load_cert_chain(keys_dir / tls.cert_file, keys_dir / tls.key_file)
    return context


def needs_own_client(endpoint: EndpointConfig) -> bool:
    return bool(endpoint.api_key or endpoint.oauth2 or endpoint.zgw_jwt or endpoint.tls)


def partner_client(organisation: Organisation, *, keys_dir: Path, timeout: httpx.Timeout,
                   transport: RelayTransportName = "aiohttp") -> httpx.AsyncClient:
    endpoint = organisation.endpoint
    if endpoint is None:
        raise PartnerConfigError("the partner has no endpoint")
    auth: httpx.Auth | None = None
    if endpoint.api_key is not None:
        auth = ApiKey(endpoint.api_key.header, read_secret(endpoint.api_key, keys_dir))
    if endpoint.oauth2 is not None:
        auth = ClientCredentials(token_url=endpoint.oauth2.token_url, client_id=endpoint.oauth2.client_id,
                                 secret=read_secret(endpoint.oauth2, keys_dir), scope=endpoint.oauth2.scope)
    if endpoint.zgw_jwt is not None:
        zgw = endpoint.zgw_jwt
        auth = ZgwJwt(client_id=zgw.client_id, secret=read_secret(zgw, keys_dir), user_id=zgw.user_id,
                      user_representation=zgw.user_representation)
    context = _tls(endpoint, keys_dir)
    # The same TLS context (partner CA, client certificate chain for mutual TLS) whichever transport sends.
    return relay_client(transport=transport, auth=auth, verify=context if context is not None else True,
                        timeout=timeout, limits=httpx.Limits(max_connections=20, max_keepalive_connections=10))
