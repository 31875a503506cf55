"""W3C trace context, read from the current OpenTelemetry span: the one source of the trace id.

The middleware continues a caller's `traceparent` (or starts a new trace) in a server span; the exchange log
record, log lines and problem details take the trace id from here, so they always name the OTel trace.
"""

from __future__ import annotations

import re
import secrets

from opentelemetry import trace

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None:
        return None
    trace_id, parent_id = match.group(1), match.group(2)
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id, parent_id


def new_trace_id() -> str:
    """Only for work outside any span (e.g. a direct service call in a tool); requests always have a span."""
    return secrets.token_hex(16)


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def current_span_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.span_id, "016x") if context.is_valid else None


def traceparent_of(span: trace.Span) -> str | None:
    """The header naming this span (sent back to the caller, so it can link its own span to ours)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
