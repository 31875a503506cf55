"""The exchange API. Thin: parse, authorise, hand to the service, map the outcome to an HTTP answer."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response

from gateway.auth.dependencies import require_scope
from gateway.auth.tokens import Principal
from gateway.core.errors import BadRequest, DeliveryFailed, ExchangeRefused, UnsupportedMediaType
from gateway.core.problems import render_problem
from gateway.core.tracing import current_trace_id, new_trace_id
from gateway.exchange import reidentify as reidentify_service
from gateway.exchange import service
from gateway.exchange.schemas import ExchangeResult, PullRequest, PushRequest, ReidentifyRequest, ReidentifyResult

router = APIRouter(prefix="/v1/exchanges", tags=["exchanges"])
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{8,200}$")

PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed request", **PROBLEM},
    401: {"description": "Missing or invalid access token", **PROBLEM},
    403: {"description": "Refused by policy, acting for another organisation, or insufficient scope", **PROBLEM},
    409: {"description": "Same Idempotency-Key still in flight", **PROBLEM},
    413: {"description": "Body too large", **PROBLEM},
    415: {"description": "Not application/json", **PROBLEM},
    422: {"description": "Invalid fields (listed in invalid_params), unknown organisation, reused key", **PROBLEM},
    429: {"description": "Rate limit per organisation or professional reached; see Retry-After", **PROBLEM},
    502: {"description": "Logged, but the partner could not be reached", **PROBLEM},
    503: {"description": "Fail closed: no policy decision or no durable log; nothing relayed", **PROBLEM},
}


async def json_body(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(detail="Send the request body as application/json.")


PushCaller = Annotated[Principal, Depends(require_scope("exchange:push"))]
PullCaller = Annotated[Principal, Depends(require_scope("exchange:pull"))]
ReadCaller = Annotated[Principal, Depends(require_scope("exchange:read"))]
ReidentifyCaller = Annotated[Principal, Depends(require_scope("exchange:reidentify"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description=(
    "Makes a repeated request safe: the same key with the same body returns the first outcome and relays "
    "nothing again; with a different body it is refused (422)."))]


def _key(value: str | None) -> str | None:
    if value is not None and not _IDEMPOTENCY_KEY.match(value):
        raise BadRequest(detail="The Idempotency-Key must be 8 to 200 visible ASCII characters.")
    return value


def _answer(request: Request, result: ExchangeResult, *, created: int, replayed: bool) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if result.status == "refused":
        error: ExchangeRefused | DeliveryFailed = ExchangeRefused(
            detail="; ".join(result.reasons) or "Refused by policy.", extra={"exchange": _plain(result)},
            headers=headers)
        return render_problem(request, error)
    if result.status == "failed":
        error = DeliveryFailed(detail="The partner system could not be reached; the exchange is logged as failed.",
                               extra={"exchange": _plain(result)}, headers=headers)
        return render_problem(request, error)
    status = 202 if result.status in ("pending_review", "delivering", "queued", "awaiting_pickup") else created
    # Serialised by pydantic straight to JSON bytes (no dict, no json.dumps): the same document, cheaper.
    return Response(result.model_dump_json(), status_code=status, media_type="application/json",
                    headers={**headers, "Location": f"/v1/exchanges/{result.exchange_id}"})


def _plain(result: ExchangeResult) -> dict[str, Any]:
    return result.model_dump(mode="json", exclude_none=False)


@router.post("/push", status_code=201, response_model=ExchangeResult, dependencies=[Depends(json_body)],
             summary="Verstrekken: send dossier data to another organisation",
             responses={202: {"description": "Escalated for human review; nothing relayed",
                              "model": ExchangeResult}, **ERRORS})
async def push(request: Request, body: PushRequest, principal: PushCaller,
               idempotency_key: IdempotencyKey = None) -> Response:
    key = _key(idempotency_key)
    result, replayed = await service.push(request.app.state.exchange, principal=principal, body=body,
                                          idempotency_key=key, trace_id=current_trace_id() or new_trace_id())
    return _answer(request, result, created=201, replayed=replayed)


@router.post("/pull", status_code=200, response_model=ExchangeResult, dependencies=[Depends(json_body)],
             summary="Bevragen: obtain data categories from the organisation that holds them",
             responses={202: {"description": "Escalated for human review; nothing fetched",
                              "model": ExchangeResult}, **ERRORS})
async def pull(request: Request, body: PullRequest, principal: PullCaller,
               idempotency_key: IdempotencyKey = None) -> Response:
    key = _key(idempotency_key)
    result, replayed = await service.pull(request.app.state.exchange, principal=principal, body=body,
                                          idempotency_key=key, trace_id=current_trace_id() or new_trace_id())
    return _answer(request, result, created=200, replayed=replayed)


@router.get("/{exchange_id}", response_model=ExchangeResult, summary="Status of an exchange (parties only)",
            responses={401: ERRORS[401], 403: ERRORS[403], 404: {"description": "Unknown, or not yours", **PROBLEM}})
async def get_exchange(exchange_id: str, request: Request, principal: ReadCaller) -> ExchangeResult:
    return await service.get_exchange(request.app.state.exchange, principal=principal, exchange_id=exchange_id)


@router.post("/reidentify", response_model=ReidentifyResult, dependencies=[Depends(json_body)],
             summary="Re-identify values the gateway encrypted for your own organisation",
             description="Some flows pass a value (e.g. the sender's case number) encrypted so that only the sender "
                         "can link an answer back to its own case. Send such values back here; values encrypted "
                         "for another organisation come back as null. Every call is logged.",
             responses={401: ERRORS[401], 403: ERRORS[403], 422: ERRORS[422], 503: ERRORS[503]})
async def reidentify(request: Request, body: ReidentifyRequest, principal: ReidentifyCaller) -> ReidentifyResult:
    return await reidentify_service.reidentify(request.app.state.exchange, principal=principal, body=body,
                                    trace_id=current_trace_id() or new_trace_id())
