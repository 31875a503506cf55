"""`gateway policy …` as a privacy officer runs it, over a log written by real exchanges."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.cli import main as cli_main
from gateway.core.settings import REPO_ROOT, Settings, get_settings
from tests.support import WIJKTEAM, melding_request, token_for


def _candidate(tmp_path: Path) -> Path:
    policies = tmp_path / "candidate"
    shutil.copytree(REPO_ROOT / "policies", policies)
    flows_file = policies / "data" / "flows.yaml"
    flows = yaml.safe_load(flows_file.read_text())
    flows["F2"]["categories"]["health"]["treatment"] = "drop"
    flows_file.write_text(yaml.safe_dump(flows, allow_unicode=True, sort_keys=False))
    return policies


async def test_tighten_a_flow_then_diff_and_whatif_show_the_effect(
        client: httpx.AsyncClient, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    headers = {"Authorization": f"Bearer {await token_for(client, settings, WIJKTEAM)}"}
    for _ in range(2):
        assert (await client.post("/v1/exchanges/push", json=melding_request(), headers=headers)).status_code == 201
    candidate = _candidate(tmp_path)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        assert cli_main(["policy", "check", "--policies", str(candidate)]) == 0
        assert cli_main(["policy", "diff", str(REPO_ROOT / "policies"), str(candidate)]) == 0
        diff = capsys.readouterr().out
        assert "categorie health" in diff and "1 wijziging(en)" in diff
        assert cli_main(["policy", "whatif", "--policies", str(candidate)]) == 0
        whatif = capsys.readouterr().out
        assert "2 uitwisseling(en) opnieuw beslist; 2 zouden veranderen" in whatif
        assert "F2: health[].description: pass → drop: 2×" in whatif
        assert cli_main(["policy", "whatif", "--policies", str(candidate), "--until", "2000-01-01"]) == 0
        assert "0 uitwisseling(en) opnieuw beslist" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_policy_test_and_explain_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["policy", "test"]) == 0
    assert " passed, 0 failed" in capsys.readouterr().out
    assert cli_main(["policy", "explain", str(REPO_ROOT / "examples" / "melding-f2.json"),
                     "--as", "wijkteam-utrecht-west"]) == 0
    assert "Gegevensstroom: F2" in capsys.readouterr().out
