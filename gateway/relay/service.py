"""Relay: reach a partner system through its adapter, counting outcomes. Never decides, never logs content."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from adapters.registry import get_adapter
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


class Relay:
    def __init__(self, client: httpx.AsyncClient, metrics: Metrics, breakers: CircuitBreakers | None = None,
                 partner_clients: dict[str, httpx.AsyncClient] | None = None) -> None:
        self.client = client  # shared by partners without outbound auth
        self.metrics = metrics
        self.breakers = breakers or CircuitBreakers()
        self.partner_clients = partner_clients or {}  # partners with API key, OAuth2 or mutual TLS

    def client_for(self, organisation: Organisation) -> httpx.AsyncClient:
        return self.partner_clients.get(organisation.id, self.client)

    async def aclose(self) -> None:
        for client in (self.client, *self.partner_clients.values()):
            await client.aclose()

    async def deliver(self, recipient: Organisation, delivery: Delivery) -> DeliveryReceipt:
        endpoint = endpoint_of(recipient)
        if not self.breakers.allow(recipient.id):
            self.metrics.deliveries.labels(endpoint.adapter, "deliver", "circuit_open").inc()
            raise AdapterError("circuit_open")
        try:
            receipt = await get_adapter(endpoint.adapter).deliver(self.client_for(recipient), endpoint, delivery)
        except AdapterError as exc:
            self.breakers.failed(recipient.id)
            self._failed(endpoint.adapter, "deliver", exc)
            raise
        self.breakers.succeeded(recipient.id)
        self.metrics.deliveries.labels(endpoint.adapter, "deliver", "ok").inc()
        return receipt

    async def fetch(self, holder: Organisation, request: FetchRequest) -> dict[str, Any]:
        endpoint = endpoint_of(holder)
        try:
            dossier = await get_adapter(endpoint.adapter).fetch(self.client_for(holder), endpoint, request)
        except AdapterError as exc:
            self._failed(endpoint.adapter, "fetch", exc)
            raise
        self.metrics.deliveries.labels(endpoint.adapter, "fetch", "ok").inc()
        return dossier

    def _failed(self, adapter: str, operation: str, exc: AdapterError) -> None:
        self.metrics.adapter_errors.labels(adapter, exc.reason).inc()
        self.metrics.deliveries.labels(adapter, operation, "failed").inc()
        _log.warning("partner %s via %s failed: %s", operation, adapter, exc.reason)
