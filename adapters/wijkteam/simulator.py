"""The wijkteam's ZGW case system, simulated (`adapters.zgw.simulator`) with the wijkteam's zaaktype and zaken.

Run on its own (`python -m adapters.simulators wijkteam`) it accepts the JWTs of one client whose secret it
reads, per call, from the gateway's keys directory — the file `gateway keys init` (or the gateway's first start)
generates for the wijkteam's `zgw_jwt` in config/organisations.yaml. `GATEWAY_SIM_WIJKTEAM_ZGW_CLIENT_ID` and
`GATEWAY_SIM_WIJKTEAM_ZGW_SECRET_FILE` override the client id and the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI

from adapters.wijkteam.adapter import ADAPTER, MAPPING
from adapters.wijkteam.fixtures import SEEDS
from adapters.zgw.simulator import ZgwSimConfig, build_app

RSIN = "002220647"  # the simulated municipality (a valid, fictional RSIN)
CLIENT_ID = "kgb-gateway"
SECRET_FILE = "partners/wijkteam-utrecht-west.zgw-secret"  # noqa: S105 - where the secret lies, not a secret


def _secret_file() -> Path:
    explicit = os.environ.get("GATEWAY_SIM_WIJKTEAM_ZGW_SECRET_FILE")
    if explicit:
        return Path(explicit)
    repo_root = Path(__file__).resolve().parents[2]  # the gateway's default keys directory is <repo>/keys
    return Path(os.environ.get("GATEWAY_KEYS_DIR") or repo_root / "keys") / SECRET_FILE


def _clients_from_keys_dir() -> Mapping[str, str]:
    path = _secret_file()
    secret = path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    client_id = os.environ.get("GATEWAY_SIM_WIJKTEAM_ZGW_CLIENT_ID", CLIENT_ID)
    return {client_id: secret} if secret else {}


def create_app(clients: Mapping[str, str] | None = None) -> FastAPI:
    """A fresh simulator; `clients` (client id → secret) for tests, else the secret from the keys directory."""
    options = MAPPING.spec.options.zgw
    if options is None:  # the wijkteam mapping always has them; this keeps the type checker informed
        raise TypeError("the wijkteam mapping has no zgw options")
    known = dict(clients) if clients is not None else None
    return build_app(ZgwSimConfig(
        title="Wijkteam zaaksysteem (ZGW, simulator)",
        clients=(lambda: known) if known is not None else _clients_from_keys_dir,
        rsin=RSIN, zaaktype=options.zaaktype, informatieobjecttype=options.informatieobjecttype, seeds=SEEDS,
        decode=ADAPTER.content_to_dossier))
