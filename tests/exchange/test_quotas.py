"""Rate limits per organisation and per professional."""

from __future__ import annotations

import httpx
import pytest

from gateway.core.settings import Settings
from gateway.exchange.quotas import TokenBuckets
from tests.support import WIJKTEAM, melding_request, token_for


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"quota_professional_burst": 2, "quota_professional_per_minute": 1,
                                       "quota_organisation_burst": 3, "quota_organisation_per_minute": 1})


async def test_a_professional_and_an_organisation_are_limited_with_retry_after(
        client: httpx.AsyncClient, settings: Settings) -> None:
    headers = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}

    async def push(professional: str) -> httpx.Response:
        body = melding_request(professional={"id": professional, "role": "wijkteammedewerker"})
        return await client.post("/v1/exchanges/push", json=body, headers=headers)

    assert [(await push("mdw-1")).status_code for _ in range(2)] == [201, 201]
    limited = await push("mdw-1")
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "rate-limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert "professional" in limited.json()["detail"]
    assert (await push("mdw-2")).status_code == 201  # another professional of the same organisation
    organisation_limited = await push("mdw-3")  # the organisation's burst of 3 is used up
    assert organisation_limited.status_code == 429
    assert "organisation" in organisation_limited.json()["detail"]


def test_token_buckets_refill_over_time() -> None:
    now = [0.0]
    buckets = TokenBuckets(per_minute=60, burst=2, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)
    now[0] = 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] = 1.0
    assert buckets.take("a") == 0.0
    assert buckets.take("b") == 0.0
