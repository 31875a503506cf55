"""Fixtures for the log tests: a gateway whose registry names Veilig Thuis as a witness, and a log of real exchanges."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI

from gateway.core.settings import REPO_ROOT, Settings
from gateway.pseudonymise.signing import Signer
from tests.exchange_log.log_support import WITNESS_ORG, SignedLog, auth, exchange
from tests.support import VT, WIJKTEAM


@pytest.fixture(scope="session")
def witness_signer() -> Signer:
    return Signer.generate()


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, witness_signer: Signer) -> Settings:
    """The shared settings, with a registry in which Veilig Thuis registered a witness key; no periodic task."""
    raw = yaml.safe_load((REPO_ROOT / "config" / "organisations.yaml").read_text(encoding="utf-8"))
    for org in raw["organisations"]:
        if org["id"] == WITNESS_ORG:
            org["witness_key"] = base64.b64encode(witness_signer.public_key).decode()
    registry = tmp_path / "organisations.yaml"
    registry.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return settings.model_copy(update={"organisations_file": registry, "checkpoint_interval_seconds": 0})


@pytest.fixture
async def signed_log(client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> SignedLog:
    wijkteam, vt = await auth(client, settings, WIJKTEAM), await auth(client, settings, VT)
    for _ in range(2):
        await exchange(client, wijkteam)  # an exchange record and a delivery record each
    early = await client.post("/v1/log/checkpoints", headers=vt)
    assert early.status_code == 200, early.text
    for _ in range(2):
        await exchange(client, wijkteam)
    latest = await client.post("/v1/log/checkpoints", headers=vt)
    key = await client.get("/v1/log/public-key", headers=vt)
    return SignedLog(size=latest.json()["tree_size"], early_size=early.json()["tree_size"],
                     note=latest.json()["note"], public_key=key.json()["verifier_key"],
                     database_url=settings.database_url)
