"""The organisation registry: who may call the gateway, with which client keys, and where each is reached.

Loaded from a YAML file (`config/organisations.yaml` by default). `${NAME:-default}` in a value is replaced
from the environment, so one file serves the embedded default, tests and production.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from gateway.core.types import OrganisationType

_ENV = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


class ClientConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,99}$")
    jwks_file: str | None = None  # relative to the keys directory
    jwks: dict[str, Any] | None = None  # inline JWK set (production)
    scopes: list[str] = Field(default_factory=lambda: ["exchange:push", "exchange:pull", "exchange:read",
                                                        "exchange:reidentify"])


class EndpointConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str
    adapter: str


class Organisation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,99}$")
    type: OrganisationType
    name: str
    oin: str = Field(pattern=r"^\d{20}$")
    endpoint: EndpointConfig | None = None
    clients: list[ClientConfig] = Field(default_factory=list)


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
