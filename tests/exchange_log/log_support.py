"""Helpers for the log tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from gateway.core.settings import Settings
from gateway.exchange_log.checkpoint import parse_note, verifier_key
from gateway.pseudonymise.signing import Signer
from tests.support import melding_request, token_for

WITNESS_ORG = "vt-utrecht"


def verifier_key_of(note: str, signer: Signer) -> str:
    """A verifier key for the note's origin, but with another key (what a forger would hand out)."""
    return verifier_key(parse_note(note).checkpoint().origin, signer.public_key)


async def auth(client: httpx.AsyncClient, settings: Settings, client_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(client, settings, client_id)}"}


@dataclass
class SignedLog:
    """A log written by real exchanges, with checkpoints at `early_size` and `size` and the verifier key."""

    size: int
    early_size: int
    note: str
    public_key: str
    database_url: str


async def exchange(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)
    assert response.status_code == 201, response.text
