"""The whole exception hierarchy of the gateway.

Every error a client can see subclasses `GatewayError`, which carries an RFC 9457 problem `code`, `title`
and HTTP `status`. Errors never carry personal data: `detail` strings are written by us, never built from
request values such as BSNs or names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class InvalidParam:
    name: str
    reason: str
    code: str = "invalid"


@dataclass
class GatewayError(Exception):
    detail: str = ""
    invalid_params: list[InvalidParam] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    status: ClassVar[int] = 500

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class BadRequest(GatewayError):
    code = "bad-request"
    title = "Bad request"
    status = 400


class MalformedJson(BadRequest):
    code = "malformed-json"
    title = "The request body is not valid JSON"


class ValidationFailed(GatewayError):
    code = "validation-failed"
    title = "The request does not match the schema"
    status = 422


class UnsupportedMediaType(GatewayError):
    code = "unsupported-media-type"
    title = "Unsupported content type"
    status = 415


class PayloadTooLarge(GatewayError):
    code = "payload-too-large"
    title = "The request body is too large"
    status = 413


class Unauthorized(GatewayError):
    code = "unauthorized"
    title = "Authentication required"
    status = 401


class InvalidToken(Unauthorized):
    code = "invalid-token"
    title = "The access token is not valid"


class InvalidClient(GatewayError):
    """OAuth2 token endpoint: client authentication failed (RFC 6749 section 5.2)."""

    code = "invalid-client"
    title = "Client authentication failed"
    status = 401


class InvalidGrant(GatewayError):
    code = "invalid-grant"
    title = "The grant or assertion is not acceptable"
    status = 400


class InsufficientScope(GatewayError):
    code = "insufficient-scope"
    title = "The token lacks the scope for this operation"
    status = 403


class Forbidden(GatewayError):
    code = "forbidden"
    title = "Not allowed"
    status = 403


class ActingForAnother(Forbidden):
    code = "acting-for-another-organisation"
    title = "An organisation may only act for itself"


class NotFound(GatewayError):
    code = "not-found"
    title = "Not found"
    status = 404


class UnknownOrganisation(GatewayError):
    code = "unknown-organisation"
    title = "Unknown organisation"
    status = 422


class InvalidBsn(GatewayError):
    code = "invalid-bsn"
    title = "A BSN does not pass the 11-check"
    status = 422


class IdempotencyConflict(GatewayError):
    code = "idempotency-key-reused"
    title = "The Idempotency-Key was used for a different request"
    status = 422


class IdempotencyInFlight(GatewayError):
    code = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is still being processed"
    status = 409


class MethodNotAllowed(GatewayError):
    code = "method-not-allowed"
    title = "Method not allowed"
    status = 405


class ServiceUnavailable(GatewayError):
    """Fail-closed refusals: the gateway cannot decide or cannot log, so nothing is relayed."""

    code = "service-unavailable"
    title = "The gateway cannot process exchanges right now"
    status = 503


class PolicyUnavailable(ServiceUnavailable):
    code = "policy-unavailable"
    title = "No policy decision could be obtained; nothing was relayed"


class LogUnavailable(ServiceUnavailable):
    code = "log-unavailable"
    title = "The exchange could not be logged durably; nothing was relayed"


class PartnerUnavailable(GatewayError):
    code = "partner-unavailable"
    title = "The partner system could not be reached"
    status = 502


class InternalError(GatewayError):
    pass


class ExchangeRefused(GatewayError):
    """The policy refused the exchange. The problem carries the exchange id, reasons and log position."""

    code = "exchange-refused"
    title = "The exchange is not allowed"
    status = 403


class DeliveryFailed(GatewayError):
    code = "delivery-failed"
    title = "The exchange was logged but the partner system could not be reached"
    status = 502


class CheckpointNotFound(NotFound):
    code = "checkpoint-not-found"
    title = "No such log checkpoint"


class InvalidProofRequest(GatewayError):
    """A proof was asked for sizes or positions outside the log (for example a tree size beyond its end)."""

    code = "invalid-proof-request"
    title = "No proof exists for these positions or sizes"
    status = 422


class NoWitnessKey(Forbidden):
    code = "no-witness-key"
    title = "The organisation has no witness key registered"


class InvalidCosignature(GatewayError):
    code = "invalid-cosignature"
    title = "The cosignature does not verify"
    status = 422
