"""create_app(): the lifespan builds the long-lived things (DB engine, policy engine, key ring, HTTP client)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from gateway.auth.keys import ensure_dev_client_keys, load_signing_key
from gateway.auth.router import router as auth_router
from gateway.auth.scopes import SCOPES
from gateway.auth.tokens import TokenService
from gateway.core.database import make_engine, upgrade_to_head
from gateway.core.errors import GatewayError, NotFound
from gateway.core.logging import configure_logging
from gateway.core.metrics import Metrics
from gateway.core.middleware import GatewayMiddleware
from gateway.core.problems import install_problem_handlers
from gateway.core.settings import Settings, get_settings
from gateway.exchange import delivery as exchange_delivery
from gateway.exchange.deps import ExchangeDeps
from gateway.exchange.inbox import router as inbox_router
from gateway.exchange.quotas import Quotas, TokenBuckets
from gateway.exchange.router import router as exchange_router
from gateway.exchange_log.checkpointer import LogDeps, issue_periodically
from gateway.exchange_log.router import router as log_router
from gateway.policy.bundle import load_bundle
from gateway.policy.engine import EmbeddedEngine, OpaServerEngine, PolicyEngine
from gateway.pseudonymise.keyring import load_keyring
from gateway.pseudonymise.pseudonyms import Pseudonymiser
from gateway.pseudonymise.sealing import Sealer
from gateway.pseudonymise.signing import load_log_signer
from gateway.registry.organisations import OrganisationRegistry, load_registry
from gateway.relay.breaker import CircuitBreakers
from gateway.relay.partner_clients import needs_own_client, partner_client
from gateway.relay.service import Relay
from gateway.relay.worker import DeliveryWorker, RetryPolicy

_log = logging.getLogger("gateway")

API_DESCRIPTION = """Exchange gateway for the *Toekomstscenario kind- en gezinsbescherming*: partner systems (Veilig
Thuis, Raad voor de Kinderbescherming, Gecertificeerde Instellingen, wijkteams) share dossier data about a household
through it. Every request is decided by policy (AVG and the pilots' legal frames), minimised per field, logged with
its legal basis before anything leaves, and relayed to the other organisation's system.

Authenticate with OAuth2 client credentials and `private_key_jwt` at `/oauth/token`. Errors are RFC 9457
`application/problem+json`. See docs/api.md for a walk-through."""


def _policy_engine(settings: Settings) -> PolicyEngine:
    bundle = load_bundle(settings.policies_dir)
    if settings.policy_engine == "opa":
        return OpaServerEngine(url=settings.opa_url, bundle_hash=bundle.hash, tls_verify=settings.opa_tls_verify,
                               ca_file=settings.opa_ca_file, timeout=settings.opa_timeout_seconds)
    return EmbeddedEngine(bundle)


def _tables(settings: Settings) -> dict[str, Any]:
    tables: dict[str, Any] = load_bundle(settings.policies_dir).data["gateway"]["tables"]
    return tables


def _partner_clients(settings: Settings, registry: OrganisationRegistry,
                     timeout: httpx.Timeout) -> dict[str, httpx.AsyncClient]:
    """Partners with outbound auth get their own client; a missing secret or certificate stops the start."""
    return {org.id: partner_client(org, keys_dir=settings.keys_dir, timeout=timeout) for org in registry.all()
            if org.endpoint is not None and needs_own_client(org.endpoint)}


def _quotas(settings: Settings) -> Quotas:
    return Quotas(
        organisations=TokenBuckets(settings.quota_organisation_per_minute, settings.quota_organisation_burst),
        professionals=TokenBuckets(settings.quota_professional_per_minute, settings.quota_professional_burst))


def _retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.delivery_max_attempts,
                       backoff_base_seconds=settings.delivery_backoff_base_seconds,
                       backoff_max_seconds=settings.delivery_backoff_max_seconds,
                       lease_seconds=settings.delivery_lease_seconds, poll_seconds=settings.delivery_poll_seconds)


def _delivery_worker(deps: ExchangeDeps) -> asyncio.Task[None]:
    """The outbox's sender, in every replica; outcomes are recorded through the exchange domain."""

    async def complete(exchange_id: str, status: str, reason: str | None, reference: str | None) -> None:
        await exchange_delivery.complete_delivery(deps, exchange_id, status, reason, reference)

    async def retry(exchange_id: str, reason: str, delay: float) -> None:
        await exchange_delivery.schedule_retry(deps, exchange_id, reason, delay)

    async def hold(exchange_id: str) -> None:
        await exchange_delivery.hold_for_pickup(deps, exchange_id)

    worker = DeliveryWorker(db=deps.db, relay=deps.relay, registry=deps.registry, sealer=deps.sealer,
                            policy=deps.retry_policy, complete=complete, retry=retry, hold=hold)
    return asyncio.create_task(worker.run_forever(), name="delivery-worker")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    db = make_engine(settings.database_url)
    upgrade_to_head(db)
    registry = load_registry(settings.organisations_file)
    if settings.generate_dev_keys:
        ensure_dev_client_keys(settings.keys_dir, registry)
    signing_key = load_signing_key(settings.keys_dir, generate=settings.generate_dev_keys)
    keyring = load_keyring(settings.keys_dir, generate=settings.generate_dev_keys)
    pseudonymiser = Pseudonymiser(keyring)
    log_signer = load_log_signer(settings.keys_dir, generate=settings.generate_dev_keys)
    policy = _policy_engine(settings)
    tables = _tables(settings)
    timeout = httpx.Timeout(settings.relay_read_timeout_seconds, connect=settings.relay_connect_timeout_seconds)
    client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=100,
                                                                    max_keepalive_connections=20))
    metrics: Metrics = app.state.metrics
    app.state.db = db
    app.state.tokens = TokenService(
        registry=registry, keys_dir=settings.keys_dir, signing_key=signing_key, issuer=settings.public_url,
        token_endpoint=f"{settings.public_url}/oauth/token", audience=f"{settings.public_url}/v1",
        ttl_seconds=settings.access_token_ttl_seconds, assertion_max_age=settings.client_assertion_max_age_seconds)
    breakers = CircuitBreakers(threshold=settings.breaker_failure_threshold,
                               cooldown_seconds=settings.breaker_cooldown_seconds)
    app.state.exchange = ExchangeDeps(
        db=db, policy=policy, pseudonymiser=pseudonymiser, registry=registry,
        relay=Relay(client, metrics, breakers, _partner_clients(settings, registry, timeout)), metrics=metrics,
        known_purposes=frozenset((tables.get("purposes") or {}).keys()),
        known_flows=frozenset((tables.get("flows") or {}).keys()),
        sealer=Sealer(keyring, "outbox"), retry_policy=_retry_policy(settings), quotas=_quotas(settings),
        review_sealer=Sealer(keyring, "review"))
    worker = _delivery_worker(app.state.exchange) if settings.delivery_worker else None
    app.state.log = LogDeps(db=db, signer=log_signer, origin=settings.checkpoint_origin, registry=registry)
    checkpoints = (asyncio.create_task(issue_periodically(app.state.log, settings.checkpoint_interval_seconds),
                                       name="log-checkpoints") if settings.checkpoint_interval_seconds > 0 else None)
    app.state.ready = True
    _log.info("gateway started: policy engine %s, bundle %s", policy.name, policy.bundle_hash[:19])
    try:
        yield
    finally:
        app.state.ready = False
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if checkpoints is not None:
            checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checkpoints
        await app.state.exchange.relay.aclose()
        await policy.aclose()
        db.dispose()


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = {
        "type": "object", "description": "RFC 9457 problem details",
        "required": ["type", "title", "status", "detail", "instance"],
        "properties": {"type": {"type": "string"}, "code": {"type": "string"}, "title": {"type": "string"},
                       "status": {"type": "integer"}, "detail": {"type": "string"},
                       "instance": {"type": "string", "description": "urn:uuid:…"},
                       "trace_id": {"type": "string"},
                       "invalid_params": {"type": "array", "items": {"type": "object", "properties": {
                           "name": {"type": "string"}, "code": {"type": "string"}, "reason": {"type": "string"}}}},
                       "exchange": {"$ref": "#/components/schemas/ExchangeResult"}}}
    components["securitySchemes"] = {"oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
        "tokenUrl": "/oauth/token", "scopes": SCOPES}}}}
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/v1/"):
            for operation in operations.values():
                operation["security"] = [{"oauth2": []}]
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Uitwisselingsgateway kind- en gezinsbescherming", version="0.1.0",
                  description=API_DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.public_url = settings.public_url.rstrip("/")
    app.state.metrics = Metrics()
    app.state.ready = False
    install_problem_handlers(app)
    app.add_middleware(GatewayMiddleware, max_body_bytes=settings.max_body_bytes, metrics=app.state.metrics)
    app.include_router(auth_router)
    app.include_router(exchange_router)
    app.include_router(inbox_router)
    app.include_router(log_router)
    _operational_routes(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Readiness: policy engine, database and keys loaded")
    async def readyz(request: Request) -> JSONResponse:
        checks = {"keys": bool(getattr(request.app.state, "ready", False)), "database": False, "policy": False}
        if checks["keys"]:
            try:
                with request.app.state.db.connect() as connection:
                    connection.execute(text("SELECT 1"))
                checks["database"] = True
            except Exception:  # any database error means not ready
                checks["database"] = False
            checks["policy"] = await request.app.state.exchange.policy.ready()
        ok = all(checks.values())
        return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                            status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/problems/{code}", tags=["operations"], summary="What a problem type means")
    async def problem_doc(code: str) -> dict[str, Any]:
        known = {cls.code: cls for cls in _all_errors(GatewayError)}
        cls = known.get(code)
        if cls is None:
            raise NotFound(detail="Unknown problem type.")
        return {"type": f"/problems/{code}", "title": cls.title, "status": cls.status,
                "description": (cls.__doc__ or cls.title).strip()}


def _all_errors(cls: type[GatewayError]) -> list[type[GatewayError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_errors(sub))
    return out


def app_factory() -> FastAPI:
    """Entry point for uvicorn --factory."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
