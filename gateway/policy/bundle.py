"""Load the policy bundle from `policies/`: Rego modules plus the YAML tables privacy officers edit.

Layout: `policies/<package path>/<name>.rego` (package path matches folder), `<name>_test.rego` beside each
policy, and `policies/data/<table>.yaml`, loaded as `data.gateway.tables.<table>`. The bundle hash covers
every file so a log record can name exactly the policy it was decided under.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DECISION_RULE = "data.gateway.decision.decision"


@dataclass(frozen=True)
class PolicyBundle:
    modules: dict[str, str]  # relative path → Rego source (tests excluded)
    test_modules: dict[str, str]
    data: dict[str, Any]
    hash: str
    files: list[str] = field(default_factory=list)


def load_bundle(policies_dir: Path) -> PolicyBundle:
    if not policies_dir.is_dir():
        raise FileNotFoundError("policies directory not found")
    digest = hashlib.sha256()
    modules: dict[str, str] = {}
    tests: dict[str, str] = {}
    tables: dict[str, Any] = {}
    files: list[str] = []
    for path in sorted(p for p in policies_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(policies_dir).as_posix()
        if path.suffix not in (".rego", ".yaml", ".yml"):
            continue
        content = path.read_bytes()
        files.append(rel)
        digest.update(rel.encode() + b"\0" + hashlib.sha256(content).digest())
        text = content.decode("utf-8")
        if path.suffix == ".rego":
            (tests if path.stem.endswith("_test") else modules)[rel] = text
        elif rel.startswith("data/"):
            tables[path.stem] = yaml.safe_load(text)
    return PolicyBundle(
        modules=modules,
        test_modules=tests,
        data={"gateway": {"tables": tables}},
        hash=f"sha256:{digest.hexdigest()}",
        files=files,
    )
