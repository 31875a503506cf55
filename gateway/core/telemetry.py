"""OpenTelemetry traces: one tracer provider per app, spans with a closed set of attribute keys, OTLP/HTTP export.

The span context is the single source of truth for the trace id: the middleware continues the caller's W3C
`traceparent` in a server span, and everything that names a trace (the exchange log record, application log
lines, problem details, the `traceparent` sent to a partner) reads it from the current span.

Spans are always made, so trace ids exist in the embedded mode too; they leave the process only when an OTLP
endpoint is configured. Attribute keys outside `ALLOWED_ATTRIBUTES` are dropped: a span may name organisations,
the flow, the purpose code, the decision and the exchange id, never a BSN, a name or other payload content.
Exceptions are recorded by type only, because their messages may carry request values.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Mapping, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.core.settings import Settings

AttributeValue = str | int | float | bool
Attributes = Mapping[str, AttributeValue | None]

ALLOWED_ATTRIBUTES = frozenset({
    "http.request.method", "http.route", "http.response.status_code", "error.type",
    "gateway.exchange.id", "gateway.exchange.pattern", "gateway.sender", "gateway.recipient", "gateway.caller",
    "gateway.flow", "gateway.purpose", "gateway.decision.outcome", "gateway.decision.id",
    "gateway.policy.engine", "gateway.policy.bundle", "gateway.fields.count", "gateway.fields.passed",
    "gateway.log.kind", "gateway.log.position", "gateway.relay.adapter", "gateway.relay.operation",
    "gateway.relay.reason", "gateway.relay.status_code", "gateway.delivery.attempt", "gateway.delivery.outcome",
    "gateway.exchange.status",
})
# The standard variables that switch export on without a gateway setting (the exporter reads them itself).
OTLP_ENVIRONMENT = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
TRACES_PATH = "/v1/traces"

PROPAGATOR = TraceContextTextMapPropagator()
_active: contextvars.ContextVar[Tracer | None] = contextvars.ContextVar("gateway_tracer", default=None)


def allowed(attributes: Attributes | None) -> dict[str, AttributeValue]:
    return {k: v for k, v in (attributes or {}).items() if v is not None and k in ALLOWED_ATTRIBUTES}


def traces_url(endpoint: str) -> str:
    """A collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT) or its full traces URL → the traces URL."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


class Telemetry:
    """The app's tracer. `start()` (in the lifespan) adds the OTLP exporter, `shutdown()` flushes it."""

    def __init__(self, *, service_name: str, service_version: str, environment: str, sample_ratio: float = 1.0,
                 otlp_endpoint: str | None = None, otlp_timeout_seconds: float = 10.0,
                 export_from_environment: bool = True) -> None:
        self.resource = Resource.create({"service.name": service_name, "service.version": service_version,
                                         "deployment.environment.name": environment})
        self.sampler = ParentBased(TraceIdRatioBased(sample_ratio))
        self.otlp_endpoint = otlp_endpoint
        self.otlp_timeout_seconds = otlp_timeout_seconds
        self.export_from_environment = export_from_environment
        self._token: contextvars.Token[Tracer | None] | None = None
        self._use(self._provider())

    @classmethod
    def from_settings(cls, settings: Settings, *, service_version: str) -> Telemetry:
        return cls(service_name=settings.otel_service_name, service_version=service_version,
                   environment=settings.environment, sample_ratio=settings.trace_sample_ratio,
                   otlp_endpoint=settings.otlp_endpoint, otlp_timeout_seconds=settings.otlp_timeout_seconds)

    @property
    def exporting(self) -> bool:
        if self.otlp_endpoint:
            return True
        return self.export_from_environment and any(os.environ.get(name) for name in OTLP_ENVIRONMENT)

    def _provider(self) -> TracerProvider:
        return TracerProvider(sampler=self.sampler, resource=self.resource, shutdown_on_exit=False)

    def _use(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("gateway")

    def start(self) -> None:
        """Export if configured, and make this tracer the one background tasks started from here use."""
        provider = self._provider()
        if self.exporting:
            endpoint = traces_url(self.otlp_endpoint) if self.otlp_endpoint else None  # None: the OTEL_ variables
            provider.add_span_processor(BatchSpanProcessor(
                OTLPSpanExporter(endpoint=endpoint, timeout=self.otlp_timeout_seconds)))
        self._use(provider)
        self._token = _active.set(self.tracer)

    def shutdown(self) -> None:
        """Flush and stop the exporter; what follows (e.g. a later start) gets a fresh provider."""
        if self._token is not None:
            with contextlib.suppress(ValueError):  # reset from another context than start(): nothing to undo
                _active.reset(self._token)
            self._token = None
        self.provider.shutdown()
        self._use(self._provider())

    def add_span_processor(self, processor: SpanProcessor) -> None:
        self.provider.add_span_processor(processor)

    @contextlib.contextmanager
    def activated(self) -> Iterator[None]:
        token = _active.set(self.tracer)
        try:
            yield
        finally:
            _active.reset(token)


def _close(current: Span, exc: BaseException | None) -> None:
    if exc is not None:
        current.set_attribute("error.type", type(exc).__name__)
        current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    current.end()


@contextlib.contextmanager
def span(name: str, attributes: Attributes | None = None, *, kind: SpanKind = SpanKind.INTERNAL,
         parent: otel_context.Context | None = None, links: Sequence[Link] = ()) -> Iterator[Span]:
    """A child of the current span (or of `parent`) made current for the block; outside a traced context (no
    tracer active, e.g. a CLI command) it makes nothing and yields the current span."""
    tracer = _active.get()
    if tracer is None:
        yield trace.get_current_span()
        return
    current = tracer.start_span(name, context=parent, kind=kind, attributes=allowed(attributes), links=links,
                                record_exception=False, set_status_on_exception=False)
    token = otel_context.attach(trace.set_span_in_context(current, parent))
    try:
        yield current
    except BaseException as exc:
        _close(current, exc)
        raise
    else:
        _close(current, None)
    finally:
        otel_context.detach(token)


def annotate(attributes: Attributes, target: Span | None = None) -> None:
    """Add (allowed) attributes to a span, by default the current one."""
    current = target or trace.get_current_span()
    if current.is_recording():
        current.set_attributes(allowed(attributes))


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def context_from_headers(headers: Mapping[str, str]) -> otel_context.Context:
    """The caller's trace context (`traceparent`, `tracestate`); an invalid header starts a new trace."""
    return PROPAGATOR.extract(headers, context=otel_context.Context())


def context_from_traceparent(value: str | None) -> otel_context.Context | None:
    if not value:
        return None
    extracted = context_from_headers({"traceparent": value})
    return extracted if trace.get_current_span(extracted).get_span_context().is_valid else None
