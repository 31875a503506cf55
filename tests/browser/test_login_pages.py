"""Login, the start page, logout and the admin audit trail, in headless Chromium against a running gateway."""

from __future__ import annotations

from typing import Any

from tests.browser.browser_support import LiveGateway, login


def test_a_dpo_logs_in_sees_the_audit_trail_and_logs_out(page: Any, live_gateway: LiveGateway) -> None:
    page.goto(f"{live_gateway.url}/ui/audit")
    # Not logged in: sent to the login page, and back to the audit trail afterwards.
    assert "/ui/login" in page.url
    page.fill("#username", "fg-carla")
    page.fill("#password", live_gateway.accounts["fg-carla"])
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=audit-table]")
    assert page.url.endswith("/ui/audit")
    assert page.locator("[data-testid=audit-intact]").is_visible()
    rows = page.locator("[data-testid=audit-table] tbody tr").all_inner_texts()
    assert any("fg-carla" in row and "Ingelogd" in row for row in rows)
    page.click("text=Uitloggen")
    page.wait_for_url("**/ui/login")
    page.goto(f"{live_gateway.url}/ui/audit")
    assert "/ui/login" in page.url


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(page: Any,
                                                                          live_gateway: LiveGateway) -> None:
    page.goto(f"{live_gateway.url}/ui/login")
    page.fill("#username", "po-anna")
    page.fill("#password", "definitely-not-the-password")
    page.click("button[type=submit]")
    error = page.locator("[data-testid=login-error]")
    assert error.inner_text() == "Onbekende gebruikersnaam of onjuist wachtwoord."
    assert page.context.cookies() == [] or all(c["name"] != "kgb_session" for c in page.context.cookies())


def test_a_privacy_officer_may_not_read_the_audit_trail(page: Any, live_gateway: LiveGateway) -> None:
    login(page, live_gateway, "po-anna")
    response = page.goto(f"{live_gateway.url}/ui/audit")
    assert response is not None and response.status == 403
    assert "Functionaris gegevensbescherming" in page.locator("[data-testid=error-detail]").inner_text()


def test_pages_send_a_strict_content_security_policy_and_run_no_script(page: Any, live_gateway: LiveGateway) -> None:
    response = page.goto(f"{live_gateway.url}/ui/login")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert page.evaluate("document.scripts.length") == 0
    cookie = next(c for c in page.context.cookies() if c["name"] == "kgb_login_csrf")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
