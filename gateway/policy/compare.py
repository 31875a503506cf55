"""Compare policy versions: `diff` over the tables, and `whatif` replaying recorded decision inputs.

The log records each exchange's policy input, which holds no plaintext identifiers, so replaying a period of
the log against a candidate policy is safe; it shows which past decisions a change would have altered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.dossier.fields import schema_path_of
from gateway.policy.bundle import PolicyBundle
from gateway.policy.tables import Flow, Tables
from gateway.policy.tools import decide, make_engine

ABSENT = "—"
_SCALARS = ("title", "from_", "to", "legal_basis", "retention", "confidentiality", "withhold_reporter")
_LISTS = ("purposes", "patterns", "conditions", "escalate_on", "measure_kinds")


@dataclass(frozen=True)
class DiffRow:
    flow: str
    aspect: str
    before: str
    after: str


def _rule_text(rule: Any) -> str:
    if rule is None:
        return ABSENT
    text = str(rule.treatment) + (f":{rule.method}" if rule.method else "")
    return text + (f" als {', '.join(rule.when)}" if rule.when else "")


def _flow_rows(flow_id: str, a: Flow, b: Flow) -> list[DiffRow]:
    rows = [DiffRow(flow_id, name.rstrip("_"), str(getattr(a, name)), str(getattr(b, name)))
            for name in _SCALARS if getattr(a, name) != getattr(b, name)]
    rows += [DiffRow(flow_id, name, ", ".join(getattr(a, name)) or ABSENT, ", ".join(getattr(b, name)) or ABSENT)
             for name in _LISTS if sorted(getattr(a, name)) != sorted(getattr(b, name))]
    for category in sorted(set(a.categories) | set(b.categories)):
        before, after = _rule_text(a.categories.get(category)), _rule_text(b.categories.get(category))
        if before != after:
            rows.append(DiffRow(flow_id, f"categorie {category}", before, after))
    for path in sorted(set(a.fields) | set(b.fields)):
        before, after = _rule_text(a.fields.get(path)), _rule_text(b.fields.get(path))
        if before != after:
            rows.append(DiffRow(flow_id, f"veld {path}", before, after))
    return rows


def diff(a: Tables, b: Tables) -> list[DiffRow]:
    """What changes between two versions of the tables, flow by flow, field by field."""
    rows: list[DiffRow] = []
    for flow_id in sorted(set(a.flows) | set(b.flows)):
        if flow_id not in b.flows:
            rows.append(DiffRow(flow_id, "stroom", a.flows[flow_id].title, "verwijderd"))
        elif flow_id not in a.flows:
            rows.append(DiffRow(flow_id, "stroom", "nieuw", b.flows[flow_id].title))
        else:
            rows.extend(_flow_rows(flow_id, a.flows[flow_id], b.flows[flow_id]))
    for basis_id in sorted(set(a.legal_bases) | set(b.legal_bases)):
        before, after = a.legal_bases.get(basis_id), b.legal_bases.get(basis_id)
        if before != after:
            rows.append(DiffRow("-", f"grondslag {basis_id}", before.national_article if before else ABSENT,
                                after.national_article if after else ABSENT))
    return rows


@dataclass
class WhatIfReport:
    replayed: int = 0
    outcome_changes: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (flow, before, after)
    field_changes: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # (flow, field, b, a)
    changed_exchanges: list[str] = field(default_factory=list)


def whatif(records: Iterable[dict[str, Any]], candidate: PolicyBundle) -> WhatIfReport:
    """Replay each recorded exchange's policy input against the candidate and count what would differ."""
    engine = make_engine(candidate)
    report = WhatIfReport()
    for record in records:
        policy_input = record.get("policy_input")
        if record.get("kind") != "exchange" or not isinstance(policy_input, dict):
            continue
        report.replayed += 1
        new = decide(candidate, policy_input, engine)
        flow = str(record.get("flow") or new.get("flow") or ABSENT)
        before_outcome = str((record.get("decision") or {}).get("outcome"))
        changed = before_outcome != new.get("outcome")
        if changed:
            report.outcome_changes[(flow, before_outcome, str(new.get("outcome")))] += 1
        new_fields = new.get("fields", {}) if new.get("outcome") == "allow" else {}
        for entry in record.get("fields", []):
            before = str(entry.get("treatment"))
            after = str((new_fields.get(entry.get("path")) or {}).get("treatment", "drop"))
            if before != after:
                changed = True
                report.field_changes[(flow, schema_path_of(str(entry.get("path"))), before, after)] += 1
        if changed:
            report.changed_exchanges.append(str(record.get("exchange_id")))
    return report
