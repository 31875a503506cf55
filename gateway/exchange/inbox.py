"""The inbox: organisations whose systems cannot receive calls list, fetch and acknowledge their deliveries.

A delivery waits sealed in the outbox until its recipient acknowledges it; only then does it count as
delivered (with its log record), and the sealed payload is removed. Only the recipient can see its inbox.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlmodel import Session

from gateway.auth.dependencies import require_scope
from gateway.auth.tokens import Principal
from gateway.core.database import run_db
from gateway.core.errors import NotFound
from gateway.exchange import delivery as exchange_delivery
from gateway.exchange.deps import ExchangeDeps
from gateway.exchange.models import ExchangeRow
from gateway.exchange.schemas import ExchangeResult
from gateway.pseudonymise.sealing import SealError
from gateway.relay import outbox
from gateway.relay.models import DeliveryJob

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])
Receiver = Annotated[Principal, Depends(require_scope("inbox:receive"))]
_NOT_WAITING: dict[int | str, dict[str, Any]] = {404: {
    "description": "No delivery with this id is waiting in your inbox",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}}


class InboxItem(BaseModel):
    exchange_id: str
    delivery_key: str
    sender: str
    purpose: str
    flow: str | None
    created_at: str


class InboxDelivery(BaseModel):
    """What an adapter would have sent: the canonical, minimised dossier with its envelope."""

    exchange_id: str
    delivery_key: str
    sender: str
    sender_name: str
    purpose: str
    flow: str
    legal_basis: dict[str, Any]
    log_position: int
    trace_id: str
    context: dict[str, Any]
    dossier: dict[str, Any]


def _deps(request: Request) -> ExchangeDeps:
    deps: ExchangeDeps = request.app.state.exchange
    return deps


async def _own_job(deps: ExchangeDeps, principal: Principal, exchange_id: str) -> DeliveryJob:
    def load(session: Session) -> DeliveryJob | None:
        return session.get(DeliveryJob, exchange_id)

    job = await run_db(deps.db, load)
    if job is None or job.recipient_id != principal.organisation.id or job.status != "inbox":
        raise NotFound(detail="No delivery with this id is waiting in your inbox.")
    return job


@router.get("", response_model=list[InboxItem], summary="Deliveries waiting for your organisation")
async def list_inbox(request: Request, principal: Receiver) -> list[InboxItem]:
    deps = _deps(request)

    def load(session: Session) -> list[InboxItem]:
        items = []
        for job in outbox.waiting_in_inbox(session, principal.organisation.id):
            row = session.get(ExchangeRow, job.exchange_id)
            if row is not None:
                items.append(InboxItem(exchange_id=row.id, delivery_key=f"{row.id}:{row.recipient_id}",
                                       sender=row.sender_id, purpose=row.purpose, flow=row.flow,
                                       created_at=row.created_at.isoformat()))
        return items

    return await run_db(deps.db, load)


@router.get("/{exchange_id}", response_model=InboxDelivery, responses=_NOT_WAITING,
            summary="Fetch one waiting delivery")
async def fetch(exchange_id: str, request: Request, principal: Receiver) -> InboxDelivery:
    deps = _deps(request)
    job = await _own_job(deps, principal, exchange_id)
    try:
        delivery = outbox.open_delivery(deps.sealer, job)
    except SealError as exc:
        raise NotFound(detail="This delivery can no longer be read.") from exc
    return InboxDelivery(exchange_id=delivery.exchange_id, delivery_key=delivery.delivery_key,
                         sender=delivery.sender_id, sender_name=delivery.sender_name, purpose=delivery.purpose,
                         flow=delivery.flow, legal_basis=delivery.legal_basis, log_position=delivery.log_position,
                         trace_id=delivery.trace_id, context=delivery.context, dossier=delivery.dossier)


@router.post("/{exchange_id}/ack", response_model=ExchangeResult, responses=_NOT_WAITING,
             summary="Acknowledge receipt: the exchange becomes delivered and the gateway drops its sealed copy")
async def acknowledge(exchange_id: str, request: Request, principal: Receiver) -> ExchangeResult:
    deps = _deps(request)
    await _own_job(deps, principal, exchange_id)
    result = await exchange_delivery.complete_delivery(deps, exchange_id, "delivered", None,
                                                       f"inbox:{principal.client_id}")
    if result is None:
        raise NotFound(detail="No delivery with this id is waiting in your inbox.")
    return result
