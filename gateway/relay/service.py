"""Relay: reach a partner system through its adapter, counting outcomes. Never decides, never logs content.

Each call to a partner is a client span; every outbound request carries that span's `traceparent` (set by a
request hook on each client the relay holds), so the partner's trace id is the one in the exchange log.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from opentelemetry.trace import SpanKind

from adapters.registry import get_adapter
from gateway.core import telemetry
from gateway.core.metrics import Metrics
from gateway.registry.organisations import Organisation
from gateway.relay.breaker import CircuitBreakers
from gateway.relay.port import AdapterError, Delivery, DeliveryReceipt, FetchRequest, PartnerEndpoint

_log = logging.getLogger("gateway.relay")


def endpoint_of(organisation: Organisation) -> PartnerEndpoint:
    if organisation.endpoint is None or organisation.endpoint.base_url is None:
        raise AdapterError("no_endpoint")
    return PartnerEndpoint(organisation_id=organisation.id, organisation_type=organisation.type.value,
                           display_name=organisation.name, base_url=organisation.endpoint.base_url,
                           adapter=organisation.endpoint.adapter)


async def propagate_trace(request: httpx.Request) -> None:
    """httpx request hook: the current span's trace context replaces whatever `traceparent` an adapter set."""
    if telemetry.current_traceparent() is not None:
        telemetry.PROPAGATOR.inject(request.headers)


def traced(client: httpx.AsyncClient) -> httpx.AsyncClient:
    hooks = client.event_hooks
    if propagate_trace not in hooks["request"]:
        client.event_hooks = {**hooks, "request": [*hooks["request"], propagate_trace]}
    return client


class Relay:
    def __init__(self, client: httpx.AsyncClient, metrics: Metrics, breakers: CircuitBreakers | None = None,
                 partner_clients: dict[str, httpx.AsyncClient] | None = None) -> None:
        self.client = client  # shared by partners without outbound auth
        self.metrics = metrics
        self.breakers = breakers or CircuitBreakers()
        # Partners with API key, OAuth2 or mutual TLS.
        self.partner_clients = {org: traced(c) for org, c in (partner_clients or {}).items()}

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client

    @client.setter
    def client(self, value: httpx.AsyncClient) -> None:
        # A property, so a client swapped in later (a test's transport, a reconfiguration) propagates too.
        self._client = traced(value)

    def client_for(self, organisation: Organisation) -> httpx.AsyncClient:
        return self.partner_clients.get(organisation.id, self.client)

    async def aclose(self) -> None:
        for client in (self.client, *self.partner_clients.values()):
            await client.aclose()

    async def deliver(self, recipient: Organisation, delivery: Delivery) -> DeliveryReceipt:
        endpoint = endpoint_of(recipient)
        with telemetry.span("gateway.relay.deliver", kind=SpanKind.CLIENT, attributes={
                "gateway.relay.operation": "deliver", "gateway.relay.adapter": endpoint.adapter,
                "gateway.exchange.id": delivery.exchange_id, "gateway.sender": delivery.sender_id,
                "gateway.recipient": recipient.id, "gateway.flow": delivery.flow}) as span:
            if not self.breakers.allow(recipient.id):
                self.metrics.deliveries.labels(endpoint.adapter, "deliver", "circuit_open").inc()
                telemetry.annotate({"gateway.relay.reason": "circuit_open"}, span)
                raise AdapterError("circuit_open")
            try:
                receipt = await get_adapter(endpoint.adapter).deliver(self.client_for(recipient), endpoint, delivery)
            except AdapterError as exc:
                self.breakers.failed(recipient.id)
                self._failed(endpoint.adapter, "deliver", exc)
                raise
            self.breakers.succeeded(recipient.id)
            self.metrics.deliveries.labels(endpoint.adapter, "deliver", "ok").inc()
            telemetry.annotate({"gateway.relay.status_code": receipt.status_code}, span)
            return receipt

    async def fetch(self, holder: Organisation, request: FetchRequest) -> dict[str, Any]:
        endpoint = endpoint_of(holder)
        with telemetry.span("gateway.relay.fetch", kind=SpanKind.CLIENT, attributes={
                "gateway.relay.operation": "fetch", "gateway.relay.adapter": endpoint.adapter,
                "gateway.exchange.id": request.exchange_id, "gateway.sender": holder.id,
                "gateway.recipient": request.requester_id}):
            try:
                dossier = await get_adapter(endpoint.adapter).fetch(self.client_for(holder), endpoint, request)
            except AdapterError as exc:
                self._failed(endpoint.adapter, "fetch", exc)
                raise
            self.metrics.deliveries.labels(endpoint.adapter, "fetch", "ok").inc()
            return dossier

    def _failed(self, adapter: str, operation: str, exc: AdapterError) -> None:
        telemetry.annotate({"gateway.relay.reason": exc.reason, "gateway.relay.status_code": exc.status_code})
        self.metrics.adapter_errors.labels(adapter, exc.reason).inc()
        self.metrics.deliveries.labels(adapter, operation, "failed").inc()
        _log.warning("partner %s via %s failed: %s", operation, adapter, exc.reason)
