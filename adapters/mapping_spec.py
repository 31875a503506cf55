"""The schema of a partner's YAML mapping file, and loading it with errors that name the file and the entry.

A mapping file (`adapters/<partner>/mapping.yaml`) describes a partner's native JSON in terms of the canonical
gezinsdossier (`gateway/dossier/model.py`); `adapters.declarative` turns it into a working mapping. Loading
checks the file twice: its shape against the pydantic models below, then its meaning against the canonical
model — every key under `dossier:` must be a canonical field (unknown ones are rejected), every canonical leaf
must have a place or be listed under `unsupported:`, code lists must be one-to-one, named code lists and
records must exist, native paths must be well formed. Every problem is reported, each as
`<file>: <path of the entry>: <what is wrong>`; a mapping file holds no personal data, so messages may quote it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.formats import DATE_PATTERN_RULE, is_date_pattern
from gateway.dossier.model import DataCategory

NATIVE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[A-Za-z_][A-Za-z0-9_]*=[^\]\[.]+\])?"
                         r"(\.[A-Za-z_][A-Za-z0-9_]*(\[[A-Za-z_][A-Za-z0-9_]*=[^\]\[.]+\])?)*$")
DeliverySource = Literal["exchange_id", "delivery_key", "sender_id", "sender_name", "recipient_id", "purpose",
                         "flow", "legal_basis", "log_position", "trace_id", "context"]
QuerySource = Literal["bsns", "exchange_id", "requester_id", "requester_name", "holder_id", "purpose",
                      "categories", "trace_id"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitSpec(_Spec):
    """A canonical list spread over several native lists by a discriminating canonical field (VT's melders)."""

    by: str = Field(description="The canonical field whose value picks the native list, e.g. role.")
    lists: dict[str, str] = Field(min_length=1, description="Value → native list; the field is left out there.")


class FieldSpec(_Spec):
    """Where one canonical field lives natively. A bare string in the YAML is short for `{path: ...}`."""

    path: str = Field(description="Dotted native path; `list[key=value]` picks the list item carrying a constant.")
    codes: str | dict[str, str] | None = Field(default=None, description="Named or inline code list.")
    date: str | None = Field(default=None, description="dd-mm-yyyy, yyyymmdd, iso, brp-onvolledige-datum, …")
    boolean: tuple[str, str] | None = Field(default=None, description="[native true, native false]")
    required: bool = False
    record: str | None = Field(default=None, description="A record under `records:` (nested object or list).")
    fields: dict[str, FieldSpec | str] | None = Field(default=None, description="An inline nested record.")
    constants: dict[str, Any] | None = Field(default=None, description="Native path → constant, per object.")
    split: SplitSpec | None = None


class RecordSpec(_Spec):
    fields: dict[str, FieldSpec | str]
    constants: dict[str, Any] = Field(default_factory=dict)


class RestSpec(_Spec):
    """How a plain REST/JSON partner is called (`adapters.common.RestAdapter`)."""

    deliver_path: str = Field(pattern=r"^/")
    query_path: str = Field(pattern=r"^/")
    health_path: str = Field(default="/health", pattern=r"^/")
    dossier_at: str = Field(description="Native path of the dossier in a delivered message and a query answer.")
    envelope: dict[str, DeliverySource] = Field(default_factory=dict, description="Native path → delivery field.")
    query: dict[str, QuerySource] = Field(description="Native path → fetch request field.")
    receipt: str = Field(description="Native path of the partner's own reference in its receipt.")


Confidentiality = Literal["openbaar", "beperkt_openbaar", "intern", "zaakvertrouwelijk", "vertrouwelijk",
                          "confidentieel", "geheim", "zeer_geheim"]
_SPECIAL: dict[DataCategory, Confidentiality] = {DataCategory.HEALTH: "zeer_geheim",  # AVG art. 9
                                                 DataCategory.JUSTICE: "zeer_geheim"}  # AVG art. 10
Rsin = Annotated[str, Field(pattern=r"^[0-9]{9}$")]


class ZgwApis(_Spec):
    zaken: str = "/zaken/api/v1"
    documenten: str = "/documenten/api/v1"
    catalogi: str = "/catalogi/api/v1"


class ZgwOptions(_Spec):
    """How deliveries become zaken in a ZGW case system (`adapters.zgw`)."""

    zaaktype: str = Field(min_length=1, description="The zaaktype's identificatie in the partner's Catalogi API.")
    informatieobjecttype: str = Field(min_length=1, description="The informatieobjecttype's omschrijving.")
    default_confidentiality: Confidentiality = "vertrouwelijk"
    category_confidentiality: dict[DataCategory, Confidentiality] = Field(
        default_factory=lambda: dict(_SPECIAL),
        description="Data category in the dossier → at least this label; the strictest label wins.")
    identificatie_prefix: str = Field(default="KGB-", pattern=r"^[A-Za-z0-9-]{0,8}$")
    document_title: str = Field(default="Gezinsdossier", min_length=1, max_length=100)
    bronorganisatie: Rsin | None = Field(default=None, description="Default: the RSIN of the zaaktype's catalogus.")
    verantwoordelijke_organisatie: Rsin | None = None
    health_path: str = Field(default="/zaken/api/v1/", pattern=r"^/")
    apis: ZgwApis = Field(default_factory=ZgwApis)


class OptionsSpec(_Spec):
    zgw: ZgwOptions | None = None


class MappingSpec(_Spec):
    partner: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    description: str | None = None
    rest: RestSpec | None = None
    codes: dict[str, dict[str, str]] = Field(default_factory=dict)
    records: dict[str, RecordSpec] = Field(default_factory=dict)
    dossier: dict[str, FieldSpec | str]
    unsupported: list[str] = Field(default_factory=list, description="Canonical fields refused (unmappable).")
    options: OptionsSpec = Field(default_factory=OptionsSpec, description="Adapter-specific settings.")


FieldSpec.model_rebuild()


class MappingFileError(Exception):
    """A mapping file that cannot be used; `problems` lists `(entry path, message)` pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {where or '(file)'}: {what}" for where, what in problems))


def as_field(spec: FieldSpec | str) -> FieldSpec:
    return FieldSpec(path=spec) if isinstance(spec, str) else spec


# The canonical model as a tree: name → (is a list, children or None for a leaf), from the field catalogue.
Node = dict[str, tuple[bool, "Node | None"]]


def canonical_tree() -> Node:
    from gateway.dossier.fields import field_catalogue

    root: Node = {}
    for path in field_catalogue():
        node = root
        *parents, leaf = path.split(".")
        for part in parents:
            name = part.removesuffix("[]")
            if name not in node:
                node[name] = (part.endswith("[]"), {})
            children = node[name][1]
            if children is None:  # cannot happen: a schema path's parent is never a leaf
                raise TypeError("malformed field catalogue")
            node = children
        node[leaf] = (False, None)
    return root


def canonical_codes() -> dict[str, frozenset[str]]:
    """Schema path → the values of its code list, for every canonical field typed by one (role, sex, …)."""
    import types
    from enum import StrEnum
    from typing import Union, get_args, get_origin

    from gateway.dossier.model import Gezinsdossier

    def unwrap(annotation: Any) -> tuple[Any, bool]:
        if get_origin(annotation) in (Union, types.UnionType):
            return unwrap(next(a for a in get_args(annotation) if a is not type(None)))
        if get_origin(annotation) is list:
            return unwrap(get_args(annotation)[0])[0], True
        if hasattr(annotation, "__metadata__"):
            return unwrap(get_args(annotation)[0])
        return annotation, False

    out: dict[str, frozenset[str]] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            inner, is_list = unwrap(info.annotation)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                walk(inner, f"{prefix}{name}{'[]' if is_list else ''}.")
            elif isinstance(inner, type) and issubclass(inner, StrEnum):
                out[prefix + name] = frozenset(member.value for member in inner)

    walk(Gezinsdossier, "")
    return out


class _Checker:
    def __init__(self, spec: MappingSpec) -> None:
        self.spec = spec
        self.problems: list[tuple[str, str]] = []
        self.mapped: set[str] = set()
        self.codes = canonical_codes()

    def problem(self, where: str, what: str) -> None:
        self.problems.append((where, what))

    def run(self) -> list[tuple[str, str]]:
        for name, codes in self.spec.codes.items():
            self.code_list(f"codes.{name}", codes)
        if self.spec.rest is not None:
            rest = self.spec.rest
            for where, path in [("rest.dossier_at", rest.dossier_at), ("rest.receipt", rest.receipt),
                                *((f"rest.envelope.{p}", p) for p in rest.envelope),
                                *((f"rest.query.{p}", p) for p in rest.query)]:
                self.native_path(where, path)
        self.record("dossier", self.spec.dossier, canonical_tree(), "")
        self.completeness()
        return self.problems

    def code_list(self, where: str, codes: dict[str, str]) -> None:
        if len(set(codes.values())) != len(codes):
            self.problem(where, "code list is not one-to-one (two canonical codes share a native code)")

    def native_path(self, where: str, path: str) -> None:
        if not NATIVE_PATH.match(path):
            self.problem(where, f"malformed native path {path!r} (dotted names, optionally name[key=value])")

    def record(self, where: str, fields: dict[str, FieldSpec | str], node: Node, prefix: str) -> None:
        for name, raw in fields.items():
            entry = f"{where}.{name}"
            if name not in node:
                self.problem(entry, f"unknown canonical field {prefix + name!r}; known here: {', '.join(node)}")
                continue
            is_list, children = node[name]
            self.field(entry, as_field(raw), children, f"{prefix}{name}{'[]' if is_list else ''}", is_list)

    def field(self, where: str, spec: FieldSpec, children: Node | None, canonical: str, is_list: bool) -> None:
        self.native_path(f"{where}.path", spec.path)
        if sum(x is not None for x in (spec.codes, spec.date, spec.boolean)) > 1:
            self.problem(where, "choose at most one of codes, date and boolean")
        if isinstance(spec.codes, str) and spec.codes not in self.spec.codes:
            self.problem(f"{where}.codes", f"no code list named {spec.codes!r} under codes:")
        elif isinstance(spec.codes, dict):
            self.code_list(f"{where}.codes", spec.codes)
        if spec.codes is not None:
            codes = self.spec.codes.get(spec.codes, {}) if isinstance(spec.codes, str) else spec.codes
            known = self.codes.get(canonical)
            unknown = sorted(set(codes) - known) if known is not None else []
            if unknown:
                self.problem(f"{where}.codes", f"codes unknown to {canonical!r}: {', '.join(unknown)} "
                                               f"(known: {', '.join(sorted(known or ()))})")
        if spec.date is not None and not is_date_pattern(spec.date):
            self.problem(f"{where}.date", f"unknown date format {spec.date!r}: {DATE_PATTERN_RULE}, or iso, "
                                          "brp-onvolledige-datum")
        if spec.boolean is not None and spec.boolean[0] == spec.boolean[1]:
            self.problem(f"{where}.boolean", "the true and false values must differ")
        if children is None:
            self.leaf(where, spec, canonical)
            return
        self.nested(where, spec, children, canonical, is_list)

    def leaf(self, where: str, spec: FieldSpec, canonical: str) -> None:
        for key in ("record", "fields", "constants", "split"):
            if getattr(spec, key) is not None:
                self.problem(f"{where}.{key}", f"{canonical!r} is a single value, it has no {key}")
        self.mapped.add(canonical)

    def nested(self, where: str, spec: FieldSpec, children: Node, canonical: str, is_list: bool) -> None:
        if (spec.record is None) == (spec.fields is None):
            self.problem(where, f"{canonical!r} is an object: give exactly one of record and fields")
            return
        if spec.record is not None and spec.record not in self.spec.records:
            self.problem(f"{where}.record", f"no record named {spec.record!r} under records:")
            return
        record = self.spec.records[spec.record] if spec.record is not None else None
        fields = record.fields if record is not None else spec.fields or {}
        self.record(f"records.{spec.record}.fields" if record else f"{where}.fields", fields, children,
                    canonical + ".")
        for path in [*(spec.constants or {}), *(record.constants if record else {})]:
            self.native_path(f"{where}.constants", path)
        if spec.split is not None:
            self.split(f"{where}.split", spec.split, children, canonical, is_list)

    def split(self, where: str, split: SplitSpec, children: Node, canonical: str, is_list: bool) -> None:
        if not is_list:
            self.problem(where, f"only a list can be split; {canonical!r} is an object")
        if split.by not in children or children[split.by][1] is not None:
            self.problem(f"{where}.by", f"{split.by!r} is not a value field of {canonical!r}")
        for value, path in split.lists.items():
            self.native_path(f"{where}.lists.{value}", path)

    def completeness(self) -> None:
        from gateway.dossier.fields import field_catalogue

        catalogue = set(field_catalogue())
        for i, path in enumerate(self.spec.unsupported):
            if path not in catalogue:
                self.problem(f"unsupported[{i}]", f"unknown canonical field {path!r}")
            elif path in self.mapped:
                self.problem(f"unsupported[{i}]", f"{path!r} is mapped; it cannot be unsupported as well")
        missing = sorted(catalogue - self.mapped - set(self.spec.unsupported))
        if missing:
            self.problem("dossier", "canonical fields without a place (map them or list them under "
                                    f"unsupported:): {', '.join(missing)}")


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("FieldSpec", "str") and not part.startswith(("function-", "tuple[")):
            out += f".{part}" if out else str(part)
    return out


def _schema_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Pydantic's errors as (entry path, message); a field given as neither a path nor an object says so once."""
    problems: dict[tuple[str, str], None] = {}
    for error in exc.errors():
        branches = [p for p in error["loc"] if p in ("str", "FieldSpec")]
        if branches and branches[-1] == "str":
            continue  # a field is a path or an object; the object branch's message is the informative one
        problems[(_location(error["loc"]), error["msg"])] = None
    return list(problems)


def parse_mapping(raw: Any, source: str) -> MappingSpec:
    """Validate parsed YAML; `MappingFileError` lists every problem found."""
    try:
        spec = MappingSpec.model_validate(raw)
    except ValidationError as exc:
        raise MappingFileError(source, _schema_problems(exc)) from None
    problems = list(dict.fromkeys(_Checker(spec).run()))  # a record used twice reports its problems once
    if problems:
        raise MappingFileError(source, problems)
    return spec


def load_mapping(path: Path | str) -> MappingSpec:
    path = Path(path)
    source = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingFileError(source, [("", f"cannot read the file ({exc.strerror})")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise MappingFileError(source, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    return parse_mapping(raw, source)
