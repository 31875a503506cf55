"""What privacy officers run on a policy version: check, test, explain, diff and what-if.

Everything here works on a `PolicyBundle` (a folder like policies/) and plain data; the command line
(`gateway policy …`) composes it with the organisation registry and the exchange log.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import regorus

from gateway.dossier.fields import field_catalogue
from gateway.policy.bundle import DECISION_RULE, PolicyBundle
from gateway.policy.tables import Tables, cross_reference_problems, parse_tables

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\s+(?:if\b|:=|\{)", re.MULTILINE)


def make_engine(bundle: PolicyBundle, *, with_tests: bool = False) -> Any:
    engine = regorus.Engine()
    modules = {**bundle.modules, **(bundle.test_modules if with_tests else {})}
    for name, source in modules.items():
        engine.add_policy(name, source)
    engine.add_data_json(json.dumps(bundle.data))
    return engine


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(bundle: PolicyBundle) -> CheckReport:
    """Schema of every table, every reference resolvable, no special category without its ground, Rego compiles."""
    report = CheckReport()
    try:
        engine = make_engine(bundle)
    except (RuntimeError, ValueError) as exc:
        report.problems.append(f"Rego does not compile: {str(exc).splitlines()[0]}")
        return report
    tables, problems = parse_tables(bundle.data["gateway"]["tables"])
    report.problems.extend(problems)
    if tables is not None:
        known_conditions = set(json.loads(engine.eval_rule_as_json("data.gateway.decision.known_conditions")))
        known_escalations = set(json.loads(engine.eval_rule_as_json("data.gateway.decision.known_escalations")))
        report.problems.extend(cross_reference_problems(
            tables, known_conditions=known_conditions, known_escalations=known_escalations,
            model_fields={path: label.category for path, label in field_catalogue().items()}))
    return report


@dataclass(frozen=True)
class TestResult:
    name: str
    passed: bool


def run_tests(bundle: PolicyBundle) -> list[TestResult]:
    """Every `test_*` rule of the bundle's test modules, on the embedded engine."""
    engine = make_engine(bundle, with_tests=True)
    results: list[TestResult] = []
    for source in bundle.test_modules.values():
        package = _PACKAGE.search(source)
        if package is None:
            continue
        for name in dict.fromkeys(_TEST_RULE.findall(source)):
            rule = f"data.{package.group(1)}.{name}"
            try:
                passed = engine.eval_rule(rule) is True
            except RuntimeError:
                passed = False
            results.append(TestResult(rule, passed))
    return results


def decide(bundle: PolicyBundle, policy_input: dict[str, Any], engine: Any | None = None) -> dict[str, Any]:
    engine = engine or make_engine(bundle)
    engine.set_input_json(json.dumps(policy_input))
    decision: dict[str, Any] = engine.eval_rule(DECISION_RULE)
    return decision


def explain(decision: dict[str, Any], tables: Tables | None) -> list[str]:
    """The decision in plain Dutch: which flow and basis decided, why, and what happens to each category."""
    outcome = {"allow": "toegestaan", "deny": "geweigerd", "escalate": "voorgelegd aan een mens"}
    lines = [f"Uitkomst: {outcome.get(decision.get('outcome', ''), decision.get('outcome'))}"]
    flow_id = decision.get("flow")
    if flow_id and tables is not None and flow_id in tables.flows:
        flow = tables.flows[flow_id]
        lines.append(f"Gegevensstroom: {flow_id} — {flow.title}")
        basis = tables.legal_bases.get(flow.legal_basis)
        if basis is not None:
            lines.append(f"Grondslag: {basis.national_article}; {basis.avg_article}")
    else:
        lines.append("Gegevensstroom: geen — er is geen rij in de stromentabel die past.")
    lines.append("Redenen:")
    lines.extend(f"  - {reason}" for reason in decision.get("reasons", []))
    per_category: dict[tuple[str, str], int] = Counter()
    for fd in decision.get("fields", {}).values():
        per_category[(fd.get("treatment", "?"), fd.get("reason", ""))] += 1
    if per_category:
        lines.append("Per gegeven:")
        lines.extend(f"  - {n}× {treatment}: {reason}" for (treatment, reason), n in sorted(per_category.items()))
    obligations = decision.get("obligations", [])
    if obligations:
        lines.append("Plichten voor de ontvanger:")
        lines.extend(f"  - {o}" for o in obligations)
    return lines
