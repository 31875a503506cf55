"""The adapter port: the only way the gateway reaches a partner system.

Adapters (in `adapters/`) implement `PartnerAdapter` and translate between the canonical gezinsdossier
(a JSON dict, possibly minimised: fields dropped, identifiers replaced by pseudonyms) and the partner's
native API. They never decide anything and never see more than the decision let through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class PartnerEndpoint:
    organisation_id: str
    organisation_type: str
    display_name: str
    base_url: str
    adapter: str


@dataclass(frozen=True)
class Delivery:
    exchange_id: str
    delivery_key: str  # idempotency key the recipient deduplicates on (one per exchange+recipient)
    sender_id: str
    sender_name: str
    recipient_id: str
    purpose: str
    flow: str
    legal_basis: dict[str, Any]
    log_position: int
    trace_id: str
    dossier: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)
    # The span that queued it (W3C traceparent): the worker's later attempts continue that trace.
    origin_traceparent: str | None = None


@dataclass(frozen=True)
class DeliveryReceipt:
    status_code: int
    partner_reference: str | None = None


@dataclass(frozen=True)
class FetchSubject:
    ref: str
    role: str
    bsn: str | None  # sent only to the holder, which already holds it


@dataclass(frozen=True)
class FetchRequest:
    exchange_id: str
    requester_id: str
    requester_name: str
    holder_id: str
    purpose: str
    trace_id: str
    subjects: list[FetchSubject]
    categories: list[str]


class AdapterError(Exception):
    """A partner could not be reached or answered unusably. Carries a reason code, never payload data."""

    def __init__(self, reason: str, status_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class PartnerAdapter(Protocol):
    name: str

    async def deliver(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                      delivery: Delivery) -> DeliveryReceipt: ...

    async def fetch(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                    request: FetchRequest) -> dict[str, Any]: ...

    async def health(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint) -> bool: ...
