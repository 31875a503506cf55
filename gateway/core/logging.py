"""Structured application logs (JSON lines) with the trace id and no personal data.

Nothing personal is ever passed to a logger in this code base; as a second line of defence, a filter
masks anything shaped like a BSN (nine digits) before a line is written.
"""

from __future__ import annotations

import logging
import re
import sys
import time

import orjson

from gateway.core.tracing import current_trace_id

_NINE_DIGITS = re.compile(r"(?<!\d)\d{9}(?!\d)")


def scrub(text: str) -> str:
    return _NINE_DIGITS.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        trace_id = current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type only: messages and tracebacks may carry request values.
            entry["exception"] = record.exc_info[0].__name__
        return orjson.dumps(entry).decode()


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
