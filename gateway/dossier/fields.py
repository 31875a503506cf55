"""Flatten a gezinsdossier into labelled field paths, the unit the policy decides on.

A concrete path looks like `persons[1].bsn`; its schema path is `persons[].bsn`. Each leaf carries its data
category and whether it is a direct identifier, taken from the model's `x-category` / `x-identifier` labels,
with two content rules from the domain: every field of a person whose role is `melder` is `reporter` data,
and an involvement flagged `mental_health` is health data (AVG art. 9).
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from gateway.dossier.model import Gezinsdossier

_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class FieldLabel:
    category: str
    identifier: bool


@dataclass(frozen=True)
class DossierField:
    path: str
    schema_path: str
    category: str
    identifier: bool
    subject_role: str | None

    def as_policy_input(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "path": self.path,
            "field": self.schema_path,
            "category": self.category,
            "identifier": self.identifier,
        }
        if self.subject_role:
            entry["subject_role"] = self.subject_role
        return entry


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Strip Optional/Annotated; say whether the remaining type is a list."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _unwrap(args[0])
    if origin is list:
        inner, _ = _unwrap(get_args(annotation)[0])
        return inner, True
    if hasattr(annotation, "__metadata__"):
        return _unwrap(get_args(annotation)[0])
    return annotation, False


def _collect(model: type[BaseModel], prefix: str, out: dict[str, FieldLabel]) -> None:
    for name, info in model.model_fields.items():
        inner, is_list = _unwrap(info.annotation)
        path = f"{prefix}{name}"
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            _collect(inner, f"{path}[]." if is_list else f"{path}.", out)
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        category = extra.get("x-category")
        if not isinstance(category, str):
            raise TypeError(f"dossier field {path} has no x-category label")
        out[path] = FieldLabel(category=category, identifier=bool(extra.get("x-identifier", False)))


@lru_cache(maxsize=1)
def field_catalogue() -> dict[str, FieldLabel]:
    """Every leaf schema path of the canonical model with its label."""
    out: dict[str, FieldLabel] = {}
    _collect(Gezinsdossier, "", out)
    return out


def schema_path_of(path: str) -> str:
    return _INDEX.sub("[]", path)


def _leaves(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for key, sub in value.items():
            out.extend(_leaves(sub, f"{path}.{key}" if path else key))
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        out = []
        for i, sub in enumerate(value):
            out.extend(_leaves(sub, f"{path}[{i}]"))
        return out
    return [(path, value)]


def flatten(dossier: dict[str, Any]) -> list[DossierField]:
    """Label every present leaf of a dossier (as dumped with exclude_none) with its category."""
    catalogue = field_catalogue()
    persons = dossier.get("persons") or []
    involvements = dossier.get("involvements") or []
    fields: list[DossierField] = []
    for path, _value in _leaves(dossier, ""):
        schema_path = schema_path_of(path)
        label = catalogue.get(schema_path)
        if label is None:
            continue  # not part of the canonical model; validation has already refused such input
        category, role = label.category, None
        index = _first_index(path)
        if schema_path.startswith("persons[].") and index is not None and index < len(persons):
            role = str(persons[index].get("role"))
            if role == "melder" and category != "structure":
                category = "reporter"
        if (schema_path.startswith("involvements[].") and index is not None and index < len(involvements)
                and involvements[index].get("mental_health") is True):
            category = "health"
        fields.append(DossierField(path, schema_path, category, label.identifier, role))
    return fields


def _first_index(path: str) -> int | None:
    match = _INDEX.search(path)
    return int(match.group(0)[1:-1]) if match else None


_TOKEN = re.compile(r"([A-Za-z_]+)(?:\[(\d+)\])?")


@lru_cache(maxsize=8192)
def _tokens(path: str) -> tuple[str | int, ...]:
    out: list[str | int] = []
    for part in path.split("."):
        match = _TOKEN.fullmatch(part)
        if match is None:
            raise ValueError("malformed field path")
        out.append(match.group(1))
        if match.group(2) is not None:
            out.append(int(match.group(2)))
    return tuple(out)


def get_path(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for token in _tokens(path):
        node = node[token]
    return node


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    tokens = _tokens(path)
    node: Any = doc
    for token in tokens[:-1]:
        node = node[token]
    node[tokens[-1]] = value


def delete_path(doc: dict[str, Any], path: str) -> None:
    tokens = _tokens(path)
    node: Any = doc
    for token in tokens[:-1]:
        node = node[token]
    last = tokens[-1]
    if isinstance(node, dict):
        node.pop(last, None)
