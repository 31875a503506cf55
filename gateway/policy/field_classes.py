"""Decide per field class, not per concrete path.

A policy input lists every concrete field of a dossier (`persons[1].name`, `persons[2].name`, …). The reviewed
decision module treats a field by its class only: what it reads of a field is `field` (the schema path),
`category`, `identifier` and whether `subject_role == "melder"`; the concrete `path` is only the key of the
field's entry in the output. The number of fields of a class matters nowhere: the module counts fields only to
see whether every field got an entry (`_complete`: a per-class property) and whether there are none at all
(`_released_categories`), and its other uses of the field list are existence tests (`_identifying_data_present`)
and sets (`_field_categories`, `_released_by_field`), which one representative per class preserves.

Of the parties it reads only their `type`, and it never reads `professional_role`: the evaluated input leaves
the organisations' ids and the professional's role out, so a decision (and its cache entry, `decisions.py`)
serves every pair of organisations of the same types.

So one representative per class is evaluated, under a synthetic path (the class index), and the decision's
field entries are expanded back to every concrete path of the class, in the order the engines give them (by
path). That argument holds for a reviewed module only: a policy version with any other Rego is evaluated
as given (and not cached, see `decisions.py`) until someone has checked the argument for it and added its
digest to `REVIEWED_DECISION_MODULES` (tests/policy/test_field_classes.py fails until then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.policy.bundle import bundle_hash

# Digests (`modules_digest`) of the decision modules checked to decide per field class as described above.
REVIEWED_DECISION_MODULES: frozenset[str] = frozenset({
    "sha256:f8be054dac55c941a9a0b05170050439342c7bc71f48508f7c299b9f3a1b2f2e",  # decision.rego of 2026-11-22
})

_REPORTER_ROLE = "melder"
_UNREAD = frozenset({"professional_role"})  # input keys the reviewed module does not read


def modules_digest(modules: Mapping[str, str]) -> str:
    """The digest of a version's Rego modules (tests excluded), computed as a version's content hash is."""
    return bundle_hash(modules)


def reviewed(modules: Mapping[str, str]) -> bool:
    return modules_digest(modules) in REVIEWED_DECISION_MODULES


@dataclass(frozen=True, slots=True)
class Compacted:
    """The fields to evaluate (one per class) and how to expand the answer's fields again. Shared by every
    input with the same fields, so read-only."""

    fields: list[dict[str, Any]]
    fields_json: bytes  # `fields` in canonical JSON (sorted keys), for the cache key
    pairs: list[tuple[str, str]]  # (concrete path, synthetic path of its class), sorted by concrete path
    classes: int

    def policy_input(self, policy_input: dict[str, Any]) -> dict[str, Any]:
        """What the reviewed module is given: one field per class, the parties by type, no professional role."""
        narrowed = {k: v for k, v in policy_input.items() if k not in _UNREAD}
        for party in ("sender", "recipient"):
            value = policy_input.get(party)
            if isinstance(value, dict) and "type" in value:
                narrowed[party] = {"type": value["type"]}
        narrowed["fields"] = self.fields
        return narrowed

    def expand(self, by_class: Mapping[str, Any]) -> dict[str, Any]:
        """Every concrete path with its class's entry; a class without an entry leaves its paths out."""
        if len(by_class) == self.classes:  # the usual case: every class has an entry (keys are checked)
            return {path: by_class[synthetic] for path, synthetic in self.pairs}
        return {path: by_class[synthetic] for path, synthetic in self.pairs if synthetic in by_class}

    def synthetic_paths(self) -> set[str]:
        return {str(i) for i in range(self.classes)}


def compact(fields: Any) -> Compacted | None:
    """One field per class of an input's `fields`, or None when they are not of the shape the argument covers.

    The shape is what `DossierField.as_policy_input` builds: exactly `path`, `field`, `category`,
    `identifier` and optionally `subject_role`, with string and boolean values and unique paths. Anything
    else (malformed or unusual input) is evaluated as given, which is always correct.
    """
    if type(fields) is not list:
        return None
    index: dict[tuple[str, str, bool, bool], str] = {}
    classes: list[dict[str, Any]] = []
    pairs: list[tuple[str, str]] = []
    try:
        for item in fields:
            path, name, category, identifier = item["path"], item["field"], item["category"], item["identifier"]
            role = item.get("subject_role")
            if not (type(path) is str and type(name) is str and type(category) is str
                    and type(identifier) is bool and (role is None or type(role) is str)
                    and len(item) == (4 if role is None else 5)):
                return None
            # The module reads the role only as `subject_role == "melder"`: other roles are one class.
            key = (name, category, identifier, role == _REPORTER_ROLE)
            synthetic = index.get(key)
            if synthetic is None:
                synthetic = index[key] = str(len(classes))
                entry = {"path": synthetic, "field": name, "category": category, "identifier": identifier}
                if role == _REPORTER_ROLE:
                    entry["subject_role"] = _REPORTER_ROLE
                classes.append(entry)
            pairs.append((path, synthetic))
    except (KeyError, TypeError):  # an entry that is not an object or lacks a key
        return None
    if len(dict(pairs)) != len(pairs):
        return None  # a path twice: the uncompacted evaluation decides what that means
    pairs.sort()
    return Compacted(fields=classes, fields_json=orjson.dumps(classes, option=orjson.OPT_SORT_KEYS), pairs=pairs,
                     classes=len(classes))
