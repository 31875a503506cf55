"""Apply a decision's per-field treatments to a canonical dossier (a JSON dict).

Deny by default: a field the decision does not mention is dropped, and a treatment that cannot be applied
to a value (say, generalising something that is not a date) drops the field rather than passing it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.core.types import Treatment
from gateway.dossier.fields import DossierField, delete_path, get_path, set_path
from gateway.pseudonymise import generalise
from gateway.pseudonymise.pseudonyms import Pseudonymiser


@dataclass(frozen=True)
class FieldRule:
    treatment: Treatment
    method: str | None = None


@dataclass(frozen=True)
class Applied:
    path: str
    field: str
    category: str
    treatment: Treatment
    method: str | None


def _generalised(value: Any, method: str | None, today: dt.date) -> str | None:
    if method == "year":
        return generalise.birth_year(value)
    if method == "age_band":
        return generalise.age_band(value, today)
    if method == "postcode4":
        return generalise.postcode4(value)
    return None  # "municipality" and unknown methods: the field itself goes; the municipality field stays


def _transform(value: Any, rule: FieldRule, *, pseudonymiser: Pseudonymiser, recipient_domain: str,
               sender_domain: str, today: dt.date) -> Any | None:
    if rule.treatment is Treatment.PASS:
        return value
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    if rule.treatment is Treatment.PSEUDONYMISE:
        return pseudonymiser.pseudonym(str(value), recipient_domain)
    if rule.treatment is Treatment.ENCRYPT:
        return pseudonymiser.encrypt(str(value), sender_domain)
    if rule.treatment is Treatment.GENERALISE:
        return _generalised(value, rule.method, today)
    return None


def minimise(dossier: Mapping[str, Any], fields: list[DossierField], rules: Mapping[str, FieldRule], *,
             pseudonymiser: Pseudonymiser, recipient_domain: str, sender_domain: str,
             today: dt.date) -> tuple[dict[str, Any], list[Applied]]:
    out: dict[str, Any] = orjson.loads(orjson.dumps(dossier))  # a deep copy, several times faster
    applied: list[Applied] = []
    for field in fields:
        rule = rules.get(field.path, FieldRule(Treatment.DROP))
        new = None
        if rule.treatment is not Treatment.DROP:
            new = _transform(get_path(out, field.path), rule, pseudonymiser=pseudonymiser,
                             recipient_domain=recipient_domain, sender_domain=sender_domain, today=today)
        effective = rule if new is not None else FieldRule(Treatment.DROP)
        if new is None:
            delete_path(out, field.path)
        elif new is not get_path(out, field.path):
            set_path(out, field.path, new)
        applied.append(Applied(field.path, field.schema_path, field.category, effective.treatment,
                               effective.method))
    return _prune(out), applied


def _prune(value: Any) -> Any:
    """Remove objects and lists left empty by dropping, so the recipient sees no hollow shells."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            # Fully dropped elements go too (even a withheld person's existence is not disclosed); links between
            # parts of a dossier use `ref`s, never list positions, so nothing dangles.
            return [item for item in (_prune(v) for v in value) if item]
        return value
    return value
