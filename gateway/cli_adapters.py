"""`gateway adapters check [FILE...]`: validate partner mapping files (YAML) before they are deployed.

  gateway adapters check                      every mapping shipped in adapters/*/mapping.yaml
  gateway adapters check my-partner.yaml      the given files

Each file is checked against the mapping schema and the canonical gezinsdossier model (adapters/mapping_spec.py):
the output names the file and the path of every bad entry. Exit status 0 when all files are valid, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.core.settings import REPO_ROOT, Settings


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def add_parser(sub: Any) -> None:
    adapters = sub.add_parser("adapters", help="partner adapters: validate mapping files",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = adapters.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="validate YAML mapping files (default: all shipped ones)")
    check.add_argument("files", nargs="*", type=Path, metavar="FILE")


def shipped_mappings() -> list[Path]:
    return sorted((REPO_ROOT / "adapters").glob("*/mapping.yaml"))


def run(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.mapping_spec import MappingFileError, load_mapping

    files: list[Path] = args.files or shipped_mappings()
    failed = 0
    for path in files:
        try:
            spec = load_mapping(path)
        except MappingFileError as exc:
            failed += 1
            _out(f"FAIL {path}")
            for where, what in exc.problems:
                _out(f"  {path}: {where or '(file)'}: {what}")
            continue
        _out(f"ok   {path} (partner {spec.partner})")
    _out(f"{len(files) - failed} of {len(files)} mapping file(s) valid")
    return 1 if failed or not files else 0
