"""Pure ASGI middleware: the request's server span (W3C trace context), request body limit, and latency."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core import telemetry
from gateway.core.errors import PayloadTooLarge
from gateway.core.metrics import Metrics
from gateway.core.problems import render_problem
from gateway.core.telemetry import Telemetry
from gateway.core.tracing import traceparent_of

# Probes and scrapes every few seconds would drown the exchanges in a trace backend; they get no span.
UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})


class GatewayMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics, tracing: Telemetry) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope.get("method", "")
        started = time.perf_counter()
        if scope.get("path") in UNTRACED:
            try:
                await self.app(scope, receive, send)
            finally:
                self._observe(scope, method, started)
            return
        # The server span continues the caller's trace; its name and route are known only after routing (never
        # the raw path: it is the caller's text).
        with self.tracing.activated(), telemetry.span(
                method, {"http.request.method": method}, kind=SpanKind.SERVER,
                parent=telemetry.context_from_headers(headers)) as server:
            try:
                declared = headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                    await self._too_large(scope, receive, self._with_trace(send, server))
                    return
                await self.app(scope, self._limited(receive), self._with_trace(send, server))
            finally:
                route = self._observe(scope, method, started)
                server.update_name(f"{method} {route}")
                telemetry.annotate({"http.route": route}, server)

    def _observe(self, scope: Scope, method: str, started: float) -> str:
        route = getattr(scope.get("route"), "path", "unmatched")
        self.metrics.request_seconds.labels(route, method).observe(time.perf_counter() - started)
        return str(route)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise PayloadTooLarge(detail="The request body exceeds the configured limit.")
            return message

        return limited

    @staticmethod
    def _with_trace(send: Send, server: Span) -> Send:
        traceparent = traceparent_of(server)

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message.get("status", 0))
                telemetry.annotate({"http.response.status_code": status}, server)
                if status >= 500:
                    server.set_status(Status(StatusCode.ERROR))
                headers: list[Any] = list(message.get("headers", []))
                if traceparent is not None:
                    headers.append((b"traceparent", traceparent.encode()))
                message = {**message, "headers": headers}
            await send(message)

        return send_with_trace

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = render_problem(None, PayloadTooLarge(detail="The request body exceeds the configured limit."))
        await response(scope, receive, send)
