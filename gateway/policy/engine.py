"""The PolicyEngine protocol and the two engines that evaluate the same `policies/`.

- `EmbeddedEngine` (default): regorus, Microsoft's Rust Rego interpreter, in process. Its engine object
  must stay on one thread, so each thread gets its own copy.
- `OpaServerEngine` (production sidecar): an OPA server over its REST API through opa-python-client.

Both fail closed: any error, timeout or malformed answer raises `PolicyUnavailable`, never a guess.
Both decide through `decisions.VersionDecisions`, one per active version: one evaluation per field class
(`field_classes.py`); the embedded engine also keeps a bounded cache of that version's decisions
(`decision_cache_size`, 0 disables). The OPA-server engine does not cache (see its docstring).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import orjson
import regorus
from opa_client import AsyncOpaClient

from gateway.core.errors import PolicyUnavailable
from gateway.policy.bundle import DECISION_RULE, PolicyBundle
from gateway.policy.decisions import DEFAULT_DECISION_CACHE_SIZE, VersionDecisions
from gateway.policy.models import Decision

_PARKED: list[Any] = []
PUSH_PREFIX = "kgb-gateway/"  # ids of modules the gateway pushed itself
# Pushed beside a version: the hash it carries (data) and a rule that answers the decision together with that
# hash in one evaluation, so a decision can never name a version the sidecar does not hold (e.g. after the
# sidecar restarted with the bundle it was deployed with).
LOADED_DATA_PATH = "kgb_gateway/loaded"
CHECKED_MODULE_ID = PUSH_PREFIX + "checked.rego"
CHECKED_MODULE = """package kgb_gateway.checked

decision := {"decision": data.gateway.decision.decision, "bundle_hash": data.kgb_gateway.loaded.hash}
"""


class PolicyEngine(Protocol):
    name: str

    @property
    def bundle_hash(self) -> str: ...

    async def decide(self, policy_input: dict[str, Any]) -> Decision: ...

    async def ready(self) -> bool: ...

    async def aclose(self) -> None: ...


class _Compiled:
    """One bundle compiled for the embedded engine: a regorus engine per thread, made lazily."""

    def __init__(self, bundle: PolicyBundle, *, cache_size: int) -> None:
        self.bundle = bundle
        self.hash = bundle.hash
        # The version's decisions live and die with its compiled engines: a swap cannot mix versions.
        self.decisions = VersionDecisions(bundle_hash=bundle.hash, modules=bundle.modules, cache_size=cache_size)
        self._data_json = orjson.dumps(bundle.data).decode()
        # regorus engines are 'unsendable': used and dropped only on the thread that made them.
        self.engines: dict[int, Any] = {}

    def engine(self) -> Any:
        thread = threading.get_ident()
        engine = self.engines.get(thread)
        if engine is None:
            engine = regorus.Engine()
            for name, source in self.bundle.modules.items():
                engine.add_policy(name, source)
            engine.add_data_json(self._data_json)
            self.engines[thread] = engine
        return engine

    def __del__(self) -> None:
        # Engines of other threads must not be dropped on this one: park them for the process's lifetime.
        _PARKED.extend(self.engines.values())
        self.engines.clear()


class EmbeddedEngine:
    """Swappable: `activate` compiles a new bundle and replaces the old one in one assignment, so a decision
    is made entirely under one bundle and names that bundle's hash."""

    name = "embedded"

    def __init__(self, bundle: PolicyBundle, *, decision_cache_size: int = DEFAULT_DECISION_CACHE_SIZE) -> None:
        self._cache_size = decision_cache_size
        compiled = _Compiled(bundle, cache_size=decision_cache_size)
        compiled.engine()  # compile once now so a broken bundle stops the start, not the first request
        self._compiled = compiled
        self._refusing: str | None = None

    @property
    def bundle(self) -> PolicyBundle:
        return self._compiled.bundle

    @property
    def bundle_hash(self) -> str:
        return self._compiled.hash

    async def activate(self, bundle: PolicyBundle) -> None:
        """Switch to `bundle` (already verified by the caller); a bundle that does not compile is refused."""
        compiled = _Compiled(bundle, cache_size=self._cache_size)
        try:
            compiled.engine()
        except Exception as exc:
            raise PolicyUnavailable(detail="The new policy version does not compile.") from exc
        self._compiled = compiled
        self._refusing = None

    def refuse(self, reason: str) -> None:
        """Fail closed: every decision is refused until a verified version is activated."""
        self._refusing = reason

    @property
    def refusing(self) -> str | None:
        return self._refusing

    def close(self) -> None:
        """Drop this thread's engine here, on its own thread."""
        self._compiled.engines.pop(threading.get_ident(), None)

    @property
    def decisions(self) -> VersionDecisions:
        """The active version's decision path (its cache counters are read by tests and the benchmark)."""
        return self._compiled.decisions

    def evaluate(self, policy_input: dict[str, Any]) -> Any:
        """The raw answer for `policy_input` evaluated as given: every field, no cache."""
        return self._evaluate(self._compiled, policy_input)

    @staticmethod
    def _evaluate(compiled: _Compiled, policy_input: dict[str, Any]) -> Any:
        engine = compiled.engine()
        engine.set_input_json(orjson.dumps(policy_input).decode())
        return engine.eval_rule(DECISION_RULE)

    async def decide(self, policy_input: dict[str, Any]) -> Decision:
        if self._refusing is not None:
            raise PolicyUnavailable(detail="No verified policy version is active.")
        compiled = self._compiled  # one bundle for the whole decision, also if a swap happens meanwhile
        decisions = compiled.decisions
        prepared = decisions.prepare(policy_input)
        hit = decisions.cached(prepared, engine=self.name)
        if hit is not None:
            return hit
        # A miss evaluates on the event loop thread for one to a few milliseconds (bench.micro_bench), not the
        # tens of microseconds once assumed here; whether a worker thread serves better is not measured yet.
        try:
            raw = self._evaluate(compiled, prepared.policy_input)
        except Exception as exc:  # regorus raises plain RuntimeError/ValueError on evaluation errors
            raise PolicyUnavailable(detail="The policy engine failed to evaluate.") from exc
        return decisions.settle(prepared, raw, engine=self.name)

    async def ready(self) -> bool:
        return self._refusing is None

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
    """Each replica has its own sidecar; `activate` pushes a version's modules and tables to it.

    While a push runs, decisions wait (and decisions in flight finish first), so no decision is evaluated
    against half a version and every decision names the hash of the version the sidecar holds. A failed push
    leaves the sidecar in an unknown state: the engine then refuses every decision until a push succeeds.

    Decisions go through the pushed version's `VersionDecisions`, per field class. Before this engine pushed a
    version it does not know the sidecar's Rego, so it evaluates every field as given. It keeps no decision
    cache: here every decision is the sidecar's own answer and names a version the sidecar holds at that moment
    (the checked rule), so a sidecar that restarted with another version, or is down, is noticed on the very
    next decision. A cached answer would be the right one for the version, but would carry its hash without
    the sidecar holding it (tests/policy_admin/test_reload.py requires that no decision does).
    """

    name = "opa"

    def __init__(self, *, url: str, bundle_hash: str, tls_verify: bool, ca_file: Path | None,
                 timeout: float) -> None:
        scheme, _, rest = url.partition("://")
        host, _, port = rest.rstrip("/").partition(":")
        https = scheme == "https"
        self._version = VersionDecisions(bundle_hash=bundle_hash, modules=None, cache_size=0)
        self._client = _ExplicitTlsOpaClient(
            tls_context=opa_tls_context(verify=tls_verify, ca_file=ca_file) if https else None,
            host=host, port=int(port or (443 if https else 8181)), ssl=https, timeout=timeout, retries=0,
        )
        self._lock = asyncio.Lock()
        self._started = False
        self._gate = asyncio.Condition()
        self._in_flight = 0
        self._pushing = False
        self._refusing: str | None = None
        self._pushed_ids: set[str] = set()
        self._checked = False  # True once this engine pushed a version: decisions then come with their hash

    async def _ensure(self) -> None:
        async with self._lock:
            if not self._started:
                await self._client._init_session()
                self._started = True

    @property
    def bundle_hash(self) -> str:
        return self._version.bundle_hash

    @property
    def decisions(self) -> VersionDecisions:
        """The pushed version's decision path (per field class once pushed; never a cache)."""
        return self._version

    async def decide(self, policy_input: dict[str, Any]) -> Decision:
        await self._ensure()
        async with self._gate:
            await self._gate.wait_for(lambda: not self._pushing)
            if self._refusing is not None:
                raise PolicyUnavailable(detail="No verified policy version is active.")
            version = self._version  # the hash and the sidecar's content belong together
            prepared = version.prepare(policy_input)
            self._in_flight += 1
            bundle_hash = version.bundle_hash
        package = "kgb_gateway.checked" if self._checked else "gateway.decision"
        try:
            answer = await self._client.query_rule(prepared.policy_input, package, "decision")
        except Exception as exc:  # aiohttp and HTTP errors alike: fail closed
            raise PolicyUnavailable(detail="The OPA server did not answer.") from exc
        finally:
            async with self._gate:
                self._in_flight -= 1
                self._gate.notify_all()
        raw = answer.get("result") if isinstance(answer, dict) else None
        if self._checked:
            raw = self._checked_decision(raw, bundle_hash)
        return version.settle(prepared, raw, engine=self.name)

    def _checked_decision(self, raw: Any, bundle_hash: str) -> Any:
        if not isinstance(raw, dict) or raw.get("bundle_hash") != bundle_hash:
            # The sidecar no longer holds the pushed version: refuse until it is pushed again (the reload does).
            self._refusing = "the OPA sidecar does not hold the active version"
            raise PolicyUnavailable(detail="The OPA server does not hold the active policy version.")
        return raw.get("decision")

    async def activate(self, bundle: PolicyBundle) -> None:
        """Push `bundle` (verified by the caller) to the sidecar, then switch the hash; fail closed on error."""
        await self._ensure()
        async with self._gate:
            await self._gate.wait_for(lambda: not self._pushing)
            self._pushing = True
            await self._gate.wait_for(lambda: self._in_flight == 0)
        try:
            await self._push(bundle)
        except Exception as exc:
            self._refusing = "push failed"
            raise PolicyUnavailable(detail="The policy version could not be pushed to the OPA server.") from exc
        else:
            self._version = VersionDecisions(bundle_hash=bundle.hash, modules=bundle.modules, cache_size=0)
            self._refusing = None
        finally:
            async with self._gate:
                self._pushing = False
                self._gate.notify_all()

    async def _push(self, bundle: PolicyBundle) -> None:
        """Replace the modules under the ids the sidecar already uses for them, then the tables."""
        existing = {str(i) for i in await self._client.get_policies_list()}
        targets: dict[str, str] = {}
        for rel, source in bundle.modules.items():
            same = [i for i in existing if i == rel or i.endswith("/" + rel)]  # as loaded from files at start
            targets[same[0] if same else f"{PUSH_PREFIX}{rel}"] = source
        stale = (self._pushed_ids | {i for i in existing if i.startswith(PUSH_PREFIX)}) - set(targets)
        for policy_id in sorted(stale & existing):
            await self._client.delete_policy(quote(policy_id, safe=""))
        targets[CHECKED_MODULE_ID] = CHECKED_MODULE
        for policy_id, source in targets.items():
            # Ids are percent-encoded: file-loaded ids are absolute paths, which must not become `//` in the URL.
            await self._client.update_policy_from_string(source, quote(policy_id, safe=""), rego_compat=False)
        await self._client.update_or_create_data(bundle.data["gateway"]["tables"], "gateway/tables")
        await self._client.update_or_create_data({"hash": bundle.hash}, LOADED_DATA_PATH)  # last: marks it whole
        self._pushed_ids = set(targets)
        self._checked = True

    def refuse(self, reason: str) -> None:
        self._refusing = reason

    @property
    def refusing(self) -> str | None:
        return self._refusing

    async def ready(self) -> bool:
        if self._refusing is not None:
            return False
        await self._ensure()
        try:
            return bool(await self._client.check_health())
        except Exception:
            return False

    async def aclose(self) -> None:
        if self._started:
            await self._client.close_connection()
