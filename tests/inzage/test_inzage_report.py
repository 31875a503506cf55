"""The inzage report (AVG art. 15): exactly the person's exchanges, never the reporter, professionals or BSN."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session

from gateway.cli import main as cli_main
from gateway.core.settings import Settings, get_settings
from gateway.exchange_log import retention
from gateway.policy.bundle import load_bundle
from gateway.web import audit
from tests.inzage.inzage_support import (
    BSN_CHILD_B,
    BSN_REPORTER_B,
    forbidden_strings,
    reported_categories,
    reported_positions,
    write_two_families,
)
from tests.support import BSN_CHILD, BSN_MOTHER
from tests.web.web_support import add_user, login, page_csrf


async def _report(client: httpx.AsyncClient, bsn: str, fmt: str = "page") -> httpx.Response:
    csrf = await page_csrf(client, "/ui/inzage/")
    return await client.post("/ui/inzage/rapport", data={"bsn": bsn, "format": fmt, "csrf_token": csrf})


async def test_the_report_lists_exactly_the_persons_exchanges_and_nothing_it_must_withhold(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    log = await write_two_families(client, settings, app)
    add_user(app, "fg-a", ["dpo"])
    await login(client, "fg-a")

    for bsn, expected in ((BSN_MOTHER, log.a_positions), (BSN_CHILD, log.a_positions),
                          (BSN_CHILD_B, log.b_positions)):
        response = await _report(client, bsn)
        assert response.status_code == 200, response.text
        html = response.text
        assert reported_positions(html) == expected
        for secret in forbidden_strings(app, log):
            assert secret not in html, secret
        assert "melder" not in " ".join(reported_categories(html))  # the reporter's category is not listed

    html = (await _report(client, BSN_MOTHER)).text
    assert "melding bij Veilig Thuis" in html  # the purpose's Dutch label from the policy tables
    assert "Buurtteam Utrecht West" in html and "Veilig Thuis Utrecht" in html  # organisations by name
    assert "Wmo 2015 art. 5.2.6" in html and "meldrecht" in html  # legal basis with its citation
    assert "Geweigerd: er zijn geen gegevens verstrekt." in html  # the refused advice request
    assert "gezondheid" in html  # data categories by their label
    assert "Ctrl+P" in html and "inzage-item" in html


async def test_a_person_absent_from_the_log_gets_an_empty_report(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    add_user(app, "fg-a", ["dpo"])
    await login(client, "fg-a")
    response = await _report(client, "123 456 782")  # spaces as people type them
    assert response.status_code == 200
    assert 'data-testid="inzage-empty"' in response.text
    assert reported_positions(response.text) == set()


async def test_the_reporter_sees_only_that_they_reported_never_the_other_family_members(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    log = await write_two_families(client, settings, app)
    add_user(app, "fg-a", ["dpo"])
    await login(client, "fg-a")
    html = (await _report(client, BSN_REPORTER_B)).text
    assert reported_positions(html) == log.b_positions
    assert "als</dt><dd>melder</dd>" in html.replace("\n", "")
    assert "Lotte" not in html and "Visser" not in html and BSN_CHILD_B not in html


async def test_the_report_is_audited_without_the_bsn_and_refuses_a_wrong_number(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    add_user(app, "fg-a", ["dpo"])
    await login(client, "fg-a")
    wrong = await _report(client, "123456789")
    assert wrong.status_code == 422 and "elfproef" in wrong.text
    assert "123456789" not in wrong.text
    download = await _report(client, BSN_MOTHER, fmt="download")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "@media print" in download.text and "<script" not in download.text
    assert download.headers["cache-control"] == "no-store"
    with Session(app.state.db) as session:
        rows = audit.search(session, action="inzage_report").entries
    assert [r.actor for r in rows] == ["fg-a"]
    assert json.loads(rows[0].detail) == {"exchanges": 0, "format": "download", "pseudonyms": 1}
    assert BSN_MOTHER not in rows[0].detail


async def test_only_a_dpo_makes_reports(client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    add_user(app, "po-a", ["privacy_officer"])
    await login(client, "po-a")
    assert (await client.get("/ui/inzage/")).status_code == 403
    csrf = await page_csrf(client, "/ui/")
    refused = await client.post("/ui/inzage/rapport", data={"bsn": BSN_MOTHER, "csrf_token": csrf})
    assert refused.status_code == 403


async def test_the_command_line_writes_the_report_from_a_bsn_on_stdin(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    log = await write_two_families(client, settings, app)
    out = tmp_path / "report.html"
    monkeypatch.setenv("GATEWAY_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(BSN_MOTHER + "\n"))
    get_settings.cache_clear()
    try:
        assert cli_main(["inzage", "--bsn-stdin", "--out", str(out)]) == 0
        monkeypatch.setattr("sys.stdin", io.StringIO("12345\n"))
        assert cli_main(["inzage", "--bsn-stdin", "--out", str(tmp_path / "no.html")]) == 1
    finally:
        get_settings.cache_clear()
    html = out.read_text(encoding="utf-8")
    assert reported_positions(html) == log.a_positions
    for secret in forbidden_strings(app, log):
        assert secret not in html, secret
    assert not (tmp_path / "no.html").exists()
    with Session(app.state.db) as session:
        rows = audit.search(session, action="inzage_report").entries
    assert len(rows) == 1 and rows[0].actor.startswith("cli:") and BSN_MOTHER not in rows[0].detail


async def test_exchanges_purged_under_retention_no_longer_appear(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    log = await write_two_families(client, settings, app)
    with Session(app.state.db) as session:  # 21 years on, every record here is past its retention period
        periods = retention.periods(load_bundle(settings.policies_dir).data["gateway"]["tables"])
        result = retention.purge_due(session, retention=periods, now=dt.datetime.now(dt.UTC) + dt.timedelta(
            days=365 * 21), signer=app.state.log.signer, origin=app.state.log.origin)
        session.commit()
    assert result.purged >= len(log.a_positions | log.b_positions)
    add_user(app, "fg-a", ["dpo"])
    await login(client, "fg-a")
    html = (await _report(client, BSN_MOTHER)).text
    assert reported_positions(html) == set() and 'data-testid="inzage-empty"' in html
