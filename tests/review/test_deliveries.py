"""The deliveries page: dead letters for DPOs and operators, a manual retry for operators (audited).

The dead letter is made the real way: Veilig Thuis's simulator fails the delivery and, with one attempt allowed,
the outbox gives up on it.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from gateway.core.settings import Settings
from gateway.relay.models import DeliveryJob
from gateway.web.models import AdminAuditEntry
from tests.review.review_support import wijkteam_headers
from tests.support import melding_request
from tests.web.web_support import add_user, login, page_csrf


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"delivery_max_attempts": 1})


async def _dead_letter(client: httpx.AsyncClient, settings: Settings, simulators: dict[str, FastAPI]) -> str:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulators["veilig_thuis"]),
                                 base_url="http://vt.sim") as sim:
        assert (await sim.post("/_sim/faults", json={"fail_next": 1, "status": 503})).status_code == 204
    response = await client.post("/v1/exchanges/push", json=melding_request(),
                                 headers=await wijkteam_headers(client, settings))
    assert response.status_code in (201, 502), response.text
    body = response.json()
    exchange_id: str = body.get("exchange", body)["exchange_id"]
    return exchange_id


def _job(app: FastAPI, exchange_id: str) -> DeliveryJob:
    with Session(app.state.db) as session:
        job = session.get(DeliveryJob, exchange_id)
        assert job is not None
        return job


async def test_operator_retries_a_dead_letter_and_it_is_delivered(app: FastAPI, client: httpx.AsyncClient,
                                                                   settings: Settings,
                                                                   simulators: dict[str, FastAPI]) -> None:
    exchange_id = await _dead_letter(client, settings, simulators)
    assert _job(app, exchange_id).status == "dead"
    # A DPO sees it, without a retry button.
    add_user(app, "fg-a", ["dpo"])
    add_user(app, "beheer-a", ["operator"])
    await login(client, "fg-a")
    page = await client.get("/ui/review/deliveries")
    assert page.status_code == 200 and exchange_id in page.text and 'data-testid="retry"' not in page.text
    listed = (await client.get("/ui/api/review/deliveries?status=dead")).json()
    assert [d["exchange_id"] for d in listed] == [exchange_id] and listed[0]["retryable"]
    await client.post("/ui/logout", data={"csrf_token": await page_csrf(client, "/ui/")})
    # The operator retries it from the page (form POST with the CSRF token).
    await login(client, "beheer-a")
    page = await client.get("/ui/review/deliveries")
    assert 'data-testid="retry"' in page.text
    refused = await client.post(f"/ui/review/deliveries/{exchange_id}/retry")
    assert refused.status_code == 403
    csrf = await page_csrf(client, "/ui/review/deliveries")
    retried = await client.post(f"/ui/review/deliveries/{exchange_id}/retry", data={"csrf_token": csrf})
    assert retried.status_code == 303
    for _ in range(200):  # the outbox worker picks the job up and delivers it
        if _job(app, exchange_id).status == "delivered":
            break
        await asyncio.sleep(0.05)
    assert _job(app, exchange_id).status == "delivered"
    # A second retry is refused: it is no longer a dead letter.
    again = await client.post(f"/ui/api/review/deliveries/{exchange_id}/retry", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409
    with Session(app.state.db) as session:
        audited = session.exec(select(AdminAuditEntry).where(AdminAuditEntry.action == "delivery_retry")).all()
    assert [(a.actor, a.outcome, a.target) for a in audited] == [
        ("beheer-a", "ok", f"exchange:{exchange_id}"), ("beheer-a", "refused", f"exchange:{exchange_id}")]
