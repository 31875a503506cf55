"""The DPO's inzage report and export pages in headless Chromium, against a running gateway with a shared log."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx

from gateway.exchange_log.verify_export import verify_bundle
from tests.browser.browser_support import LiveGateway, login
from tests.support import BSN_REPORTER, WIJKTEAM, melding_request


def _fresh_bsn(rng: random.Random) -> str:
    """A fictional BSN passing the 11-check that no other test uses (the live log is shared)."""
    while True:
        digits = [rng.randrange(10) for _ in range(8)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10 and digits[0] != 0:
            return "".join(map(str, digits)) + str(check)


def _push_family(gateway: LiveGateway, child: str, parent: str) -> list[int]:
    body = melding_request()
    body["dossier"]["persons"][0]["bsn"] = child
    body["dossier"]["persons"][1]["bsn"] = parent
    positions = []
    for _ in range(2):
        response = gateway.push(WIJKTEAM, body)
        assert response.status_code == 201, response.text
        positions.append(response.json()["log"]["position"])
    return positions


def test_a_dpo_makes_a_print_ready_inzage_report_without_the_reporter(page: Any, live_gateway: LiveGateway) -> None:
    rng = random.Random()  # noqa: S311 - test data, not a secret
    child, parent = _fresh_bsn(rng), _fresh_bsn(rng)
    positions = _push_family(live_gateway, child, parent)
    login(page, live_gateway, "fg-carla")
    page.click("text=Inzageverzoek")
    page.wait_for_url("**/ui/inzage/")
    page.fill("#bsn", parent)
    page.click("[data-testid=inzage-submit]")
    page.wait_for_selector("[data-testid=inzage-report]")
    assert "rapport" in page.url and parent not in page.url  # the BSN went in the POST body only
    items = page.locator("[data-testid=inzage-item]")
    assert sorted(int(items.nth(i).get_attribute("data-position")) for i in range(items.count())) == positions
    content = page.content()
    for secret in (child, parent, BSN_REPORTER, "Noor", "de Vries", "Basisschool De Linde", "PS1."):
        assert secret not in content
    assert "melding bij Veilig Thuis" in content and "Veilig Thuis Utrecht" in content
    assert page.evaluate("document.scripts.length") == 0
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible() and not page.locator(".noprint").is_visible()
    assert page.locator("[data-testid=inzage-report]").is_visible()


def test_a_dpo_downloads_an_export_that_verifies_offline(page: Any, live_gateway: LiveGateway,
                                                          tmp_path: Path) -> None:
    _push_family(live_gateway, _fresh_bsn(random.Random()), _fresh_bsn(random.Random()))  # noqa: S311
    key = httpx.get(f"{live_gateway.url}/v1/log/public-key", timeout=10,
                    headers={"Authorization": f"Bearer {live_gateway.token(WIJKTEAM)}"}).json()["verifier_key"]
    login(page, live_gateway, "fg-carla")
    page.goto(f"{live_gateway.url}/ui/exports/")
    page.select_option("select[name=purpose]", "melding")
    page.select_option("select[name=format]", "csv")
    with page.expect_download() as download:
        page.click("[data-testid=export-submit]")
    path = tmp_path / "export.zip"
    download.value.save_as(path)
    report = verify_bundle(path, public_key_text=key)
    assert report.ok, report.lines()
    assert report.entries >= 2
