"""Render the inzage report: as a page inside the web UI, or as one self-contained HTML file (command line,
download) whose print styles travel with it. The BSN is checked and turned into pseudonyms here, never kept."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.dossier.bsn import is_valid_bsn
from gateway.inzage.report import InvalidBsnInput, InzageReport, Labels
from gateway.policy_admin.reload import active_tables
from gateway.registry.organisations import OrganisationRegistry

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = Path(__file__).parent / "report.css"
_SEPARATORS = re.compile(r"[\s.\-]")


def normalise_bsn(value: str) -> str:
    """Digits only (people type spaces, dots or dashes); refuse anything that fails the 11-proef."""
    bsn = _SEPARATORS.sub("", value or "")
    if len(bsn) == 8 and bsn.isdigit():
        bsn = "0" + bsn  # older BSNs are sometimes written without the leading zero
    if not is_valid_bsn(bsn):
        raise InvalidBsnInput("not a valid BSN")
    return bsn


def labels_for(tables: Mapping[str, Any], registry: OrganisationRegistry) -> Labels:
    """Labels from policy tables: those of the active, verified version (`labels_of`, or the command line's read of
    the database), never the bundle on disk."""
    return Labels.from_tables(tables, registry)


def labels_of(state: Any) -> Labels:
    """The labels for a request: the active policy version's tables as this replica follows them."""
    return labels_for(active_tables(state), state.exchange.registry)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                       trim_blocks=True, lstrip_blocks=True)


def render_document(report: InzageReport) -> str:
    """The report as one HTML file with its own styles (no scripts, no external resources)."""
    template = _environment().get_template("inzage/report_document.html")
    return template.render(report=report, stylesheet=STYLESHEET.read_text(encoding="utf-8"))
