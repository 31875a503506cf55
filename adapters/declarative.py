"""Turn a validated YAML mapping (`adapters.mapping_spec`) into a working mapping and, for REST partners, an adapter.

`PartnerMapping` holds the canonical ⇄ native dossier mapping built from a file; `rest_adapter` wires it into the
shared `RestAdapter` with the file's paths, envelope, query and receipt. Adding a plain REST partner is then a
mapping file plus a two-line `adapter.py`; a partner whose protocol differs (ZGW) reuses `PartnerMapping` for
the dossier part and brings its own small class for the calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from adapters.common import RestAdapter
from adapters.formats import boolean_codec, date_codec
from adapters.mapping import PLAIN, Codec, Custom, Field, Json, Part, Record, code_list, get_dotted, set_dotted
from adapters.mapping_spec import FieldSpec, MappingSpec, RecordSpec, RestSpec, SplitSpec, as_field, load_mapping
from gateway.relay.port import Delivery, FetchRequest


def _codec(spec: FieldSpec, mapping: MappingSpec) -> Codec:
    if spec.codes is not None:
        return code_list(mapping.codes[spec.codes] if isinstance(spec.codes, str) else spec.codes)
    if spec.date is not None:
        return date_codec(spec.date)
    if spec.boolean is not None:
        return boolean_codec(*spec.boolean)
    return PLAIN


class _Builder:
    def __init__(self, mapping: MappingSpec) -> None:
        self.mapping = mapping

    def record(self, fields: Mapping[str, FieldSpec | str], constants: Mapping[str, Any] | None = None) -> Record:
        return Record(*(self.part(name, as_field(raw)) for name, raw in fields.items()), constants=constants)

    def part(self, canonical: str, spec: FieldSpec) -> Part:
        nested: Record | None = None
        if spec.record is not None or spec.fields is not None:
            named: RecordSpec | None = self.mapping.records.get(spec.record) if spec.record else None
            fields = named.fields if named is not None else spec.fields or {}
            constants = {**(named.constants if named is not None else {}), **(spec.constants or {})}
            nested = self.record(fields, constants)
        if spec.split is not None and nested is not None:
            return _split(canonical, spec.path, spec.split, nested)
        return Field(canonical, spec.path, _codec(spec, self.mapping), nested, spec.required)


def _split(canonical: str, path: str, split: SplitSpec, record: Record) -> Custom:
    """A list whose items go to different native lists by one field's value; the field stays behind there."""

    def put(items: list[Mapping[str, Any]], native: Json) -> None:
        set_dotted(native, path, [])  # present even when empty, so an empty list survives the round trip
        for item in items:
            value = item.get(split.by)
            target = split.lists.get(value) if isinstance(value, str) else None
            if target is None:
                get_dotted(native, path).append(record.encode(item))
                continue
            encoded = record.encode({k: v for k, v in item.items() if k != split.by})
            if get_dotted(native, target) is None:
                set_dotted(native, target, [])
            get_dotted(native, target).append(encoded)

    def take(native: Mapping[str, Any]) -> list[Json] | None:
        lists = [path, *split.lists.values()]
        if all(get_dotted(native, p) is None for p in lists):
            return None
        items = [record.decode(item) for item in get_dotted(native, path) or []]
        for value, target in split.lists.items():
            items.extend({**record.decode(item), split.by: value} for item in get_dotted(native, target) or [])
        return items

    return Custom(canonical, put, take)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


class PartnerMapping:
    """One partner's canonical ⇄ native mapping, from its YAML file."""

    def __init__(self, spec: MappingSpec) -> None:
        self.spec = spec
        self.record = _Builder(spec).record(spec.dossier)
        self.unsupported = frozenset(spec.unsupported)

    def dossier_to_native(self, dossier: Mapping[str, Any]) -> Json:
        return self.record.encode(dossier)

    def native_to_dossier(self, native: Mapping[str, Any]) -> Json:
        return self.record.decode(native)

    # The REST message parts: only for a mapping with a `rest:` section.

    @property
    def rest(self) -> RestSpec:
        if self.spec.rest is None:
            raise TypeError("this mapping has no rest section")
        return self.spec.rest

    def encode_message(self, delivery: Delivery) -> Json:
        message: Json = {}
        for path, source in self.rest.envelope.items():
            set_dotted(message, path, _jsonable(getattr(delivery, source)))
        set_dotted(message, self.rest.dossier_at, self.dossier_to_native(delivery.dossier))
        return message

    def decode_message(self, message: Json) -> Json:
        dossier = get_dotted(message, self.rest.dossier_at)
        if not isinstance(dossier, Mapping):
            raise TypeError("no dossier in the answer")
        return self.native_to_dossier(dossier)

    def build_query(self, request: FetchRequest, bsns: list[str]) -> Json:
        query: Json = {}
        for path, source in self.rest.query.items():
            set_dotted(query, path, bsns if source == "bsns" else getattr(request, source))
        return query

    def receipt_reference(self, receipt: Json) -> object:
        return get_dotted(receipt, self.rest.receipt)


@cache
def partner_mapping(package: str, file: str = "mapping.yaml") -> PartnerMapping:
    """The mapping shipped as package data beside a partner's adapter (validated at first use)."""
    path = resources.files(package).joinpath(file)
    return PartnerMapping(load_mapping(str(path)))


def rest_adapter(mapping: PartnerMapping) -> RestAdapter:
    rest = mapping.rest
    return RestAdapter(name=mapping.spec.partner, deliver_path=rest.deliver_path, query_path=rest.query_path,
                       health_path=rest.health_path, encode=mapping.encode_message, decode=mapping.decode_message,
                       build_query=mapping.build_query, receipt_reference=mapping.receipt_reference)
