"""The PolicyEngine protocol and the two engines that evaluate the same `policies/`.

- `EmbeddedEngine` (default): regorus, Microsoft's Rust Rego interpreter, in process. Its engine object
  must stay on one thread, so each thread gets its own copy.
- `OpaServerEngine` (production sidecar): an OPA server over its REST API through opa-python-client.

Both fail closed: any error, timeout or malformed answer raises `PolicyUnavailable`, never a guess.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import uuid
from pathlib import Path
from typing import Any, Protocol

import orjson
import regorus
from opa_client import AsyncOpaClient
from pydantic import ValidationError

from gateway.core.errors import PolicyUnavailable
from gateway.policy.bundle import DECISION_RULE, PolicyBundle
from gateway.policy.models import Decision

_PARKED: list[Any] = []


class PolicyEngine(Protocol):
    name: str
    bundle_hash: str

    async def decide(self, policy_input: dict[str, Any]) -> Decision: ...

    async def ready(self) -> bool: ...

    async def aclose(self) -> None: ...


def _to_decision(raw: Any, *, engine: str, bundle_hash: str) -> Decision:
    if not isinstance(raw, dict):
        raise PolicyUnavailable(detail="The policy gave no decision.")
    try:
        decision = Decision.model_validate(raw)
    except ValidationError as exc:
        raise PolicyUnavailable(detail="The policy's decision is malformed.") from exc
    decision.decision_id = str(uuid.uuid4())
    decision.bundle_hash = bundle_hash
    decision.engine = engine
    return decision


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, bundle: PolicyBundle) -> None:
        self.bundle = bundle
        self.bundle_hash = bundle.hash
        self._data_json = orjson.dumps(bundle.data).decode()
        # regorus engines are 'unsendable': used and dropped only on the thread that made them.
        self._engines: dict[int, Any] = {}
        self._engine()  # compile once now so a broken bundle stops the start, not the first request

    def _engine(self) -> Any:
        thread = threading.get_ident()
        engine = self._engines.get(thread)
        if engine is None:
            engine = regorus.Engine()
            for name, source in self.bundle.modules.items():
                engine.add_policy(name, source)
            engine.add_data_json(self._data_json)
            self._engines[thread] = engine
        return engine

    def close(self) -> None:
        """Drop this thread's engine here, on its own thread."""
        self._engines.pop(threading.get_ident(), None)

    def __del__(self) -> None:
        # Engines of other threads must not be dropped on this one: park them for the process's lifetime.
        _PARKED.extend(self._engines.values())
        self._engines.clear()

    def evaluate(self, policy_input: dict[str, Any]) -> Any:
        engine = self._engine()
        engine.set_input_json(orjson.dumps(policy_input).decode())
        return engine.eval_rule(DECISION_RULE)

    async def decide(self, policy_input: dict[str, Any]) -> Decision:
        # A decision takes tens of microseconds: evaluating on the event loop thread is cheaper than a hop.
        try:
            raw = self.evaluate(policy_input)
        except Exception as exc:  # regorus raises plain RuntimeError/ValueError on evaluation errors
            raise PolicyUnavailable(detail="The policy engine failed to evaluate.") from exc
        return _to_decision(raw, engine=self.name, bundle_hash=self.bundle_hash)

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        self.close()


class _ExplicitTlsOpaClient(AsyncOpaClient):  # type: ignore[misc]
    """opa-python-client with TLS verification stated explicitly (CA file or off), never implied."""

    def __init__(self, *, tls_context: ssl.SSLContext | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tls_context = tls_context

    async def _init_session(self) -> None:
        import aiohttp

        self._connector = aiohttp.TCPConnector(ssl=self._tls_context if self._tls_context else False)
        self._session = aiohttp.ClientSession(headers=self.headers, connector=self._connector,
                                              timeout=aiohttp.ClientTimeout(total=self.timeout))


def opa_tls_context(*, verify: bool, ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class OpaServerEngine:
    name = "opa"

    def __init__(self, *, url: str, bundle_hash: str, tls_verify: bool, ca_file: Path | None,
                 timeout: float) -> None:
        scheme, _, rest = url.partition("://")
        host, _, port = rest.rstrip("/").partition(":")
        https = scheme == "https"
        self.bundle_hash = bundle_hash
        self._client = _ExplicitTlsOpaClient(
            tls_context=opa_tls_context(verify=tls_verify, ca_file=ca_file) if https else None,
            host=host, port=int(port or (443 if https else 8181)), ssl=https, timeout=timeout, retries=0,
        )
        self._lock = asyncio.Lock()
        self._started = False

    async def _ensure(self) -> None:
        async with self._lock:
            if not self._started:
                await self._client._init_session()
                self._started = True

    async def decide(self, policy_input: dict[str, Any]) -> Decision:
        await self._ensure()
        try:
            answer = await self._client.query_rule(policy_input, "gateway.decision", "decision")
        except Exception as exc:  # aiohttp and HTTP errors alike: fail closed
            raise PolicyUnavailable(detail="The OPA server did not answer.") from exc
        raw = answer.get("result") if isinstance(answer, dict) else None
        return _to_decision(raw, engine=self.name, bundle_hash=self.bundle_hash)

    async def ready(self) -> bool:
        await self._ensure()
        try:
            return bool(await self._client.check_health())
        except Exception:
            return False

    async def aclose(self) -> None:
        if self._started:
            await self._client.close_connection()
