"""Generate the canonical → native field table of docs/adapters.md from the mappings themselves.

`python -m adapters.doctable` prints it: a row per canonical leaf, a column per partner. Each canonical leaf
gets a unique marker value; the marker dossier is encoded with each partner's mapping and every marker is
looked up in the native output, so the table shows where a field really lands (codecs pass unknown values
through, so a marker survives every code list). tests/adapters/test_docs.py keeps the document in step.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from adapters.gi import adapter as gi
from adapters.mapping import Json
from adapters.research.records import flatten
from adapters.rvdk import adapter as rvdk
from adapters.veilig_thuis import adapter as veilig_thuis
from adapters.wijkteam import adapter as wijkteam
from gateway.dossier.fields import field_catalogue

# The research format has no place for these: its adapter refuses a dossier that still holds one.
RESEARCH_REFUSED = ("persons[].given_names", "persons[].surname_prefix", "persons[].surname", "persons[].phone",
                    "persons[].email", "household.address.street", "household.address.house_number")
_QUALIFIERS = ("rol", "type")  # a constant key that tells list items apart in a native list


def _research_native(dossier: Json) -> Json:
    return {"records": flatten(dossier)[0]}


ENCODERS: dict[str, Callable[[Json], Json]] = {
    "veilig_thuis": veilig_thuis.dossier_to_native,
    "rvdk": rvdk.dossier_to_native,
    "gi": gi.dossier_to_native,
    "wijkteam": wijkteam.dossier_to_native,  # the JSON content of the zaak's document
    "research": _research_native,
}


def _set(doc: Json, schema_path: str, value: str) -> None:
    node = doc
    *parents, last = schema_path.split(".")
    for part in parents:
        if part.endswith("[]"):
            items = node.setdefault(part[:-2], [{}])
            node = items[0]
        else:
            node = node.setdefault(part, {})
    node[last] = value


def marker_dossier(skip: tuple[str, ...] = ()) -> tuple[Json, dict[str, str]]:
    """A dossier with every canonical leaf set to its own marker, and marker → schema path."""
    dossier: Json = {}
    markers: dict[str, str] = {}
    for number, path in enumerate(field_catalogue()):
        if path in skip:
            continue
        marker = f"__m{number}__"
        markers[marker] = path
        _set(dossier, path, marker)
    return dossier, markers


def _qualified(item: Mapping[str, Any]) -> str:
    for key in _QUALIFIERS:
        value = item.get(key)
        if isinstance(value, str) and not value.startswith("__m"):
            return f"[{key}={value}]"
    return "[]"


def native_paths(node: Any, prefix: str = "") -> dict[str, str]:
    """Marker → the native path it was found at."""
    found: dict[str, str] = {}
    if isinstance(node, Mapping):
        if node.get("type") == "Gegeneraliseerd":  # the RvdK's incomplete-date object: the object is the field
            return {node["waarde"]: prefix} if str(node.get("waarde")).startswith("__m") else {}
        for key, value in node.items():
            found |= native_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for item in node:
            segment = _qualified(item) if isinstance(item, Mapping) else "[]"
            found |= native_paths(item, prefix + segment)
    elif isinstance(node, str) and node.startswith("__m"):
        found[node] = prefix
    return found


def located_paths(partner: str) -> dict[str, str]:
    """Canonical schema path → native path for one partner ("—" where the format has no place)."""
    skip = RESEARCH_REFUSED if partner == "research" else ()
    dossier, markers = marker_dossier(skip)
    located = native_paths(ENCODERS[partner](dossier))
    found = {path: f"`{located.get(marker, '?')}`" for marker, path in markers.items()}
    return found | dict.fromkeys(skip, "— (refused: direct identifier)")


def table() -> str:
    """One markdown table: a row per canonical leaf, a column per partner."""
    columns = {partner: located_paths(partner) for partner in ENCODERS}
    rows = ["| canonical field | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    rows += [f"| `{path}` | " + " | ".join(column[path] for column in columns.values()) + " |"
             for path in field_catalogue()]
    return "\n".join(rows)


def main() -> None:
    sys.stdout.write(table() + "\n")


if __name__ == "__main__":
    main()
