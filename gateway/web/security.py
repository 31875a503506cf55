"""Security headers for the web pages (strict CSP, no framing, no caching) and CSRF checks for their forms."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core.errors import Forbidden

UI_PREFIX = "/ui"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form posts.
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class CsrfRefused(Forbidden):
    """The form or request did not carry this session's CSRF token, or came from another origin."""

    code = "csrf-refused"
    title = "CSRF check failed"


class WebSecurityHeaders:
    """Pure ASGI middleware: adds the headers above to every response under /ui (and HSTS over https)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(UI_PREFIX):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in names]
                if self.hsts:
                    extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def check_origin(headers: dict[str, str], public_url: str) -> None:
    """Refuse a state-changing request whose Origin (or Sec-Fetch-Site) shows it came from another site.

    Defence in depth: the CSRF token is the check that must always pass; an opaque `Origin: null` is left to it.
    """
    origin = headers.get("origin")
    if origin and origin != "null":
        expected = urlsplit(public_url)
        actual = urlsplit(origin)
        if (actual.scheme, actual.netloc) != (expected.scheme, expected.netloc):
            raise CsrfRefused(detail="Het verzoek komt van een andere website en is geweigerd.")
    if headers.get("sec-fetch-site") in {"cross-site", "same-site"}:
        raise CsrfRefused(detail="Het verzoek komt van een andere website en is geweigerd.")


def check_token(expected: str, presented: str | None) -> None:
    if not presented or not hmac.compare_digest(expected.encode(), presented.encode()):
        raise CsrfRefused(detail="Het formulier is verlopen of ongeldig (CSRF-controle). Laad de pagina opnieuw.")
