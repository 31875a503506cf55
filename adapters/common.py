"""The shared REST/JSON adapter: HTTP, headers and error mapping, so a partner adapter is mostly its mapping.

A partner plugs in four functions: `encode` (a delivery → the native message), `decode` (a native dossier
document → the canonical dossier), `build_query` (a fetch request → the native query body) and
`receipt_reference` (the native receipt → the partner's own id). Everything goes through the
`httpx.AsyncClient` the relay passes in; this module never creates a client.

Errors are `AdapterError` reason codes only. Partner answers and mapping failures are never echoed into an
exception, because they may hold personal data; for the same reason a mapping or parsing error is raised
`from None`, so no value-bearing cause rides along in a traceback (transport errors keep theirs: they name
a URL, never a person):
- transport errors and timeouts → `unreachable`
- 4xx → `rejected` (with the status), 5xx → `partner_error` (with the status), other non-2xx → `bad_response`
- an answer that is not the expected JSON → `bad_response`
- a dossier the native format cannot carry → `unmappable` (or a partner-specific code raised by `encode`)
- a fetch request without any subject BSN to look up → `no_subject_identifier`
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from gateway.relay.port import (
    AdapterError,
    Delivery,
    DeliveryReceipt,
    FetchRequest,
    PartnerEndpoint,
)

Json = dict[str, Any]
Encode = Callable[[Delivery], Json]
Decode = Callable[[Json], Json]
BuildQuery = Callable[[FetchRequest, list[str]], Json]
ReceiptReference = Callable[[Json], object]

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
# Mapping code raises these on input it cannot place; they are turned into reason codes.
_MAPPING_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError)


def trace_headers(trace_id: str, exchange_id: str) -> dict[str, str]:
    headers = {"X-Exchange-Id": exchange_id}
    trace = trace_id.lower()
    # An invalid traceparent would make a strict partner refuse the call; better to send none.
    if _TRACE_ID.match(trace) and trace != "0" * 32:
        headers["traceparent"] = f"00-{trace}-{secrets.token_hex(8)}-01"
    return headers


def subject_bsns(request: FetchRequest) -> list[str]:
    """The identifiers the holder looks the household up by, children first (they anchor a case)."""
    subjects = sorted(request.subjects, key=lambda s: s.role != "kind")
    return [s.bsn for s in subjects if s.bsn]


def _url(endpoint: PartnerEndpoint, path: str) -> str:
    return endpoint.base_url.rstrip("/") + path


def _dumps(body: Json) -> bytes:
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:  # a value JSON cannot carry: refuse before any I/O
        raise AdapterError("unmappable") from None


async def _post(client: httpx.AsyncClient, url: str, content: bytes,
                headers: Mapping[str, str]) -> httpx.Response:
    try:
        return await client.post(url, content=content, headers={"Content-Type": "application/json", **headers})
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise AdapterError("unreachable") from exc


def json_object(response: httpx.Response) -> Json:
    """The JSON object of a 2xx answer; any other status or body is an `AdapterError` reason code."""
    status = response.status_code
    if 400 <= status < 500:
        raise AdapterError("rejected", status)
    if status >= 500:
        raise AdapterError("partner_error", status)
    if not 200 <= status < 300:
        raise AdapterError("bad_response", status)
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise AdapterError("bad_response", status) from None
    if not isinstance(body, dict):
        raise AdapterError("bad_response", status)
    return body


class RestAdapter:
    """A `PartnerAdapter` for a partner that takes JSON over HTTP."""

    def __init__(self, *, name: str, deliver_path: str, query_path: str, encode: Encode, decode: Decode,
                 build_query: BuildQuery, receipt_reference: ReceiptReference,
                 health_path: str = "/health") -> None:
        self.name = name
        self.deliver_path = deliver_path
        self.query_path = query_path
        self.health_path = health_path
        self._encode = encode
        self._decode = decode
        self._build_query = build_query
        self._receipt_reference = receipt_reference

    def to_native(self, delivery: Delivery) -> Json:
        try:
            return self._encode(delivery)
        except AdapterError:
            raise
        except _MAPPING_ERRORS:
            raise AdapterError("unmappable") from None

    def to_canonical(self, native: Json) -> Json:
        try:
            return self._decode(native)
        except _MAPPING_ERRORS:
            raise AdapterError("bad_response") from None

    async def deliver(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                      delivery: Delivery) -> DeliveryReceipt:
        content = _dumps(self.to_native(delivery))  # before any I/O: an unmappable dossier never half-leaves
        headers = {"Idempotency-Key": delivery.delivery_key,
                   **trace_headers(delivery.trace_id, delivery.exchange_id)}
        response = await _post(client, _url(endpoint, self.deliver_path), content, headers)
        receipt = json_object(response)
        try:
            reference = self._receipt_reference(receipt)
        except _MAPPING_ERRORS:
            raise AdapterError("bad_response", response.status_code) from None
        if not isinstance(reference, str) or not reference:
            raise AdapterError("bad_response", response.status_code)
        return DeliveryReceipt(status_code=response.status_code, partner_reference=reference)

    async def fetch(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint,
                    request: FetchRequest) -> dict[str, Any]:
        bsns = subject_bsns(request)
        if not bsns:
            raise AdapterError("no_subject_identifier")
        try:
            query = _dumps(self._build_query(request, bsns))
        except _MAPPING_ERRORS:
            raise AdapterError("unmappable") from None
        headers = trace_headers(request.trace_id, request.exchange_id)
        response = await _post(client, _url(endpoint, self.query_path), query, headers)
        return self.to_canonical(json_object(response))

    async def health(self, client: httpx.AsyncClient, endpoint: PartnerEndpoint) -> bool:
        try:
            response = await client.get(_url(endpoint, self.health_path))
        except (httpx.HTTPError, httpx.InvalidURL):
            return False
        return response.status_code == 200
