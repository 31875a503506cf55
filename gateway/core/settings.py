"""One Settings object, reached through a cached dependency; tests build their own instead of patching."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

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

    # When true (dev default) missing keys are generated at start; production must mount them.
    generate_dev_keys: bool = True
    log_level: str = "INFO"

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
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
