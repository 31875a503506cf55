"""The transport under the relay's `httpx.AsyncClient`s: aiohttp's connection pool (default) or httpx's own.

Why: under concurrency httpx's own pool was the bottleneck of the relay on the CI machine kind (measured by
`bench/transport_bench.py`). Adapters, `httpx.Auth` flows (API key, OAuth2, ZGW JWT) and
the request hook that sets `traceparent` all run in the `httpx.AsyncClient` *above* the transport, so they are
unchanged; only the sending of bytes moves to aiohttp (`httpx-aiohttp`'s `AiohttpTransport`).

What the aiohttp transport is given, so it behaves as httpx's pool did:
- the same `ssl.SSLContext` the client would verify with (a partner's CA and, for mutual TLS, the client
  certificate chain loaded into that context), or httpx's default context (certifi) for `verify=True`;
- the timeouts of each request (httpx's connect → aiohttp's `sock_connect`, read → `sock_read`, pool →
  `connect`); aiohttp has no write timeout, and bodies here are small;
- the pool's size (`max_connections`) and keep-alive expiry; it keeps every idle connection up to that size;
- no cookie jar, no decompression (httpx decodes). The client above keeps no cookies either (`RelayClient`).
Every aiohttp error becomes the `httpx.TransportError` httpx's pool would raise (`httpx-aiohttp` leaves some
unmapped, e.g. a malformed answer, and calls a certificate failure a ConnectTimeout), so the adapters'
`except httpx.HTTPError` → `AdapterError("unreachable")` path holds and the cause reads right in a traceback.
Differences that remain: it does not read HTTP(S)_PROXY from the environment (`GATEWAY_RELAY_TRANSPORT=httpx`
does), it speaks HTTP/1.1 only (as the relay's clients always did), and header names go out in lower case.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Literal

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

RelayTransportName = Literal["aiohttp", "httpx"]


class _GuardedStream(httpx.AsyncByteStream):
    """The response body: aiohttp errors while reading it surface as httpx errors too."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except _TRANSLATED as exc:
            raise _translated(exc) from None

    async def aclose(self) -> None:
        await self._inner.aclose()


def _mapped(exc: BaseException) -> httpx.TransportError:
    """The httpx error httpx's own pool raises in the same situation (most specific aiohttp class first)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # connecting, or waiting for a pooled connection
        return httpx.ConnectTimeout(f"partner connection timed out ({type(exc).__name__})")
    if isinstance(exc, TimeoutError):  # aiohttp's SocketTimeoutError: no answer within the read timeout
        return httpx.ReadTimeout(f"partner timed out ({type(exc).__name__})")
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake or certificate verification
        return httpx.ConnectError(str(exc))  # names host and port, as httpx's does, never a person
    if isinstance(exc, aiohttp.ClientOSError):
        return httpx.ReadError(f"partner connection failed ({type(exc).__name__})")
    # Disconnects, malformed answers: type only, aiohttp's text can quote the partner's answer.
    return httpx.RemoteProtocolError(f"partner transport error ({type(exc).__name__})")


_TRANSLATED = (httpx.HTTPError, aiohttp.ClientError, TimeoutError)


def _translated(exc: BaseException) -> BaseException:
    """The httpx error to raise for what the aiohttp transport raised. Raised `from None`: aiohttp's own text
    can carry the request URL (a ZGW query names a BSN), so its exception must not ride along as the cause."""
    return _remapped(exc) if isinstance(exc, httpx.HTTPError) else _mapped(exc)


def _remapped(exc: httpx.HTTPError) -> httpx.HTTPError:
    # httpx-aiohttp 0.2 maps every aiohttp connection error (certificate failures, disconnects) to ConnectTimeout.
    cause = exc.__cause__
    return _mapped(cause) if isinstance(cause, aiohttp.ClientError | TimeoutError) else exc


class AiohttpRelayTransport(AiohttpTransport):
    """`httpx_aiohttp.AiohttpTransport` with an aiohttp session built for the relay (see the module docstring)."""

    def __init__(self, *, verify: ssl.SSLContext | bool, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False, client=self._session)

    def _session(self) -> aiohttp.ClientSession:
        # Called on the first request, inside the running loop (aiohttp binds a session to its loop).
        connector = aiohttp.TCPConnector(ssl=self.ssl_context, limit=self.limits.max_connections or 0,
                                         keepalive_timeout=self.limits.keepalive_expiry)
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     auto_decompress=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except _TRANSLATED as exc:
            raise _translated(exc) from None
        response.stream = _GuardedStream(response.stream)  # type: ignore[arg-type]
        return response


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class RelayClient(httpx.AsyncClient):
    """The relay's `httpx.AsyncClient`: it neither keeps nor sends cookies. Every partner call stands alone. A
    cookie one exchange's answer set must not ride along on the next exchange, which may concern another family.
    It also saves httpx's per-response cookie extraction, which builds a `urllib` request each time."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NoCookies()

    @cookies.setter
    def cookies(self, _cookies: object) -> None:
        raise AttributeError("the relay's clients keep no cookies")


def relay_client(*, transport: RelayTransportName, timeout: httpx.Timeout, limits: httpx.Limits,
                 verify: ssl.SSLContext | bool = True, auth: httpx.Auth | None = None) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for partner calls over the chosen transport; close it with `aclose()`."""
    if transport == "httpx":
        return RelayClient(auth=auth, verify=verify, timeout=timeout, limits=limits)
    return RelayClient(auth=auth, timeout=timeout, limits=limits,
                       transport=AiohttpRelayTransport(verify=verify, limits=limits))
