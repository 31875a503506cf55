"""docs/adapters.md shows where each canonical field lands; the table must match the mappings."""

from __future__ import annotations

from pathlib import Path

from adapters.doctable import ENCODERS, located_paths, table
from adapters.registry import ADAPTER_NAMES
from gateway.dossier.fields import field_catalogue

DOC = Path(__file__).resolve().parents[2] / "docs" / "adapters.md"


def test_mapping_table_in_docs_is_current() -> None:
    assert table() in DOC.read_text(encoding="utf-8"), "run `python -m adapters.doctable` and update the doc"


def test_every_partner_places_every_field() -> None:
    assert set(ENCODERS) == set(ADAPTER_NAMES)
    for partner in ENCODERS:
        paths = located_paths(partner)
        assert set(paths) == set(field_catalogue())
        assert "`?`" not in paths.values(), partner
