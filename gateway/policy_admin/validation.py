"""Validate a version's files before they are stored, with messages a privacy officer can act on (Dutch)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from gateway.core.errors import InvalidParam
from gateway.policy.tables import Tables

_MESSAGES = {
    "missing": "ontbreekt",
    "extra_forbidden": "is geen bekend veld (tikfout?)",
    "string_too_short": "is te kort",
    "too_short": "mag niet leeg zijn",
    "string_pattern_mismatch": "heeft niet de vereiste vorm",
    "string_type": "moet tekst zijn",
    "bool_type": "moet true of false zijn",
    "bool_parsing": "moet true of false zijn",
    "int_type": "moet een geheel getal zijn",
    "int_parsing": "moet een geheel getal zijn",
    "greater_than_equal": "is te klein",
    "list_type": "moet een lijst zijn",
    "dict_type": "moet een tabel (sleutel: waarde) zijn",
    "model_type": "moet een tabel (sleutel: waarde) zijn",
    "model_attributes_type": "moet een tabel (sleutel: waarde) zijn",
}


def _message(error: Any) -> str:
    kind = str(error.get("type", ""))
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"moet een van deze waarden zijn: {expected}".replace("'", "")
    return _MESSAGES.get(kind, f"is ongeldig ({error.get('msg', '')})")


def yaml_problems(files: Mapping[str, str]) -> list[InvalidParam]:
    problems: list[InvalidParam] = []
    for rel, text in sorted(files.items()):
        if not rel.endswith((".yaml", ".yml")):
            continue
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (regel {mark.line + 1}, kolom {mark.column + 1})" if mark is not None else ""
            problems.append(InvalidParam(rel, f"Geen geldige YAML{where}: controleer inspringing en dubbele punten.",
                                         "yaml"))
    return problems


def table_problems(tables: Mapping[str, Any]) -> list[InvalidParam]:
    """The schema of every table, each problem named by file and place in the table."""
    try:
        Tables.model_validate(tables)
    except ValidationError as exc:
        out: list[InvalidParam] = []
        for error in exc.errors():
            loc = [str(p) for p in error["loc"]]
            file = f"data/{loc[0]}.yaml" if loc else "data"
            place = " → ".join(loc[1:]) or "de hele tabel"
            out.append(InvalidParam(file, f"{place}: {_message(error)}", "schema"))
        return out
    return []
