"""The tables privacy officers edit (policies/data/*.yaml), as typed models with cross-reference checks.

The Rego stays generic and reads these tables; this module is what `gateway policy check` uses to refuse a
table that would make the policy mean something other than what its author intended.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Treatment = Literal["pass", "pseudonymise", "encrypt", "generalise", "drop"]
Method = Literal["year", "age_band", "municipality", "postcode4"]
OrgTypeOrAny = Literal["veilig_thuis", "rvdk", "gi", "wijkteam", "research", "any"]
ISO_DURATION = r"^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    label: str
    description: str
    personal: bool
    special: Literal["art9", "art10"] | None
    min_confidentiality: Literal["openbaar", "intern", "vertrouwelijk", "zeer_geheim"]
    obligation: str | None = None


class LegalBasis(_Strict):
    avg_article: str = Field(pattern=r"^AVG art\. 6 lid 1 sub [a-f]")
    avg_special: str | None
    national_article: str
    citation: str
    link: str = Field(pattern=r"^https://wetten\.overheid\.nl/")
    review_needed: bool | None = None


class Purpose(_Strict):
    label: str
    description: str
    allows_bulk: bool | None = None
    # Retention (capability 6, gateway/exchange_log/retention.py): how long the gateway's log keeps the content
    # of a record with this purpose (ISO 8601 duration); after that only its leaf hash stays.
    retention: str | None = Field(default=None, pattern=ISO_DURATION)


class Rule(_Strict):
    treatment: Treatment
    method: Method | None = None
    reason: str = Field(min_length=5)
    when: list[str] = Field(default_factory=list)
    ground: str | None = None


class FieldRule(_Strict):
    treatment: Treatment
    method: Method | None = None
    reason: str = Field(min_length=5)
    when: list[str] = Field(default_factory=list)


class ProcessingActivity(_Strict):
    id: str
    version: str


class BreakGlass(_Strict):
    allowed: bool
    categories: list[str] = Field(default_factory=list)


class Flow(_Strict):
    title: str
    from_: OrgTypeOrAny = Field(alias="from")
    to: OrgTypeOrAny
    purposes: list[str] = Field(min_length=1)
    patterns: list[Literal["push", "pull"]] = Field(min_length=1)
    legal_basis: str
    processing_activity: ProcessingActivity
    retention: str = Field(pattern=ISO_DURATION)
    confidentiality: Literal["intern", "vertrouwelijk", "zeer_geheim"]
    conditions: list[str] = Field(default_factory=list)
    conditions_per_purpose: dict[str, list[str]] = Field(default_factory=dict)
    escalate_on: list[str] = Field(default_factory=list)
    measure_kinds: list[str] = Field(default_factory=list)
    withhold_reporter: bool = False
    break_glass: BreakGlass | None = None
    categories: dict[str, Rule]
    fields: dict[str, FieldRule] = Field(default_factory=dict)
    obligations: list[str] = Field(default_factory=list)


class Limits(_Strict):
    bulk_pull_subjects: int = Field(ge=1)


class Tables(_Strict):
    flows: dict[str, Flow]
    legal_bases: dict[str, LegalBasis]
    purposes: dict[str, Purpose]
    categories: dict[str, Category]
    limits: Limits


def parse_tables(raw: dict[str, Any]) -> tuple[Tables | None, list[str]]:
    try:
        return Tables.model_validate(raw), []
    except ValidationError as exc:
        return None, [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]


def cross_reference_problems(tables: Tables, *, known_conditions: set[str], known_escalations: set[str],
                             model_fields: dict[str, str]) -> list[str]:
    """Dangling references and rules that would break the law's frame; each problem in plain words."""
    problems: list[str] = []
    for flow_id, flow in tables.flows.items():
        problems.extend(_flow_problems(tables, flow_id, flow, conditions=known_conditions,
                                       escalations=known_escalations, model_fields=model_fields))
    used = {p for flow in tables.flows.values() for p in flow.purposes}
    problems.extend(f"purpose {p} is not used by any flow" for p in sorted(set(tables.purposes) - used))
    return problems


def _flow_problems(tables: Tables, flow_id: str, flow: Flow, *, conditions: set[str], escalations: set[str],
                   model_fields: dict[str, str]) -> list[str]:
    out: list[str] = []
    if flow.legal_basis not in tables.legal_bases:
        out.append(f"{flow_id}: legal basis {flow.legal_basis} is not in legal_bases")
    out.extend(f"{flow_id}: purpose {p} is not in purposes" for p in flow.purposes if p not in tables.purposes)
    rule_conditions = [c for rule in flow.categories.values() for c in rule.when]
    rule_conditions += [c for field_rule in flow.fields.values() for c in field_rule.when]
    named = set(flow.conditions) | {c for cs in flow.conditions_per_purpose.values() for c in cs} | set(
        rule_conditions)
    out.extend(f"{flow_id}: unknown condition {c}" for c in sorted(named - conditions))
    out.extend(f"{flow_id}: unknown escalation {e}" for e in sorted(set(flow.escalate_on) - escalations))
    out.extend(f"{flow_id}: conditions_per_purpose names purpose {p} the flow does not have"
               for p in flow.conditions_per_purpose if p not in flow.purposes)
    if flow.break_glass is not None and flow.break_glass.allowed:
        if flow.to == "research":
            out.append(f"{flow_id}: break-glass can never open a research extract")
        out.extend(f"{flow_id}: break-glass names category {c}, which the flow does not"
                   for c in flow.break_glass.categories if c not in flow.categories)
    for name, rule in flow.categories.items():
        category = tables.categories.get(name)
        if category is None:
            out.append(f"{flow_id}: unknown category {name}")
            continue
        out.extend(_rule_problems(flow_id, name, rule.treatment, rule.method))
        if category.special and rule.treatment != "drop":
            basis = tables.legal_bases.get(rule.ground or "")
            if basis is None or not basis.avg_special:
                out.append(f"{flow_id}: special category {name} ({category.special}) passes without a ground "
                           "that names an AVG art. 9/10 exception")
    for path, field_rule in flow.fields.items():
        if path not in model_fields:
            out.append(f"{flow_id}: field {path} is not in the dossier model")
        elif model_fields[path] not in flow.categories:
            out.append(f"{flow_id}: field {path} refines category {model_fields[path]}, which the flow does not name")
        out.extend(_rule_problems(flow_id, path, field_rule.treatment, field_rule.method))
    return out


def _rule_problems(flow_id: str, name: str, treatment: str, method: str | None) -> list[str]:
    if treatment == "generalise" and method is None:
        return [f"{flow_id}: {name} generalises without a method"]
    if treatment != "generalise" and method is not None:
        return [f"{flow_id}: {name} has a method but does not generalise"]
    return []
