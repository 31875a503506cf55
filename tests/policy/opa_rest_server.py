"""A local server that speaks OPA's REST data API and evaluates with OPA's own Go evaluator.

The OPA binary is not installable here; `opa-golib-python-bindings` embeds OPA's evaluator, so the OPA-server
engine's client path can be tested against real OPA semantics. Loopback only; test use only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gateway.policy.bundle import PolicyBundle


def _handler(engine: Any) -> type[BaseHTTPRequestHandler]:
    from opa_bindings import OpaUndefinedError

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def _send(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._send(200, {}) if self.path.startswith("/health") else self._send(404, {"code": "not_found"})

        def do_POST(self) -> None:
            if not self.path.startswith("/v1/data/"):
                self._send(404, {"code": "not_found"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length) or b"{}")
            document = self.path.removeprefix("/v1/data/").split("?")[0].replace("/", ".")
            try:
                value = engine.eval_document(document, payload.get("input"))
            except OpaUndefinedError:
                self._send(200, {})  # OPA answers an undefined document with no "result"
                return
            self._send(200, {"result": value})

    return Handler


@contextmanager
def opa_rest_server(bundle: PolicyBundle) -> Iterator[str]:
    from opa_bindings import OpaEngine

    engine = OpaEngine()
    for name, source in bundle.modules.items():
        engine.add_policy(name, source)
    engine.add_data(bundle.data)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(engine))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        engine.close()
