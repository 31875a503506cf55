"""The done-means scenario on the command line alone: tighten F9, preview it over the recorded traffic, propose,
submit, get it approved by a colleague, and see the next exchange decided under the new hash. Every action that
changes something asks for the acting user's password, so four eyes are two people, not two usernames."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlmodel import Session

from gateway.cli import main as cli_main
from gateway.core.settings import Settings, get_settings
from gateway.web import audit
from tests.policy_admin.policy_support import drop_f9_health, health_treatments, logged_exchange, push_f9
from tests.web.web_support import PASSWORD, add_user


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GATEWAY_KEYS_DIR", str(settings.keys_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _gateway(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
             stdin: str = "") -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli_main(["policy", *args])
    return code, capsys.readouterr().out


def _candidate(settings: Settings, tmp_path: Path) -> Path:
    folder = tmp_path / "candidate"
    shutil.copytree(settings.policies_dir, folder)
    flows = folder / "data" / "flows.yaml"
    flows.write_text(drop_f9_health(flows.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


async def test_a_privacy_officer_tightens_f9_through_the_cli_and_a_colleague_approves(
        app: FastAPI, settings: Settings, tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(app, "po-a", ["privacy_officer"])
    add_user(app, "po-b", ["privacy_officer"])
    for _ in range(2):
        assert (await push_f9(app, settings)).status_code == 201
    old_hash = app.state.exchange.policy.bundle_hash
    candidate = _candidate(settings, tmp_path)

    code, out = _gateway(["whatif", "--policies", str(candidate)], capsys, monkeypatch)
    assert code == 0 and "2 uitwisseling(en) opnieuw beslist; 2 zouden veranderen" in out
    assert "F9: health[].description: pass → drop: 2×" in out

    code, out = _gateway(["propose", str(candidate), "--user", "po-a", "--password-stdin", "--note",
                          "F9 zonder gezondheid"], capsys, monkeypatch, PASSWORD)
    assert code == 0 and "concept versie 2 gemaakt" in out
    assert _gateway(["submit", "2", "--user", "po-a", "--password-stdin"], capsys, monkeypatch, PASSWORD)[0] == 0

    code, out = _gateway(["approve", "2", "--user", "po-a", "--password-stdin"], capsys, monkeypatch, PASSWORD)
    assert code == 1 and "Vier ogen" in out
    code, out = _gateway(["approve", "2", "--user", "po-b", "--password-stdin"], capsys, monkeypatch, "fout\n")
    assert code == 1 and "wachtwoord klopt niet" in out
    code, out = _gateway(["approve", "2", "--user", "po-b", "--password-stdin"], capsys, monkeypatch, PASSWORD)
    assert code == 0 and "versie 2 goedgekeurd en actief" in out

    code, out = _gateway(["show", "2"], capsys, monkeypatch)
    assert "actief" in out and "handtekening: geldig" in out
    new_hash = next(line.removeprefix("hash: ") for line in out.splitlines() if line.startswith("hash: "))
    assert new_hash != old_hash

    # The running gateway was not told: it finds the new version by polling (every 0.2 s in this test).
    for _ in range(100):
        if app.state.exchange.policy.bundle_hash == new_hash:
            break
        await asyncio.sleep(0.1)
    response = await push_f9(app, settings)
    assert response.status_code == 201, response.text
    assert logged_exchange(app, response.json()["exchange_id"])["decision"]["bundle_hash"] == new_hash
    assert health_treatments(response) == {"drop"}

    code, out = _gateway(["rollback", "1", "--user", "po-a", "--password-stdin"], capsys, monkeypatch, PASSWORD)
    assert code == 0 and "versie 3 (terug naar 1)" in out
    code, out = _gateway(["reject", "3", "--user", "po-b", "--password-stdin", "--reason",
                          "versie 1 geeft gezondheid door"], capsys, monkeypatch, PASSWORD)
    assert code == 0
    code, out = _gateway(["versions"], capsys, monkeypatch)
    assert [line.split()[:2] for line in out.splitlines()] == [["3", "afgewezen"], ["2", "actief"],
                                                                ["1", "vervangen"]]


async def test_one_person_cannot_author_as_a_colleague_and_approve_as_themselves(
        app: FastAPI, settings: Settings, tmp_path: Path, cli_env: None, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """po-b knows only their own password: every change in po-a's name is refused, and nothing changes."""
    add_user(app, "po-a", ["privacy_officer"], password="po-a's own secret passphrase")
    add_user(app, "po-b", ["privacy_officer"])
    add_user(app, "dpo-c", ["dpo"])
    candidate = _candidate(settings, tmp_path)
    for args in (["propose", str(candidate), "--user", "po-a", "--password-stdin"],
                 ["rollback", "1", "--user", "po-a", "--password-stdin"]):
        code, out = _gateway(args, capsys, monkeypatch, PASSWORD)  # po-b's password, not po-a's
        assert code == 1 and "wachtwoord klopt niet" in out, out
    code, out = _gateway(["versions"], capsys, monkeypatch)
    assert [line.split()[:2] for line in out.splitlines()] == [["1", "actief"]]

    # A draft po-b made cannot be submitted, or a submitted version rejected, in someone else's name either.
    code, out = _gateway(["propose", str(candidate), "--user", "po-b", "--password-stdin"], capsys, monkeypatch,
                         PASSWORD)
    assert code == 0 and "concept versie 2 gemaakt" in out
    code, out = _gateway(["submit", "2", "--user", "po-a", "--password-stdin"], capsys, monkeypatch, "")
    assert code == 1 and "wachtwoord klopt niet" in out
    assert _gateway(["submit", "2", "--user", "po-b", "--password-stdin"], capsys, monkeypatch, PASSWORD)[0] == 0
    code, out = _gateway(["reject", "2", "--user", "po-a", "--password-stdin", "--reason", "nee"], capsys,
                         monkeypatch, PASSWORD)
    assert code == 1 and "wachtwoord klopt niet" in out
    # The right password of an account without the privacy-officer role does not do either.
    code, out = _gateway(["reject", "2", "--user", "dpo-c", "--password-stdin", "--reason", "nee"], capsys,
                         monkeypatch, PASSWORD)
    assert code == 1 and "geen actieve privacy officer" in out
    code, out = _gateway(["versions"], capsys, monkeypatch)
    assert [line.split()[:2] for line in out.splitlines()] == [["2", "ter"], ["1", "actief"]]
    with Session(app.state.db) as session:
        failed = audit.search(session, action="reauth_failed").entries
    assert sorted(e.actor for e in failed) == ["dpo-c", "po-a", "po-a", "po-a", "po-a"]
