"""Regression tests for what the schemathesis run found, on both database backends."""

from __future__ import annotations

import httpx
import pytest

from gateway.core.settings import Settings
from tests.support import WIJKTEAM, token_for

TOO_BIG = 2**63  # one past the largest integer SQLite stores
PG_TOO_BIG = 2**31  # one past PostgreSQL's INTEGER, the type of positions and tree sizes


@pytest.mark.parametrize("path", [
    f"/v1/log/checkpoints/{TOO_BIG}",
    f"/v1/log/checkpoints/{TOO_BIG}/cosignatures",
    f"/v1/log/proofs/inclusion?position={TOO_BIG}&tree_size=1",
    f"/v1/log/proofs/inclusion?position=0&tree_size={TOO_BIG}",
    f"/v1/log/proofs/consistency?first=1&second={TOO_BIG}",
    f"/v1/log/checkpoints/{PG_TOO_BIG}",
    f"/v1/log/proofs/inclusion?position={PG_TOO_BIG}&tree_size=1",
    f"/v1/log/proofs/consistency?first=1&second={PG_TOO_BIG}",
])
async def test_sizes_beyond_64_bits_are_invalid_parameters_not_a_500(client: httpx.AsyncClient, settings: Settings,
                                                                      path: str) -> None:
    token = await token_for(client, settings, WIJKTEAM, scope="exchange:read")
    response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_cosigning_at_a_size_beyond_64_bits_is_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    token = await token_for(client, settings, WIJKTEAM, scope="exchange:read")
    response = await client.post(f"/v1/log/checkpoints/{TOO_BIG}/cosignatures", json={"signature": "A" * 86 + "=="},
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.text
