"""The DPO's review desk and the deliveries page in headless Chromium, against a running gateway.

This module runs its own gateway (`gateway run`, with simulators) that gives a delivery one attempt, so a
simulator fault turns a push into a dead letter at once — the real path, not a row written by hand. The log
is shared by the module's tests; they look only at the exchanges they made.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.browser_support import LiveGateway, login, start_live_gateway
from tests.support import WIJKTEAM, melding_request


@pytest.fixture(scope="module")
def review_gateway(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[LiveGateway]:
    del browser  # without Chromium the module skips before starting a gateway
    workdir: Path = tmp_path_factory.mktemp("review-gateway")
    with start_live_gateway(workdir, GATEWAY_DELIVERY_MAX_ATTEMPTS="1") as gateway:
        yield gateway


def _fresh_bsn(rng: random.Random) -> str:
    while True:
        digits = [rng.randrange(10) for _ in range(8)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10 and digits[0] != 0:
            return "".join(map(str, digits)) + str(check)


def _push_for(gateway: LiveGateway, child: str, parent: str) -> dict[str, Any]:
    body = melding_request()
    body["dossier"]["persons"][0]["bsn"] = child
    body["dossier"]["persons"][1]["bsn"] = parent
    response = gateway.push(WIJKTEAM, body)
    assert response.status_code in (201, 502), response.text
    result: dict[str, Any] = response.json()
    return result.get("exchange", result)


def test_a_dpo_finds_a_person_reads_a_record_and_reviews_a_queue_item(page: Any,
                                                                      review_gateway: LiveGateway) -> None:
    rng = random.Random()  # noqa: S311 - test data, not a secret
    child, parent = _fresh_bsn(rng), _fresh_bsn(rng)
    mine = [_push_for(review_gateway, child, parent)["log"]["position"] for _ in range(2)]
    _push_for(review_gateway, _fresh_bsn(rng), _fresh_bsn(rng))  # another family
    login(page, review_gateway, "fg-carla")
    page.click("main a[href='/ui/review/']")
    page.wait_for_url("**/ui/review/")
    page.fill("#bsn", parent)
    page.click("[data-testid=person-form] button[type=submit]")
    page.wait_for_selector("[data-testid=person-result]")
    assert parent not in page.url and parent not in page.content()
    rows = page.locator("[data-testid=entry-row]")
    assert sorted(int(rows.nth(i).get_attribute("data-position")) for i in range(rows.count())) == sorted(mine)
    # A record's detail: decision reasons, legal basis text, policy bundle hash, per-field treatment.
    page.click(f"[data-testid=entry-row][data-position='{mine[0]}'] [data-testid=entry-link]")
    page.wait_for_selector("[data-testid=facts]")
    assert "Wmo 2015 art. 5.2.6" in page.locator("[data-testid=legal-basis]").inner_text()
    assert page.locator("[data-testid=bundle-hash]").inner_text().startswith("sha256:")
    assert page.locator("[data-testid=reasons] li").count() >= 1
    assert page.locator("[data-testid=fields] tbody tr").count() > 5
    assert page.evaluate("document.scripts.length") == 0
    # The same record waits in the special-categories queue; annotate it and mark it reviewed.
    page.goto(f"{review_gateway.url}/ui/review/queues/special?state=all")
    page.click(f"[data-testid=entry-row][data-position='{mine[1]}'] [data-testid=entry-link]")
    page.fill("#annotation", "Grondslag en bijzondere gegevens gecontroleerd; in orde.")
    page.click("[data-testid=add-annotation]")
    page.wait_for_selector("[data-testid=saved]")
    assert "in orde" in page.locator("[data-testid=annotations]").inner_text()
    page.click("[data-testid=mark-reviewed]")
    page.wait_for_selector("[data-testid=reviewed]")
    assert "fg-carla" in page.locator("[data-testid=reviewed]").inner_text()
    page.goto(f"{review_gateway.url}/ui/review/queues/special?state=open")
    assert page.locator(f"[data-testid=entry-row][data-position='{mine[1]}']").count() == 0
    page.goto(f"{review_gateway.url}/ui/review/queues/special?state=reviewed")
    assert page.locator(f"[data-testid=entry-row][data-position='{mine[1]}']").count() == 1
    # The audit trail names the actions, never the BSN.
    page.goto(f"{review_gateway.url}/ui/audit")
    trail = page.locator("[data-testid=audit-table]").inner_text()
    assert "Aantekening gemaakt" in trail and "Als beoordeeld gemarkeerd" in trail and parent not in trail


def test_an_operator_retries_a_dead_letter(page: Any, review_gateway: LiveGateway) -> None:
    vt_simulator = f"http://127.0.0.1:{int(review_gateway.env['GATEWAY_SIMULATOR_BASE_PORT'])}"
    fault = httpx.post(f"{vt_simulator}/_sim/faults", json={"fail_next": 1, "status": 503}, timeout=10)
    assert fault.status_code == 204
    rng = random.Random()  # noqa: S311 - test data, not a secret
    exchange_id = _push_for(review_gateway, _fresh_bsn(rng), _fresh_bsn(rng))["exchange_id"]
    login(page, review_gateway, "beheer-daan")
    page.goto(f"{review_gateway.url}/ui/review/deliveries?status=dead")
    row = page.locator(f"[data-testid=delivery-row][data-exchange='{exchange_id}']")
    assert row.get_attribute("data-status") == "dead"
    row.locator("[data-testid=retry]").click()
    page.wait_for_selector("[data-testid=retried]")
    # The outbox worker delivers it now the simulator answers again: it leaves the list.
    for _ in range(50):
        page.goto(f"{review_gateway.url}/ui/review/deliveries")
        if page.locator(f"[data-testid=delivery-row][data-exchange='{exchange_id}']").count() == 0:
            break
        page.wait_for_timeout(200)
    assert page.locator(f"[data-testid=delivery-row][data-exchange='{exchange_id}']").count() == 0
