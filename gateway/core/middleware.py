"""Pure ASGI middleware: W3C trace context, request body limit, and request latency."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core.errors import PayloadTooLarge
from gateway.core.metrics import Metrics
from gateway.core.problems import render_problem
from gateway.core.tracing import (
    new_trace_id,
    parse_traceparent,
    reset_trace_id,
    set_trace_id,
    traceparent_for,
)


class GatewayMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        parsed = parse_traceparent(headers.get("traceparent"))
        trace_id = parsed[0] if parsed else new_trace_id()
        token = set_trace_id(trace_id)
        started = time.perf_counter()
        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            await self.app(scope, self._limited(receive), self._with_trace(send, trace_id))
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.request_seconds.labels(path, scope.get("method", "")).observe(time.perf_counter() - started)
            reset_trace_id(token)

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
    def _with_trace(send: Send, trace_id: str) -> Send:
        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"traceparent", traceparent_for(trace_id).encode()))
                message = {**message, "headers": headers}
            await send(message)

        return send_with_trace

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = render_problem(None, PayloadTooLarge(detail="The request body exceeds the configured limit."))
        await response(scope, receive, send)
