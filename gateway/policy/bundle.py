"""Load the policy bundle from `policies/`: Rego modules plus the YAML tables privacy officers edit.

Layout: `policies/<package path>/<name>.rego` (package path matches folder), `<name>_test.rego` beside each
policy, and `policies/data/<table>.yaml`, loaded as `data.gateway.tables.<table>`. The bundle hash covers
every file so a log record can name exactly the policy it was decided under.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
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


POLICY_SUFFIXES = (".rego", ".yaml", ".yml")


def read_bundle_files(policies_dir: Path) -> dict[str, str]:
    """Every policy file of a folder (Rego and YAML tables; READMEs are not part of a version), by relative path."""
    if not policies_dir.is_dir():
        raise FileNotFoundError("policies directory not found")
    return {path.relative_to(policies_dir).as_posix(): path.read_bytes().decode("utf-8")
            for path in sorted(p for p in policies_dir.rglob("*") if p.is_file())
            if path.suffix in POLICY_SUFFIXES}


def bundle_hash(files: Mapping[str, str]) -> str:
    """The content hash of a version: every file's path and SHA-256, in path order."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(files[rel].encode("utf-8")).digest())
    return f"sha256:{digest.hexdigest()}"


def bundle_from_files(files: Mapping[str, str]) -> PolicyBundle:
    """A bundle from file contents (a folder on disk or a stored policy version); raises ValueError on bad YAML."""
    modules: dict[str, str] = {}
    tests: dict[str, str] = {}
    tables: dict[str, Any] = {}
    for rel in sorted(files):
        text = files[rel]
        if rel.endswith(".rego"):
            (tests if rel.removesuffix(".rego").endswith("_test") else modules)[rel] = text
        elif rel.startswith("data/") and rel.endswith((".yaml", ".yml")):
            try:
                tables[PurePosixPath(rel).stem] = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ValueError(f"{rel}: not valid YAML") from exc
    return PolicyBundle(modules=modules, test_modules=tests, data={"gateway": {"tables": tables}},
                        hash=bundle_hash(files), files=sorted(files))


def load_bundle(policies_dir: Path) -> PolicyBundle:
    return bundle_from_files(read_bundle_files(policies_dir))
