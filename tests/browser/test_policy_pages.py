"""Done means, in headless Chromium against a running gateway of its own: po-anna drops health data from F9 in
a draft, sees the what-if report over the recorded traffic and submits; po-bram approves with his password; the
next F9 exchange is logged under the new bundle hash and no health data reaches the wijkteam's system.

This gateway starts from policies in which F9 still passes health data (tests/policy_admin/policy_support.py),
so the first exchange shows that the change is real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from gateway.core.database import make_engine
from gateway.exchange_log.models import LogEntry
from tests.browser.browser_support import LiveGateway, login, start_live_gateway
from tests.policy_admin.policy_support import HEALTH_TEXT, drop_f9_health, f9_request, policies_with_f9_health, readable
from tests.support import VT


@pytest.fixture(scope="module")
def policy_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    workdir = tmp_path_factory.mktemp("policy-browser")
    policies = policies_with_f9_health(workdir / "policies")
    with start_live_gateway(workdir, GATEWAY_POLICIES_DIR=str(policies), GATEWAY_POLICY_RELOAD_SECONDS="1") as gw:
        yield gw


def _wijkteam_received(gateway: LiveGateway, exchange_id: str) -> str:
    url = f"http://127.0.0.1:{int(gateway.env['GATEWAY_SIMULATOR_BASE_PORT']) + 3}/_sim/received"
    entries = httpx.get(url, timeout=10).json()
    mine = [e for e in entries if e.get("exchange_id") == exchange_id]
    assert mine, "the wijkteam's system received nothing for this exchange"
    return readable(mine)


def _logged_hash(gateway: LiveGateway, exchange_id: str) -> str:
    engine = make_engine(gateway.database_url)
    try:
        with Session(engine) as session:
            entry = session.exec(select(LogEntry.entry).where(col(LogEntry.exchange_id) == exchange_id,
                                                              col(LogEntry.kind) == "exchange")).one()
    finally:
        engine.dispose()
    return str(json.loads(entry)["decision"]["bundle_hash"])


def _push_f9(gateway: LiveGateway) -> dict[str, Any]:
    response = gateway.push(VT, f9_request())
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_po_anna_drops_health_from_f9_and_po_bram_approves_it(browser: Any, page: Any,
                                                              policy_gateway: LiveGateway) -> None:
    gateway = policy_gateway
    before = _push_f9(gateway)  # recorded traffic for the what-if, decided under version 1
    assert HEALTH_TEXT in _wijkteam_received(gateway, before["exchange_id"])
    old_hash = _logged_hash(gateway, before["exchange_id"])

    login(page, gateway, "po-anna", next_path="/ui/policy/")
    page.goto(f"{gateway.url}/ui/policy/flows/F9")
    assert "doorgeven" in page.locator("[data-category=health]").inner_text()
    page.goto(f"{gateway.url}/ui/policy/")
    assert page.locator("[data-testid=active-hash]").inner_text() == old_hash
    page.click("[data-testid=new-draft]")
    page.wait_for_selector("[data-testid=edit-form]")
    flows = page.locator("[data-testid='table-data/flows.yaml']")
    flows.fill(drop_f9_health(flows.input_value()))
    page.fill("[data-testid=note]", "F9: geen gezondheidsgegevens meer naar het wijkteam")
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=saved]")

    page.click("[data-testid=run-whatif]")
    summary = page.locator("[data-testid=whatif-summary]").inner_text()
    assert summary.startswith("1 uitwisseling(en) opnieuw beslist; 1 zouden veranderen"), summary
    changes = page.locator("[data-testid=whatif-fields]").inner_text()
    assert "F9" in changes and "health[].description" in changes and "drop" in changes
    page.click("[data-testid=run-check]")
    assert "geen problemen" in page.locator("[data-testid=check-result]").inner_text()
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-testid=submitted]")
    assert page.locator("[data-testid=approve-form]").count() == 0  # not for the author
    version_url = page.url.split("?")[0]

    bram_context = browser.new_context()
    bram_context.set_default_timeout(15_000)
    bram = bram_context.new_page()
    try:
        login(bram, gateway, "po-bram")
        bram.goto(version_url)
        assert "F9: geen gezondheidsgegevens" in bram.locator("[data-testid=version-note]").inner_text()
        bram.fill("#approve-password", gateway.accounts["po-bram"])
        bram.click("[data-testid=approve]")
        bram.wait_for_selector("[data-testid=activated]")
        new_hash = bram.locator("[data-testid=version-hash]").inner_text()
        assert bram.locator("[data-testid=signature-ok]").is_visible()
    finally:
        bram_context.close()
    assert new_hash != old_hash

    after = _push_f9(gateway)
    assert _logged_hash(gateway, after["exchange_id"]) == new_hash
    assert after["policy_bundle"] == new_hash
    assert HEALTH_TEXT not in _wijkteam_received(gateway, after["exchange_id"])
    assert {f["treatment"] for f in after["fields"] if f["category"] == "health"} == {"drop"}
