"""One Settings object, reached through a cached dependency; tests build their own instead of patching."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=None, extra="ignore")

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    simulator_base_port: int = 8101  # `gateway run` puts the five simulators on this port and the next four
    public_url: str = "http://127.0.0.1:8000"

    database_url: str = Field(default_factory=lambda: f"sqlite:///{REPO_ROOT / 'var' / 'gateway.db'}")
    keys_dir: Path = REPO_ROOT / "keys"
    organisations_file: Path = REPO_ROOT / "config" / "organisations.yaml"
    policies_dir: Path = REPO_ROOT / "policies"

    policy_engine: Literal["embedded", "opa"] = "embedded"
    opa_url: str = "http://127.0.0.1:8181"
    opa_tls_verify: bool = True
    opa_ca_file: Path | None = None
    opa_timeout_seconds: float = 2.0
    # Policy versions live in the database (the disk bundle seeds version 1 at the very first start); each
    # replica polls the active version this often and swaps its engine without a restart (0: no polling).
    policy_reload_seconds: float = Field(default=5.0, ge=0)
    # Embedded engine: decisions kept per policy version (a decision is a pure function of version and input;
    # each issued decision still gets its own id). About 8 KB each; 0 turns the cache off. gateway/policy/decisions.py
    policy_decision_cache_size: int = Field(default=4096, ge=0, le=1_000_000)

    access_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    client_assertion_max_age_seconds: int = Field(default=300, ge=30, le=3600)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    relay_connect_timeout_seconds: float = 2.0
    relay_read_timeout_seconds: float = 10.0
    # What sends the relay's requests under its httpx clients: aiohttp's connection pool (several times httpx's
    # own under concurrency, bench/transport_bench.py) or httpx's own (e.g. to go through an HTTP(S)_PROXY).
    relay_transport: Literal["aiohttp", "httpx"] = "aiohttp"

    # Delivery through the transactional outbox: retries with exponential backoff and full jitter, then a
    # visible failure (dead letter) that an operator can retry; a circuit breaker per partner.
    delivery_worker: bool = True
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    delivery_backoff_base_seconds: float = Field(default=1.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=300.0, gt=0)
    delivery_lease_seconds: float = Field(default=60.0, gt=0)
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=30.0, ge=0)

    # Signed log checkpoints: one every so many seconds when the log has grown (0: only on demand), under an
    # origin that names this gateway (default `kgb-gateway/<host of public_url>`).
    checkpoint_interval_seconds: float = Field(default=300, ge=0)
    log_origin: str | None = Field(default=None, pattern=r"^[\x21-\x7e]{1,200}$")

    # Retention (gateway/exchange_log/retention.py): every so many seconds the content of log records past their
    # purpose's retention period (policies/data/purposes.yaml) is purged and the purge logged (0: only by
    # `gateway log purge`). Daily by default; the first round runs one interval after start.
    retention_purge_interval_seconds: float = Field(default=86_400, ge=0)

    # OpenTelemetry traces. Spans are always made (their trace id is the one in the log records and log lines);
    # they are exported over OTLP/HTTP only when an endpoint is set: GATEWAY_OTLP_ENDPOINT (the collector's base
    # URL, `/v1/traces` is appended, or the full traces URL), or else the standard OTEL_EXPORTER_OTLP_ENDPOINT /
    # OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (with OTEL_EXPORTER_OTLP_HEADERS, _CERTIFICATE, …). Off by default.
    # OTEL_RESOURCE_ATTRIBUTES adds resource attributes (e.g. k8s.pod.name).
    otlp_endpoint: str | None = None
    otlp_timeout_seconds: float = Field(default=10.0, gt=0)
    otel_service_name: str = "kgb-gateway"
    trace_sample_ratio: float = Field(default=1.0, ge=0, le=1)  # of new traces; a caller's sampled flag is kept

    # Rate limits per gateway process: sustained requests per minute and the burst allowed on top.
    quota_organisation_per_minute: float = Field(default=1200, gt=0)
    quota_organisation_burst: float = Field(default=200, ge=1)
    quota_professional_per_minute: float = Field(default=120, gt=0)
    quota_professional_burst: float = Field(default=30, ge=1)

    # Web pages for privacy officers and DPOs: server-side sessions with an idle and an absolute timeout,
    # re-authentication before approving a policy, and login throttling. Cookies are Secure when public_url is
    # https (forced in production).
    web_session_idle_minutes: int = Field(default=15, ge=1, le=240)
    web_session_absolute_hours: int = Field(default=8, ge=1, le=24)
    web_reauth_minutes: int = Field(default=5, ge=1, le=60)
    web_cookie_secure: bool | None = None
    web_login_max_failures: int = Field(default=5, ge=1)
    web_login_max_failures_per_client: int = Field(default=20, ge=1)
    web_login_lockout_minutes: float = Field(default=15, gt=0)
    # Human login through OpenID Connect (production): issuer, client and the claim that carries the roles.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret_file: Path | None = None
    oidc_roles_claim: str = "roles"
    oidc_organisation_claim: str = "organisation"
    oidc_scopes: str = "openid profile"
    # Local accounts with passwords (the embedded default); production with OIDC may switch them off.
    web_local_accounts: bool = True
    # Development only: create demo accounts (keys/dev-accounts.txt) at first start when none exist.
    web_dev_accounts: bool = True
    # Client addresses (login throttling, the audit trail) come from X-Forwarded-For only when the connection comes
    # from one of these proxies (uvicorn's forwarded_allow_ips: comma-separated IPs/CIDRs, or "*" when the network
    # policy lets only the ingress controller reach the pods).
    forwarded_allow_ips: str = "127.0.0.1"

    # The DPO's review desk (/ui/review): thresholds of the flags for unusual patterns, per calendar day in
    # `review_timezone` (see docs/dpo-guide.md). A volume spike: at least the minimum that day and at least
    # `review_spike_factor` times the daily average of the preceding baseline days. Out-of-hours bulk: one
    # professional's exchanges on a day outside office hours (or in the weekend). Repeated refusals: one
    # professional's refusals on a day. Obligations with a deadline show as due this many days before it.
    review_spike_factor: float = Field(default=3.0, gt=1)
    review_spike_baseline_days: int = Field(default=28, ge=1, le=365)
    review_spike_min_organisation: int = Field(default=50, ge=1)
    review_spike_min_professional: int = Field(default=15, ge=1)
    review_office_hours_start: int = Field(default=7, ge=0, le=23)
    review_office_hours_end: int = Field(default=19, ge=1, le=24)
    review_out_of_hours_bulk: int = Field(default=10, ge=1)
    review_repeated_refusals: int = Field(default=5, ge=1)
    review_timezone: str = "Europe/Amsterdam"
    review_obligation_warning_days: int = Field(default=7, ge=0, le=90)

    # Sender-constrained access tokens (RFC 8705), for a gateway behind an ingress that terminates mutual TLS:
    # tokens carry the client certificate's thumbprint and are refused over a connection without that certificate.
    # The ingress passes the certificate in `mtls_client_cert_header` (URL-encoded PEM, as ingress-nginx's
    # `ssl-client-cert`) and must strip any copy a client sends; the header is read only when binding is on.
    mtls_bound_tokens: bool = False
    mtls_client_cert_header: str = Field(default="ssl-client-cert", pattern=r"^[A-Za-z0-9-]{1,100}$")
    # Also require the certificate to be registered for the client (x5t#S256 or x5c in its JWK set).
    mtls_require_registered_certificate: bool = False

    # When true (dev default) missing keys are generated at start; production must mount them.
    generate_dev_keys: bool = True
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Settings:
        # A job is leased to the attempt in progress; a lease shorter than an attempt's timeouts would let a
        # second attempt start while the first is still waiting for its answer.
        if self.delivery_lease_seconds <= self.relay_connect_timeout_seconds + self.relay_read_timeout_seconds:
            raise ValueError("GATEWAY_DELIVERY_LEASE_SECONDS must exceed the relay's connect + read timeouts")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.generate_dev_keys:
                raise ValueError("production refuses to generate dev keys: mount keys and set GENERATE_DEV_KEYS=false")
            if self.policy_engine == "opa" and self.opa_url.startswith("http://") and self.opa_tls_verify:
                # A plain-http sidecar on localhost is fine only when explicitly accepted.
                raise ValueError("production OPA over http needs GATEWAY_OPA_TLS_VERIFY=false stated explicitly")
            if not self.cookies_secure:
                raise ValueError("production web sessions need Secure cookies: an https GATEWAY_PUBLIC_URL")
        return self

    @property
    def cookies_secure(self) -> bool:
        if self.web_cookie_secure is not None:
            return self.web_cookie_secure
        return self.public_url.startswith("https://")

    @property
    def checkpoint_origin(self) -> str:
        return self.log_origin or f"kgb-gateway/{urlsplit(self.public_url).hostname or 'localhost'}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
