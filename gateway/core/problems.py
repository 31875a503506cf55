"""RFC 9457 problem+json rendering: one place turns every error into the same shape."""

from __future__ import annotations

import logging
import uuid
from typing import Any, cast

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from gateway.core.errors import (
    BadRequest,
    GatewayError,
    InternalError,
    InvalidParam,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from gateway.core.tracing import current_trace_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("gateway.problems")


def problem_type(request: Request | None, code: str) -> str:
    base = ""
    if request is not None:
        base = str(getattr(request.app.state, "public_url", "")).rstrip("/")
    return f"{base}/problems/{code}"


def render_problem(request: Request | None, error: GatewayError) -> Response:
    body: dict[str, Any] = {
        "type": problem_type(request, error.code),
        "code": error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail or error.title,
        "instance": f"urn:uuid:{uuid.uuid4()}",
    }
    trace_id = current_trace_id()
    if trace_id:
        body["trace_id"] = trace_id
    if error.invalid_params:
        body["invalid_params"] = [
            {"name": p.name, "code": p.code, "reason": p.reason} for p in error.invalid_params
        ]
    body.update(error.extra)
    return Response(
        content=orjson.dumps(body),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=error.headers,
    )


def _loc_to_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_problem(exc: RequestValidationError) -> GatewayError:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return MalformedJson(detail="The body could not be parsed as JSON.")
    params = [
        # The message comes from pydantic and never echoes the input value (we do not pass `input`).
        InvalidParam(name=_loc_to_name(tuple(e.get("loc", ()))), reason=str(e.get("msg", "invalid")),
                     code=str(e.get("type", "invalid")))
        for e in errors
    ]
    return ValidationFailed(detail=f"{len(params)} field(s) are invalid.", invalid_params=params)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_gateway_error(request: Request, exc: Exception) -> Response:
        exc = cast(GatewayError, exc)
        if exc.status >= 500:
            _log.warning("request failed closed: %s", exc.code)
        html = getattr(request.app.state, "html_error", None)
        if html is not None and request.url.path.startswith("/ui") and not request.url.path.startswith("/ui/api/"):
            # Web pages answer with a page (or a redirect to the login page), not with problem+json.
            response: Response = html(request, exc)
            return response
        return render_problem(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        exc = cast(RequestValidationError, exc)
        return render_problem(request, validation_problem(exc))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        exc = cast(StarletteHTTPException, exc)
        error: GatewayError
        if exc.status_code == 404:
            error = NotFound(detail="No such resource.")
        elif exc.status_code == 405:
            error = MethodNotAllowed(detail="This method is not supported on this resource.",
                                     headers=dict(exc.headers or {}))
        elif exc.status_code == 413:
            error = PayloadTooLarge(detail="The request body exceeds the configured limit.")
        else:
            error = BadRequest(detail="The request could not be processed.")
        return render_problem(request, error)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Log the type only: exception messages may carry request values.
        _log.error("unexpected error %s", type(exc).__name__)
        return render_problem(request, InternalError(detail="An unexpected error occurred; nothing was relayed."))

    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
