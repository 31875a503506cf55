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

    access_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    client_assertion_max_age_seconds: int = Field(default=300, ge=30, le=3600)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    relay_connect_timeout_seconds: float = 2.0
    relay_read_timeout_seconds: float = 10.0

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

    # Rate limits per gateway process: sustained requests per minute and the burst allowed on top.
    quota_organisation_per_minute: float = Field(default=1200, gt=0)
    quota_organisation_burst: float = Field(default=200, ge=1)
    quota_professional_per_minute: float = Field(default=120, gt=0)
    quota_professional_burst: float = Field(default=30, ge=1)

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
        return self

    @property
    def checkpoint_origin(self) -> str:
        return self.log_origin or f"kgb-gateway/{urlsplit(self.public_url).hostname or 'localhost'}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
