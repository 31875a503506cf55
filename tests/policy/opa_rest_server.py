"""A local server that speaks OPA's REST API and evaluates with OPA's own Go evaluator.

The OPA binary is not installable here; `opa-golib-python-bindings` embeds OPA's evaluator, so the OPA-server
engine's client path can be tested against real OPA semantics. Besides queries (POST /v1/data/…) it takes the
policy and data writes a gateway makes when it pushes a new policy version: GET/PUT/DELETE /v1/policies/{id}
and PUT /v1/data/{path}; after each write the evaluator is rebuilt from the stored modules and data, and a
module that does not compile is refused with 400, as OPA does. At start the modules carry the ids `opa run
/policies/rego` would give them. Loopback only; test use only.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from gateway.policy.bundle import PolicyBundle

FILE_ID_PREFIX = "/policies/rego/"


@dataclass
class OpaState:
    modules: dict[str, str]
    data: dict[str, Any]
    engine: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    fail_writes: bool = False  # a test switch: every write answers 500
    writes: list[str] = field(default_factory=list)

    def rebuild(self, modules: dict[str, str], data: dict[str, Any]) -> None:
        from opa_bindings import OpaEngine

        engine = OpaEngine()
        try:
            for name, source in modules.items():
                engine.add_policy(name, source)
            engine.add_data(data)
        except Exception:
            engine.close()
            raise
        old, self.engine, self.modules, self.data = self.engine, engine, modules, data
        if old is not None:
            old.close()


def _handler(state: OpaState) -> type[BaseHTTPRequestHandler]:
    from opa_bindings import OpaUndefinedError

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

        def _send(self, status: int, body: dict[str, Any] | None) -> None:
            raw = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def do_GET(self) -> None:
            if self.path.startswith("/health"):
                self._send(200, {})
            elif self.path.rstrip("/") == "/v1/policies":
                with state.lock:
                    self._send(200, {"result": [{"id": i, "raw": s} for i, s in state.modules.items()]})
            else:
                self._send(404, {"code": "not_found"})

        def do_POST(self) -> None:
            if not self.path.startswith("/v1/data/"):
                self._send(404, {"code": "not_found"})
                return
            payload = json.loads(self._body() or b"{}")
            document = self.path.removeprefix("/v1/data/").split("?")[0].replace("/", ".")
            with state.lock:
                engine = state.engine
                try:
                    value = engine.eval_document(document, payload.get("input"))
                except OpaUndefinedError:
                    self._send(200, {})  # OPA answers an undefined document with no "result"
                    return
            self._send(200, {"result": value})

        def _write(self, change: Any) -> None:
            body = self._body()
            with state.lock:
                if state.fail_writes:
                    self._send(500, {"code": "internal_error", "message": "storage unavailable"})
                    return
                modules, data = dict(state.modules), copy.deepcopy(state.data)
                status = change(modules, data, body)
                try:
                    state.rebuild(modules, data)
                except Exception as exc:
                    self._send(400, {"code": "invalid_parameter", "message": str(exc).splitlines()[0]})
                    return
                state.writes.append(f"{self.command} {unquote(self.path)}")
            self._send(status, {} if status == 200 else None)

        def do_PUT(self) -> None:
            if self.path.startswith("/v1/policies/"):
                policy_id = unquote(self.path.removeprefix("/v1/policies/"))
                self._write(lambda modules, data, body: modules.update({policy_id: body.decode()}) or 200)
            elif self.path.startswith("/v1/data/"):
                parts = [p for p in self.path.removeprefix("/v1/data/").split("/") if p]

                def put(modules: dict[str, str], data: dict[str, Any], body: bytes) -> int:
                    node = data
                    for part in parts[:-1]:
                        node = node.setdefault(part, {})
                    node[parts[-1]] = json.loads(body)
                    return 204

                self._write(put)
            else:
                self._send(404, {"code": "not_found"})

        def do_DELETE(self) -> None:
            policy_id = unquote(self.path.removeprefix("/v1/policies/"))
            if not self.path.startswith("/v1/policies/") or policy_id not in state.modules:
                self._send(404, {"code": "resource_not_found", "message": "storage_not_found_error"})
                return
            self._write(lambda modules, data, body: modules.pop(policy_id) and 200)

    return Handler


@contextmanager
def opa_rest_server_state(bundle: PolicyBundle) -> Iterator[tuple[str, OpaState]]:
    state = OpaState(modules={}, data={})
    state.rebuild({FILE_ID_PREFIX + rel: src for rel, src in bundle.modules.items()}, copy.deepcopy(bundle.data))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        if state.engine is not None:
            state.engine.close()


@contextmanager
def opa_rest_server(bundle: PolicyBundle) -> Iterator[str]:
    with opa_rest_server_state(bundle) as (url, _state):
        yield url
