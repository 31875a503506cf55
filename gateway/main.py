"""create_app(): the lifespan builds the long-lived things (DB engine, policy engine, key ring, HTTP client)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text

from gateway.auth.binding import CertificateBinding
from gateway.auth.keys import ensure_dev_client_keys, load_signing_key
from gateway.auth.router import router as auth_router
from gateway.auth.scopes import SCOPES
from gateway.auth.tokens import TokenService
from gateway.core.database import make_engine, stop_group_commit, upgrade_to_head, write_session
from gateway.core.errors import GatewayError, NotFound
from gateway.core.logging import configure_logging
from gateway.core.metrics import Metrics
from gateway.core.middleware import GatewayMiddleware
from gateway.core.problems import install_problem_handlers
from gateway.core.settings import Settings, get_settings
from gateway.core.telemetry import Telemetry
from gateway.exchange import delivery as exchange_delivery
from gateway.exchange.deps import ExchangeDeps
from gateway.exchange.inbox import router as inbox_router
from gateway.exchange.quotas import Quotas, TokenBuckets
from gateway.exchange.router import router as exchange_router
from gateway.exchange_log import retention
from gateway.exchange_log import service as log_service
from gateway.exchange_log.checkpointer import LogDeps, issue_periodically
from gateway.exchange_log.router import router as log_router
from gateway.inzage.exports import router as exports_router
from gateway.inzage.hooks import purge_recorder
from gateway.inzage.router import router as inzage_router
from gateway.policy.bundle import PolicyBundle
from gateway.policy.engine import EmbeddedEngine, OpaServerEngine
from gateway.policy_admin import reload as policy_reload
from gateway.policy_admin.router import router as policy_admin_router
from gateway.policy_admin.signing import load_policy_signer
from gateway.pseudonymise.keyring import load_keyring
from gateway.pseudonymise.pseudonyms import Pseudonymiser
from gateway.pseudonymise.sealing import Sealer
from gateway.pseudonymise.signing import load_log_signer
from gateway.registry.organisations import OrganisationRegistry, load_registry
from gateway.relay.breaker import CircuitBreakers
from gateway.relay.partner_clients import needs_own_client, partner_client
from gateway.relay.service import Relay
from gateway.relay.transport import relay_client
from gateway.relay.worker import DeliveryWorker, RetryPolicy
from gateway.review import index as review_index
from gateway.review import pages as review_pages
from gateway.review.api import router as review_api_router
from gateway.web.accounts import ensure_dev_accounts
from gateway.web.oidc import OidcClient
from gateway.web.oidc import router as oidc_router
from gateway.web.router import register_section
from gateway.web.router import router as web_router
from gateway.web.security import WebSecurityHeaders
from gateway.web.templating import html_error

_log = logging.getLogger("gateway")

API_DESCRIPTION = """Exchange gateway for the *Toekomstscenario kind- en gezinsbescherming*: partner systems (Veilig
Thuis, Raad voor de Kinderbescherming, Gecertificeerde Instellingen, wijkteams) share dossier data about a household
through it. Every request is decided by policy (AVG and the pilots' legal frames), minimised per field, logged with
its legal basis before anything leaves, and relayed to the other organisation's system.

Authenticate with OAuth2 client credentials and `private_key_jwt` at `/oauth/token`. Errors are RFC 9457
`application/problem+json`. See docs/api.md for a walk-through."""


def _policy_engine(settings: Settings, bundle: PolicyBundle) -> EmbeddedEngine | OpaServerEngine:
    """The engine for the active policy version (gateway/policy_admin/reload.py keeps it current)."""
    if settings.policy_engine == "opa":
        return OpaServerEngine(url=settings.opa_url, bundle_hash=bundle.hash, tls_verify=settings.opa_tls_verify,
                               ca_file=settings.opa_ca_file, timeout=settings.opa_timeout_seconds)
    return EmbeddedEngine(bundle, decision_cache_size=settings.policy_decision_cache_size)


async def _load_policy(app: FastAPI, settings: Settings, db: Any) -> tuple[
        EmbeddedEngine | OpaServerEngine, policy_reload.Active, dict[str, Any]]:
    """Policy versions: the disk bundle seeds version 1 at the very first start; the database's active, signed
    version rules from then on and is followed without restart (gateway/policy_admin)."""
    signer = load_policy_signer(settings.keys_dir, generate=settings.generate_dev_keys)
    active = await policy_reload.seed_and_load(db, policies_dir=settings.policies_dir, signer=signer)
    policy = _policy_engine(settings, active.bundle)
    app.state.metrics.watch_decision_cache(_cache_counts(policy))
    app.state.policy_signer = signer
    app.state.policy_runtime = policy_reload.PolicyRuntime(
        db=db, engine=policy, public_key=signer.public_key, on_tables=_follow_tables(app),
        interval_seconds=settings.policy_reload_seconds)
    tables: dict[str, Any] = active.bundle.data["gateway"]["tables"]
    if active.refused is None:  # the review desk and inzage labels read only a verified active version's tables
        app.state.policy_tables = tables
    return policy, active, tables


async def _follow_policy(app: FastAPI, settings: Settings, active: policy_reload.Active) -> asyncio.Task[None] | None:
    """Adopt the active version (the OPA engine pushes it to its sidecar), then poll for the next one."""
    runtime: policy_reload.PolicyRuntime = app.state.policy_runtime
    await runtime.start(active, push=settings.policy_engine == "opa")
    if settings.policy_reload_seconds <= 0:
        return None
    return asyncio.create_task(runtime.run_forever(), name="policy-reload")


def _follow_tables(app: FastAPI) -> Callable[[dict[str, Any]], None]:
    """When a policy version becomes active here, the exchange domain's purposes and flows follow it, and so do
    the tables the review desk and the inzage reports and exports read (`app.state.policy_tables`)."""

    def update(tables: dict[str, Any]) -> None:
        app.state.policy_tables = tables
        deps: ExchangeDeps | None = getattr(app.state, "exchange", None)
        if deps is not None:
            deps.known_purposes = frozenset((tables.get("purposes") or {}).keys())
            deps.known_flows = frozenset((tables.get("flows") or {}).keys())

    return update


def _partner_clients(settings: Settings, registry: OrganisationRegistry,
                     timeout: httpx.Timeout) -> dict[str, httpx.AsyncClient]:
    """Partners with outbound auth get their own client; a missing secret or certificate stops the start."""
    return {org.id: partner_client(org, keys_dir=settings.keys_dir, timeout=timeout,
                                   transport=settings.relay_transport) for org in registry.all()
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


def _dev_accounts(db: Any, settings: Settings) -> None:
    with write_session(db) as session:
        path = ensure_dev_accounts(session, settings.keys_dir)
        session.commit()
    if path is not None:
        _log.info("first start: development web accounts and their passwords written to %s", path)


def _upgrade(db: Any) -> None:
    """Migrate the database, then index log entries that have no review-index rows (appended by a replica still on
    an older version during a rolling upgrade). Cheap when none are missing: one statement compares the two
    tables' row counts; otherwise the idempotent backfill runs under the log's append lock."""
    upgrade_to_head(db)
    if not review_index.missing(db):
        return
    with write_session(db) as session:
        log_service.lock(session)  # no append in between: what is missing now stays missing until indexed here
        count = review_index.backfill(session.connection())
        session.commit()
    if count:
        _log.info("review index: %d log entr%s indexed at start", count, "y" if count == 1 else "ies")


def _retention_task(log: LogDeps, policy_public_key: bytes, settings: Settings) -> asyncio.Task[None] | None:
    """Retention: purge the content of records past their purpose's period, on a schedule (0: only by CLI).

    Each round reads the periods of the active policy version from the database, verified with the policy key."""
    if settings.retention_purge_interval_seconds <= 0:
        return None
    return asyncio.create_task(retention.purge_periodically(log, policy_public_key,
                                                            settings.retention_purge_interval_seconds,
                                                            record=purge_recorder("gateway:retention")),
                               name="log-retention")


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _cache_counts(policy: EmbeddedEngine | OpaServerEngine) -> Callable[[], tuple[int, int] | None]:
    def counts() -> tuple[int, int] | None:
        if not isinstance(policy, EmbeddedEngine):
            return None
        cache = policy.decisions.cache
        return cache.hits, cache.misses

    return counts


async def _close_database(db: Engine) -> None:
    await anyio.to_thread.run_sync(stop_group_commit, db)  # commits what is queued, closes its connection
    db.dispose()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    telemetry: Telemetry = app.state.telemetry
    telemetry.start()  # before the background tasks below, which inherit its tracer
    db = make_engine(settings.database_url)
    _upgrade(db)
    registry = load_registry(settings.organisations_file)
    if settings.generate_dev_keys:
        ensure_dev_client_keys(settings.keys_dir, registry)
        if settings.web_local_accounts and settings.web_dev_accounts:
            _dev_accounts(db, settings)
    signing_key = load_signing_key(settings.keys_dir, generate=settings.generate_dev_keys)
    keyring = load_keyring(settings.keys_dir, generate=settings.generate_dev_keys)
    pseudonymiser = Pseudonymiser(keyring)
    app.state.keyring = keyring
    app.state.oidc = OidcClient(settings) if settings.oidc_issuer else None
    log_signer = load_log_signer(settings.keys_dir, generate=settings.generate_dev_keys)
    policy, active_policy, tables = await _load_policy(app, settings, db)
    timeout = httpx.Timeout(settings.relay_read_timeout_seconds, connect=settings.relay_connect_timeout_seconds)
    client = relay_client(transport=settings.relay_transport, timeout=timeout,
                          limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    metrics: Metrics = app.state.metrics
    app.state.db = db
    app.state.tokens = TokenService(
        registry=registry, keys_dir=settings.keys_dir, signing_key=signing_key, issuer=settings.public_url,
        token_endpoint=f"{settings.public_url}/oauth/token", audience=f"{settings.public_url}/v1",
        ttl_seconds=settings.access_token_ttl_seconds, assertion_max_age=settings.client_assertion_max_age_seconds,
        binding=CertificateBinding(header=settings.mtls_client_cert_header,
                                   require_registered=settings.mtls_require_registered_certificate)
        if settings.mtls_bound_tokens else None)
    breakers = CircuitBreakers(threshold=settings.breaker_failure_threshold,
                               cooldown_seconds=settings.breaker_cooldown_seconds)
    app.state.exchange = ExchangeDeps(
        db=db, policy=policy, pseudonymiser=pseudonymiser, registry=registry,
        relay=Relay(client, metrics, breakers, _partner_clients(settings, registry, timeout)), metrics=metrics,
        known_purposes=frozenset((tables.get("purposes") or {}).keys()),
        known_flows=frozenset((tables.get("flows") or {}).keys()),
        sealer=Sealer(keyring, "outbox"), retry_policy=_retry_policy(settings), quotas=_quotas(settings),
        review_sealer=Sealer(keyring, "review"))
    policy_poller = await _follow_policy(app, settings, active_policy)
    worker = _delivery_worker(app.state.exchange) if settings.delivery_worker else None
    app.state.log = LogDeps(db=db, signer=log_signer, origin=settings.checkpoint_origin, registry=registry)
    checkpoints = (asyncio.create_task(issue_periodically(app.state.log, settings.checkpoint_interval_seconds),
                                       name="log-checkpoints") if settings.checkpoint_interval_seconds > 0 else None)
    purges = _retention_task(app.state.log, app.state.policy_signer.public_key, settings)
    app.state.ready = True
    _log.info("gateway started: policy engine %s, bundle %s", policy.name, policy.bundle_hash[:19])
    try:
        yield
    finally:
        app.state.ready = False
        await _cancel(policy_poller)
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        if checkpoints is not None:
            checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checkpoints
        await _cancel(purges)
        await app.state.exchange.relay.aclose()
        await policy.aclose()
        await _close_database(db)
        telemetry.shutdown()


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
        for operation in operations.values():
            _document_common_problems(path, operation)
    app.openapi_schema = schema
    return schema


_COMMON_PROBLEMS = {
    # Any request body: the middleware's size limit and the problem handlers for unreadable or mistyped bodies.
    "body": {"400": "Malformed request body", "413": "Request body too large", "415": "Unsupported content type"},
    # Any /v1/ operation: bearer authentication and scopes.
    "/v1/": {"401": "Missing or invalid access token", "403": "Insufficient scope or not allowed"},
}


def _document_common_problems(path: str, operation: dict[str, Any]) -> None:
    """Declare the problem answers every operation of a kind can give (the schemathesis run found them missing)."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses = operation.setdefault("responses", {})
    kinds = (["body"] if "requestBody" in operation else []) + (["/v1/"] if path.startswith("/v1/") else [])
    for kind in kinds:
        for status, description in _COMMON_PROBLEMS[kind].items():
            responses.setdefault(status, {"description": description, "content": problem})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Uitwisselingsgateway kind- en gezinsbescherming", version="0.1.0",
                  description=API_DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.public_url = settings.public_url.rstrip("/")
    app.state.metrics = Metrics()
    app.state.telemetry = Telemetry.from_settings(settings, service_version=app.version)
    app.state.ready = False
    install_problem_handlers(app)
    app.add_middleware(GatewayMiddleware, max_body_bytes=settings.max_body_bytes, metrics=app.state.metrics,
                       tracing=app.state.telemetry)
    app.add_middleware(WebSecurityHeaders, hsts=settings.cookies_secure)
    app.state.html_error = html_error
    app.include_router(auth_router)
    app.include_router(exchange_router)
    app.include_router(inbox_router)
    app.include_router(log_router)
    # Web pages for privacy officers and DPOs (sessions, CSRF, audit trail): gateway/web.
    app.include_router(web_router)
    # Policy versions for privacy officers (read-only for DPOs): gateway/policy_admin.
    app.include_router(policy_admin_router)
    register_section(app.state, title="Beleid", href="/ui/policy/", roles=["privacy_officer", "dpo"],
                     description="de stromentabel lezen, een concept maken, testen, vergelijken en laten goedkeuren")
    # The DPO's inzage reports (AVG art. 15) and log exports with proof bundles.
    app.include_router(inzage_router)
    app.include_router(exports_router)
    register_section(app.state, title="Export met bewijsbundel", href="/ui/exports/", roles=["dpo"],
                     description="een selectie uit het logboek als CSV of JSON, met bewijzen om zelf te controleren")
    register_section(app.state, title="Inzageverzoek", href="/ui/inzage/", roles=["dpo"],
                     description="een inzagerapport (AVG art. 15) voor een persoon, zonder melder of medewerkers")
    app.include_router(oidc_router)
    # The DPO's review desk (search, queues, flags, obligations) and the deliveries page: gateway/review.
    review_pages.install()
    app.include_router(review_pages.router)
    app.include_router(review_api_router)
    register_section(app.state, title="Logboek", href="/ui/review/", roles=["dpo"],
                     description="uitwisselingen zoeken, wachtrijen beoordelen, signalen en verplichtingen")
    register_section(app.state, title="Afleveringen", href="/ui/review/deliveries", roles=["dpo", "operator"],
                     description="onbestelbare en lopende afleveringen; beheerders kunnen opnieuw proberen")
    app.mount("/ui/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="ui-static")
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

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/problems/{code}", tags=["operations"], summary="What a problem type means",
             responses={404: {"description": "Unknown problem type", "content": {
                 "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}})
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
