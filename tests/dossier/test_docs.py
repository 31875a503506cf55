from __future__ import annotations

from gateway.core.settings import REPO_ROOT
from gateway.dossier.fields import field_catalogue


def test_dossier_model_doc_lists_every_field_with_its_category() -> None:
    doc = (REPO_ROOT / "docs" / "dossier-model.md").read_text(encoding="utf-8")
    for path, label in field_catalogue().items():
        assert f"| `{path}` | {label.category} |" in doc, path
