"""The organisation registry: who may call the gateway, with which client keys, and where each is reached.

Loaded from a YAML file (`config/organisations.yaml` by default). `${NAME:-default}` in a value is replaced
from the environment, so one file serves the embedded default, tests and production.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.core.types import OrganisationType

_ENV = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


class ClientConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,99}$")
    jwks_file: str | None = None  # relative to the keys directory
    jwks: dict[str, Any] | None = None  # inline JWK set (production)
    scopes: list[str] = Field(default_factory=lambda: ["exchange:push", "exchange:pull", "exchange:read",
                                                        "exchange:reidentify", "inbox:receive"])


INBOX_ADAPTER = "inbox"


class SecretRef(BaseModel):
    """Where a secret lives: an environment variable or a file under the keys directory — never the registry."""

    model_config = ConfigDict(extra="forbid")

    secret_env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]{1,99}$")
    secret_file: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("name exactly one of secret_env and secret_file")
        return self


class ApiKeyAuth(SecretRef):
    header: str = Field(default="X-Api-Key", pattern=r"^[A-Za-z0-9-]{1,100}$")


class OAuth2ClientCredentials(SecretRef):
    token_url: str
    client_id: str
    scope: str | None = None


class ZgwJwtAuth(SecretRef):
    """ZGW's own auth (Zaken/Documenten/Catalogi APIs): a fresh HS256 JWT per call, signed with a shared secret."""

    client_id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,100}$")
    user_id: str = Field(default="kgb-gateway", max_length=100)
    user_representation: str = Field(default="Gegevensuitwisseling kind- en gezinsbescherming", max_length=200)


class MutualTls(BaseModel):
    """The gateway's client certificate towards this partner, and the CA that signs the partner's server."""

    model_config = ConfigDict(extra="forbid")

    cert_file: str
    key_file: str
    ca_file: str | None = None


class EndpointConfig(BaseModel):
    """Where a partner's system is reached, or `adapter: inbox` for one that cannot receive calls: it collects
    its deliveries from the gateway's inbox API instead."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    adapter: str
    api_key: ApiKeyAuth | None = None
    oauth2: OAuth2ClientCredentials | None = None
    zgw_jwt: ZgwJwtAuth | None = None
    tls: MutualTls | None = None

    @model_validator(mode="after")
    def _url_unless_inbox(self) -> EndpointConfig:
        if self.adapter != INBOX_ADAPTER and not self.base_url:
            raise ValueError("an endpoint needs a base_url unless its adapter is 'inbox'")
        if sum(auth is not None for auth in (self.api_key, self.oauth2, self.zgw_jwt)) > 1:
            raise ValueError("choose one of api_key and oauth2 or zgw_jwt (mutual TLS combines with any)")
        return self


class Organisation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,99}$")
    type: OrganisationType
    name: str
    oin: str = Field(pattern=r"^\d{20}$")
    endpoint: EndpointConfig | None = None
    clients: list[ClientConfig] = Field(default_factory=list)
    # A partner that witnesses the log registers the Ed25519 public key it cosigns checkpoints with.
    witness_key: str | None = Field(default=None, description="base64 of a raw 32-byte Ed25519 public key")

    @field_validator("witness_key")
    @classmethod
    def _witness_key_is_ed25519(cls, value: str | None) -> str | None:
        if not value:
            return None  # an empty `${VAR:-}` means no witness
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError("witness_key must be base64") from exc
        if len(raw) != 32:  # the size of an Ed25519 public key
            raise ValueError("witness_key must be a 32-byte Ed25519 public key")
        return value


class RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisations: list[Organisation]


class OrganisationRegistry:
    def __init__(self, organisations: list[Organisation]) -> None:
        self._by_id = {o.id: o for o in organisations}
        if len(self._by_id) != len(organisations):
            raise ValueError("duplicate organisation id in registry")
        self._by_client: dict[str, tuple[Organisation, ClientConfig]] = {}
        for org in organisations:
            for client in org.clients:
                if client.client_id in self._by_client:
                    raise ValueError("duplicate client id in registry")
                self._by_client[client.client_id] = (org, client)

    def get(self, organisation_id: str) -> Organisation | None:
        return self._by_id.get(organisation_id)

    def by_client(self, client_id: str) -> tuple[Organisation, ClientConfig] | None:
        return self._by_client.get(client_id)

    def all(self) -> list[Organisation]:
        return list(self._by_id.values())


def _expand(text: str) -> str:
    return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), text)


def load_registry(path: Path) -> OrganisationRegistry:
    raw = yaml.safe_load(_expand(path.read_text(encoding="utf-8")))
    return OrganisationRegistry(RegistryFile.model_validate(raw).organisations)
