"""A small declarative mapping toolkit: canonical dossier parts ⇄ a partner's native JSON.

A `Record` is a list of parts. A `leaf`/`nested` part moves one canonical key to a (dotted) native path,
converting the value with a `Codec`; a `Custom` part hands a whole value to partner-specific code when the
native shape differs more than a rename (e.g. a list split by role). Encoding is strict: a canonical key
that no part maps raises `UnmappedFieldError`, so a new canonical field can never be dropped silently on its
way to a partner. Decoding is lenient: native systems hold more than the canonical model, and extra native
keys are ignored.

Values the gateway minimised must survive untouched: codecs only rewrite values they recognise (an ISO date,
a known code) and pass anything else — a pseudonym, a year, an age band — through unchanged.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


class UnmappedFieldError(ValueError):
    """A canonical key without a place in the native format. Carries the key name only, never its value."""


@dataclass(frozen=True)
class Codec:
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


PLAIN = Codec(_same, _same)


def code_list(pairs: Mapping[str, str]) -> Codec:
    """Canonical code → native code. Unknown values pass through, so nothing is invented or lost."""
    forward = dict(pairs)
    backward = {native: canonical for canonical, native in pairs.items()}
    if len(backward) != len(forward):
        raise ValueError("code list is not one-to-one")
    return Codec(lambda v: forward.get(v, v) if isinstance(v, str) else v,
                 lambda v: backward.get(v, v) if isinstance(v, str) else v)


def iso_if_date(value: Any) -> Any:
    """A `date` object (a dossier dumped in python mode) as its ISO string; anything else unchanged."""
    return value.isoformat() if isinstance(value, dt.date) else value


def _regex_swap(pattern: str, template: str) -> Callable[[Any], Any]:
    compiled = re.compile(pattern)

    def swap(value: Any) -> Any:
        value = iso_if_date(value)
        if isinstance(value, str) and (match := compiled.fullmatch(value)):
            return template.format(*match.groups())
        return value  # a generalised date ("2015", "0-4") stays as it is

    return swap


_ISO = r"(\d{4})-(\d{2})-(\d{2})"
DATE_DMY = Codec(_regex_swap(_ISO, "{2}-{1}-{0}"), _regex_swap(r"(\d{2})-(\d{2})-(\d{4})", "{2}-{1}-{0}"))
DATE_COMPACT = Codec(_regex_swap(_ISO, "{0}{1}{2}"), _regex_swap(r"(\d{4})(\d{2})(\d{2})", "{0}-{1}-{2}"))


def _yes_no(value: Any) -> Any:
    return {True: "J", False: "N"}.get(value, value) if isinstance(value, bool) else value


def _from_yes_no(value: Any) -> Any:
    return {"J": True, "N": False}.get(value, value) if isinstance(value, str) else value


YES_NO = Codec(_yes_no, _from_yes_no)

# Sex as most Dutch registers write it; "X" for "anders" because "O" already means onbekend.
SEX_MVO = code_list({"man": "M", "vrouw": "V", "onbekend": "O", "anders": "X"})


_SELECTOR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[([A-Za-z_][A-Za-z0-9_]*)=([^\]]+)\]$")


@functools.lru_cache(maxsize=4096)  # paths come from the mappings (a bounded set); parsed once each
def _segments(path: str) -> tuple[tuple[str, tuple[str, str] | None], ...]:
    """`a.b[rol=pleger].c` → (("a", None), ("b", ("rol", "pleger")), ("c", None)).

    A `name[key=value]` segment is the item of list `name` whose `key` holds the constant `value`: how a native
    format tells list items apart by a constant instead of by position (VT's directbetrokkenen by `rol`).
    """
    out: list[tuple[str, tuple[str, str] | None]] = []
    for segment in path.split("."):
        match = _SELECTOR.match(segment)
        out.append((match.group(1), (match.group(2), match.group(3))) if match else (segment, None))
    return tuple(out)


def get_dotted(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for key, selector in _segments(path):
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
        if selector is not None:
            items = node if isinstance(node, list) else []
            node = next((item for item in items
                         if isinstance(item, Mapping) and item.get(selector[0]) == selector[1]), None)
    return node


def set_dotted(doc: Json, path: str, value: Any) -> None:
    *parents, (last, last_selector) = _segments(path)
    if last_selector is not None:
        raise ValueError("a path cannot end in a list selector")
    node = doc
    for key, selector in parents:
        if selector is None:
            node = node.setdefault(key, {})
            continue
        items: list[Json] = node.setdefault(key, [])
        found = next((item for item in items if item.get(selector[0]) == selector[1]), None)
        if found is None:
            found = {selector[0]: selector[1]}
            items.append(found)
        node = found
    node[last] = value


class MissingFieldError(ValueError):
    """A field the native format requires is absent. Carries the field name only, never a value."""


@dataclass(frozen=True)
class Field:
    """One canonical key at a native (dotted) path; `record` maps a nested object or a list of them."""

    canonical: str
    native: str
    codec: Codec = PLAIN
    record: Record | None = None
    required: bool = False

    def put(self, value: Any, native: Json) -> None:
        if self.record is not None:
            value = self.record.encode_value(value)
        set_dotted(native, self.native, self.codec.encode(value))

    def take(self, native: Mapping[str, Any]) -> Any:
        value = self.codec.decode(get_dotted(native, self.native))
        if value is None and self.required:
            raise MissingFieldError(self.canonical)
        if value is not None and self.record is not None:
            value = self.record.decode_value(value)
        return value


@dataclass(frozen=True)
class Custom:
    """A canonical key whose native form is built by partner code (it may write several native keys)."""

    canonical: str
    put: Callable[[Any, Json], None]
    take: Callable[[Mapping[str, Any]], Any]


Part = Field | Custom


def leaf(canonical: str, native: str, codec: Codec = PLAIN) -> Field:
    return Field(canonical, native, codec)


def nested(canonical: str, native: str, record: Record) -> Field:
    return Field(canonical, native, record=record)


class Record:
    """Parts, plus `constants`: native paths every encoded object carries (e.g. a ZGW `betrokkeneType`)."""

    def __init__(self, *parts: Part, constants: Mapping[str, Any] | None = None) -> None:
        self.parts = parts
        self.constants = dict(constants or {})
        self._by_key = {part.canonical: part for part in parts}
        if len(self._by_key) != len(parts):
            raise ValueError("a canonical key is mapped twice")

    def encode(self, canonical: Mapping[str, Any]) -> Json:
        out: Json = {}
        for path, constant in self.constants.items():
            set_dotted(out, path, constant)
        for key, value in canonical.items():
            part = self._by_key.get(key)
            if part is None:
                raise UnmappedFieldError(key)
            if value is not None:
                part.put(value, out)
        for part in self.parts:
            if isinstance(part, Field) and part.required and canonical.get(part.canonical) is None:
                raise MissingFieldError(part.canonical)
        return out

    def decode(self, native: Mapping[str, Any]) -> Json:
        out: Json = {}
        for part in self.parts:
            value = part.take(native)
            if value is not None:
                out[part.canonical] = value
        return out

    def encode_value(self, value: Any) -> Any:
        """An object, or a list of objects."""
        if isinstance(value, list):
            return [self.encode(item) for item in value]
        return self.encode(value)

    def decode_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(item) for item in value]
        if not isinstance(value, Mapping):
            raise TypeError("native value is not an object")
        return self.decode(value)
