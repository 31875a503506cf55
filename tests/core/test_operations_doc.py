"""docs/operations.md stays true to the code: its commands exist, its key-rotation recipe works."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.core.settings import REPO_ROOT
from gateway.pseudonymise.keyring import KeyRing, generate_keyring_json
from gateway.pseudonymise.pseudonyms import LOG_DOMAIN, Pseudonymiser

DOC = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def _code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.DOTALL)


def _gateway_commands() -> list[list[str]]:
    """Every `gateway <subcommand> …` line in the doc's shell blocks, as the words up to the first option."""
    commands = []
    for block in _code_blocks("sh"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True) if line.strip().startswith("gateway ") else []
            if words:
                commands.append([w for w in words[1:3] if not w.startswith(("-", "<", "$"))])
    return commands


def test_the_doc_names_gateway_commands() -> None:
    assert ["log", "verify"] in _gateway_commands()
    assert ["deliveries", "retry"] in _gateway_commands()


@pytest.mark.parametrize("words", _gateway_commands(), ids=" ".join)
def test_every_gateway_command_in_the_doc_exists(words: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "gateway.cli", *words, "--help"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def test_the_documented_pseudonym_key_rotation_prepends_a_key_and_keeps_the_old_ones(tmp_path: Path) -> None:
    recipe = next(b for b in _code_blocks("sh") if "pseudonym-keyring.json" in b and "insert(0" in b)
    script = recipe.split("<<'PY'\n", 1)[1].split("\nPY", 1)[0]
    ring_file = tmp_path / "pseudonym-keyring.json"
    ring_file.write_text(generate_keyring_json())
    before = KeyRing.from_json(ring_file.read_text())
    old_pseudonym = Pseudonymiser(before).pseudonym("bsn:111222333", LOG_DOMAIN)

    subprocess.run([sys.executable, "-", str(ring_file)], input=script, text=True, check=True, timeout=60)

    after = KeyRing.from_json(ring_file.read_text())
    assert after.kids[1:] == before.kids and after.active.kid not in before.kids
    pseudonymiser = Pseudonymiser(after)
    assert pseudonymiser.pseudonym("bsn:111222333", LOG_DOMAIN) != old_pseudonym  # new pseudonyms differ
    assert old_pseudonym in pseudonymiser.pseudonyms_all_keys("bsn:111222333", LOG_DOMAIN)  # old ones still found
