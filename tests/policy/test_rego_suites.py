"""The policy bundle's own tests, run on both Rego engines, plus checks on the tables privacy officers edit.

- Every `test_*` rule in the bundle's `*_test.rego` modules is one pytest item per engine: regorus (what the
  gateway embeds) and OPA's own Go evaluator (the reference semantics), marked `opa`.
- A parity test decides a set of representative exchanges on both engines and requires identical decisions.
- The tables (flows, legal bases, categories, purposes) are checked for consistency with each other, with the
  canonical dossier model and with the condition names the Rego implements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import regorus

from gateway.dossier.fields import field_catalogue
from gateway.dossier.model import MeasureKind
from gateway.policy.bundle import DECISION_RULE, PolicyBundle, load_bundle

try:
    from opa_bindings import OpaEngine
except ImportError:  # pragma: no cover - depends on the environment
    OpaEngine = None

POLICIES = Path(__file__).resolve().parents[2] / "policies"
BUNDLE = load_bundle(POLICIES)
TABLES: dict[str, Any] = BUNDLE.data["gateway"]["tables"]
FLOWS: dict[str, Any] = TABLES["flows"]
LEGAL_BASES: dict[str, Any] = TABLES["legal_bases"]
CATEGORIES: dict[str, Any] = TABLES["categories"]
PURPOSES: dict[str, Any] = TABLES["purposes"]

ORG_TYPES = {"veilig_thuis", "rvdk", "gi", "wijkteam", "research"}
TREATMENTS = {"pass", "pseudonymise", "encrypt", "generalise", "drop"}
METHODS = {"year", "age_band", "municipality", "postcode4"}
CONFIDENTIALITY = {"openbaar", "intern", "vertrouwelijk", "zeer_geheim"}
SPECIAL = {None, "art9", "art10"}
RULE_KEYS = {"treatment", "method", "reason", "when", "ground"}

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)

needs_opa = pytest.mark.skipif(
    OpaEngine is None, reason="opa_bindings (PyPI opa-golib-python-bindings) is not installed"
)


def _rego_tests(bundle: PolicyBundle) -> list[tuple[str, str]]:
    """(package, rule) for every distinct test_* rule in the bundle's test modules."""
    found: list[tuple[str, str]] = []
    for source in bundle.test_modules.values():
        package = _PACKAGE.search(source)
        if package is None:
            continue
        found.extend((package.group(1), name) for name in dict.fromkeys(_TEST_RULE.findall(source)))
    return found


REGO_TESTS = _rego_tests(BUNDLE)


def _regorus_engine(*, with_tests: bool) -> regorus.Engine:
    engine = regorus.Engine()
    modules = {**BUNDLE.modules, **(BUNDLE.test_modules if with_tests else {})}
    for name, source in modules.items():
        engine.add_policy(name, source)
    engine.add_data_json(json.dumps(BUNDLE.data))
    return engine


def _opa_engine(*, with_tests: bool) -> Any:
    assert OpaEngine is not None
    engine = OpaEngine()
    modules = {**BUNDLE.modules, **(BUNDLE.test_modules if with_tests else {})}
    for name, source in modules.items():
        engine.add_policy(name, source)
    engine.add_data(BUNDLE.data)
    return engine


@pytest.fixture(scope="module")
def regorus_suite() -> regorus.Engine:
    return _regorus_engine(with_tests=True)


@pytest.fixture(scope="module")
def opa_suite() -> Iterator[Any]:
    engine = _opa_engine(with_tests=True)
    yield engine
    engine.close()


def test_rego_tests_were_found() -> None:
    assert len(REGO_TESTS) >= 20


@pytest.mark.parametrize(("package", "rule"), REGO_TESTS, ids=[rule for _, rule in REGO_TESTS])
def test_rego_on_regorus(regorus_suite: regorus.Engine, package: str, rule: str) -> None:
    try:
        result = regorus_suite.eval_rule(f"data.{package}.{rule}")
    except RuntimeError as error:  # an evaluation error is a failed test, shown without the Rust backtrace
        pytest.fail(f"{rule} raised on regorus: {str(error).split('Stack backtrace')[0].strip()}")
    assert result is True, f"{rule} is undefined (failed) on regorus"


@pytest.mark.opa
@needs_opa
@pytest.mark.parametrize(("package", "rule"), REGO_TESTS, ids=[rule for _, rule in REGO_TESTS])
def test_rego_on_opa(opa_suite: Any, package: str, rule: str) -> None:
    assert opa_suite.eval_query(f"data.{package}.{rule}") == [{}], f"{rule} is undefined (failed) on OPA"


def test_every_flow_has_at_least_two_rego_tests() -> None:
    names = [rule for _, rule in REGO_TESTS]
    counts = {flow: sum(name.startswith(f"test_{flow.lower()}_") for name in names) for flow in FLOWS}
    assert {flow: n for flow, n in counts.items() if n < 2} == {}


# --- Representative exchanges: both engines must decide identically -----------------------------------

_CONTEXT: dict[str, Any] = {
    "kader": "vrijwillig",
    "measure": None,
    "afwegingskader_documented": False,
    "parents_informed": None,
    "parents_not_informed_reason": None,
    "consent_present": False,
    "explicit_consent_health": False,
    "urgency": "normaal",
    "question_present": False,
    "voluntary_help_insufficient": False,
    "reporter_strictly_needed": False,
    "documented_weighing": False,
    "conflict_van_plichten": False,
    "handover_to_voluntary": False,
}
_OTS = {"kind": "ots", "start": "2026-01-01", "end": "2027-01-01", "reference_present": True}


def _field(path: str, category: str, *, identifier: bool = False, role: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": path,
        "field": re.sub(r"\[\d+\]", "[]", path),
        "category": category,
        "identifier": identifier,
    }
    if role:
        entry["subject_role"] = role
    return entry


_DOSSIER = [
    _field("case_numbers[0].organisation", "structure"),
    _field("case_numbers[0].number", "case_reference"),
    _field("persons[0].ref", "structure", role="kind"),
    _field("persons[0].bsn", "identification", identifier=True, role="kind"),
    _field("persons[0].surname", "identification", identifier=True, role="kind"),
    _field("persons[0].birth_date", "identification", role="kind"),
    _field("persons[0].school", "education", role="kind"),
    _field("persons[1].ref", "structure", role="ouder"),
    _field("persons[1].phone", "contact", identifier=True, role="ouder"),
    _field("persons[2].ref", "structure", role="melder"),
    _field("persons[2].surname", "reporter", identifier=True, role="melder"),
    _field("persons[2].reporter_role", "reporter", role="melder"),
    _field("household.composition", "household"),
    _field("household.address.postcode", "contact", identifier=True),
    _field("household.address.municipality", "contact"),
    _field("gezag[0].type", "household"),
    _field("signals[0].situation", "signals"),
    _field("signals[0].violence_forms[0].category", "signals"),
    _field("signals[0].restraining_order", "justice"),
    _field("observations[0].source", "signals"),
    _field("safety_assessments[0].triage", "safety"),
    _field("safety_plan.goals", "safety"),
    _field("involvements[0].kind", "help"),
    _field("involvements[1].kind", "health"),
    _field("health[0].description", "health"),
    _field("finances.debts", "income"),
    _field("measures[0].kind", "measures"),
    _field("measures[0].court", "measures"),
    _field("plan.goals", "plan"),
]
_ANONYMOUS = [
    f
    for f in _DOSSIER
    if f["category"] in {"structure", "household", "signals", "safety", "help"} and f.get("subject_role") != "melder"
]


def _exchange(
    sender: str,
    recipient: str,
    purpose: str,
    *,
    pattern: str = "push",
    context: dict[str, Any] | None = None,
    fields: list[dict[str, Any]] | None = None,
    requested: list[str] | None = None,
) -> dict[str, Any]:
    chosen = _DOSSIER if fields is None else fields
    return {
        "version": 1,
        "today": "2026-11-22",
        "pattern": pattern,
        "sender": {"id": f"{sender}-1", "type": sender},
        "recipient": {"id": f"{recipient}-1", "type": recipient},
        "purpose": purpose,
        "professional_role": "testrol",
        "context": {**_CONTEXT, **(context or {})},
        "subjects": [{"role": "kind"}, {"role": "ouder"}, {"role": "melder"}],
        "requested_categories": requested if requested is not None else sorted({f["category"] for f in chosen}),
        "fields": chosen,
    }


_F2_OK = {"afwegingskader_documented": True, "parents_informed": True}

PARITY_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "f1-allow": (_exchange("wijkteam", "veilig_thuis", "adviesvraag", fields=_ANONYMOUS), "allow"),
    "f1-deny-identifiers": (_exchange("wijkteam", "veilig_thuis", "adviesvraag"), "deny"),
    "f2-allow": (_exchange("wijkteam", "veilig_thuis", "melding", context=_F2_OK), "allow"),
    "f2-escalate": (
        _exchange("wijkteam", "veilig_thuis", "melding", context={**_F2_OK, "conflict_van_plichten": True}),
        "escalate",
    ),
    "f2-deny-wrong-direction": (_exchange("veilig_thuis", "wijkteam", "melding", context=_F2_OK), "deny"),
    "f3-pull-predecision": (
        _exchange(
            "wijkteam",
            "veilig_thuis",
            "informatie_vt_onderzoek",
            pattern="pull",
            context={"question_present": True},
            fields=[],
            requested=["identification", "signals"],
        ),
        "allow",
    ),
    "f4-allow-reporter-needed": (
        _exchange(
            "veilig_thuis",
            "rvdk",
            "verzoek_tot_onderzoek",
            context={"voluntary_help_insufficient": True, "parents_informed": True, "reporter_strictly_needed": True},
        ),
        "allow",
    ),
    "f4-escalate-other-reason": (
        _exchange(
            "veilig_thuis",
            "rvdk",
            "verzoek_tot_onderzoek",
            context={
                "voluntary_help_insufficient": True,
                "parents_informed": False,
                "parents_not_informed_reason": "anders",
            },
        ),
        "escalate",
    ),
    "f5-pull-deny-no-weighing": (
        _exchange("wijkteam", "rvdk", "informatie_raadsonderzoek", pattern="pull", fields=[], requested=["signals"]),
        "deny",
    ),
    "f5-allow": (
        _exchange("wijkteam", "rvdk", "informatie_raadsonderzoek", context={"documented_weighing": True}),
        "allow",
    ),
    "f6-allow": (_exchange("rvdk", "gi", "uitvoering_ots", context={"measure": _OTS}), "allow"),
    "f6-deny-ended": (
        _exchange("rvdk", "gi", "uitvoering_ots", context={"measure": {**_OTS, "end": "2026-06-30"}}),
        "deny",
    ),
    "f7-allow": (_exchange("wijkteam", "gi", "informatie_ots", context={"measure": _OTS}), "allow"),
    "f8-handover-health": (
        _exchange(
            "gi",
            "wijkteam",
            "overdracht_vrijwillig_kader",
            context={"consent_present": True, "handover_to_voluntary": True, "explicit_consent_health": True},
        ),
        "allow",
    ),
    "f9-allow": (_exchange("veilig_thuis", "wijkteam", "toeleiding_hulp"), "allow"),
    "r1-allow": (_exchange("gi", "research", "onderzoek_en_sturing"), "allow"),
    "deny-unknown-purpose": (_exchange("wijkteam", "gi", "nieuwsgierigheid"), "deny"),
    "deny-malformed": ({"version": 1, "fields": "nope", "requested_categories": None, "context": "x"}, "deny"),
    "deny-malformed-parties": (
        {**_exchange("wijkteam", "veilig_thuis", "melding", context=_F2_OK), "sender": "wijkteam"},
        "deny",
    ),
    "r1-field-without-labels": (
        _exchange(
            "wijkteam",
            "research",
            "onderzoek_en_sturing",
            fields=[*_DOSSIER, {"path": "persons[3].surname", "category": "identification"}],
        ),
        "allow",
    ),
}


@pytest.fixture(scope="module")
def regorus_decider() -> regorus.Engine:
    return _regorus_engine(with_tests=False)


def _decide_regorus(engine: regorus.Engine, policy_input: dict[str, Any]) -> Any:
    engine.set_input_json(json.dumps(policy_input))
    return json.loads(engine.eval_rule_as_json(DECISION_RULE))


@pytest.mark.parametrize("case", list(PARITY_CASES))
def test_decision_shape_on_regorus(regorus_decider: regorus.Engine, case: str) -> None:
    policy_input, outcome = PARITY_CASES[case]
    decision = _decide_regorus(regorus_decider, policy_input)
    assert decision["outcome"] == outcome
    assert set(decision) == {
        "outcome",
        "flow",
        "reasons",
        "legal_basis",
        "processing_activity",
        "retention",
        "confidentiality",
        "obligations",
        "fields",
        "break_glass",
    }
    assert set(decision["break_glass"]) == {"requested", "applied", "unnecessary"}
    assert decision["reasons"]
    assert decision["confidentiality"] in CONFIDENTIALITY
    fields = policy_input["fields"] if isinstance(policy_input.get("fields"), list) else []
    assert set(decision["fields"]) == {f["path"] for f in fields}
    for out in decision["fields"].values():
        assert out["treatment"] in TREATMENTS
        assert isinstance(out["reason"], str)
        assert ("method" in out) == (out["treatment"] == "generalise")
        if outcome != "allow":
            assert out["treatment"] == "drop"
    if decision["flow"] is None:
        assert decision["legal_basis"] is None
        assert decision["processing_activity"] is None


@pytest.mark.opa
@needs_opa
def test_engines_decide_identically(regorus_decider: regorus.Engine) -> None:
    opa = _opa_engine(with_tests=False)
    try:
        for case, (policy_input, _) in PARITY_CASES.items():
            ours = _decide_regorus(regorus_decider, policy_input)
            theirs = opa.eval_document(DECISION_RULE.removeprefix("data."), policy_input)
            assert ours == theirs, case
    finally:
        opa.close()


# --- The tables ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rego_names(regorus_decider: regorus.Engine) -> dict[str, set[str]]:
    names = {}
    for rule in ("known_conditions", "known_escalations", "_research_free_text"):
        names[rule] = set(json.loads(regorus_decider.eval_rule_as_json(f"data.gateway.decision.{rule}")))
    return names


def test_model_categories_are_all_known() -> None:
    assert {label.category for label in field_catalogue().values()} <= set(CATEGORIES)


def test_categories_table_is_well_formed() -> None:
    for name, category in CATEGORIES.items():
        assert isinstance(category["label"], str), name
        assert category["special"] in SPECIAL, name
        assert category["min_confidentiality"] in CONFIDENTIALITY, name
        assert isinstance(category["personal"], bool), name
    assert CATEGORIES["structure"]["personal"] is False
    assert CATEGORIES["health"]["special"] == "art9"
    assert CATEGORIES["justice"]["special"] == "art10"


def test_legal_bases_are_complete() -> None:
    for name, basis in LEGAL_BASES.items():
        assert basis["avg_article"].startswith("AVG art. 6 lid 1 sub "), name
        assert basis["avg_special"] is None or basis["avg_special"].startswith("AVG art. "), name
        assert basis["national_article"], name
        assert len(basis["citation"]) > 40, name
        assert basis["link"].startswith("https://wetten.overheid.nl/"), name


def test_purposes_are_described_and_used() -> None:
    used = {purpose for flow in FLOWS.values() for purpose in flow["purposes"]}
    assert used == set(PURPOSES)
    for name, purpose in PURPOSES.items():
        assert purpose["label"] and purpose["description"], name


@pytest.mark.parametrize("flow_id", list(FLOWS))
def test_flow_row_is_consistent(flow_id: str, rego_names: dict[str, set[str]]) -> None:
    flow = FLOWS[flow_id]
    assert flow["title"]
    assert flow["from"] in ORG_TYPES | {"any"}
    assert flow["to"] in ORG_TYPES
    assert flow["purposes"] and set(flow["purposes"]) <= set(PURPOSES)
    assert flow["patterns"] and set(flow["patterns"]) <= {"push", "pull"}
    assert flow["legal_basis"] in LEGAL_BASES
    assert set(flow["processing_activity"]) == {"id", "version"}
    assert all(isinstance(v, str) and v for v in flow["processing_activity"].values())
    assert re.fullmatch(r"P\d+[YMD]", flow["retention"])
    assert flow["confidentiality"] in CONFIDENTIALITY
    assert "conflict_van_plichten" in flow["escalate_on"]
    assert set(flow["escalate_on"]) <= rego_names["known_escalations"]
    conditions = set(flow.get("conditions", []))
    for purpose, extra in (flow.get("conditions_per_purpose") or {}).items():
        assert purpose in flow["purposes"]
        conditions |= set(extra)
    for rule in [*flow["categories"].values(), *(flow.get("fields") or {}).values()]:
        conditions |= set(rule.get("when", []))
    assert conditions <= rego_names["known_conditions"]
    if "measure_active" in conditions:
        assert flow["measure_kinds"] and set(flow["measure_kinds"]) <= {kind.value for kind in MeasureKind}
    assert flow["obligations"] and all(isinstance(o, str) for o in flow["obligations"])


def _check_rule(where: str, rule: dict[str, Any]) -> None:
    assert set(rule) <= RULE_KEYS, where
    assert rule["treatment"] in TREATMENTS, where
    assert isinstance(rule.get("reason"), str) and rule["reason"], f"{where}: every rule needs a reason"
    assert ("method" in rule) == (rule["treatment"] == "generalise"), where
    if "method" in rule:
        assert rule["method"] in METHODS, where


@pytest.mark.parametrize("flow_id", list(FLOWS))
def test_flow_treatments_are_lawful(flow_id: str) -> None:
    flow = FLOWS[flow_id]
    catalogue = field_catalogue()
    assert "structure" not in flow["categories"], "structure always passes; it takes no rule"
    for name, rule in flow["categories"].items():
        where = f"{flow_id}.categories.{name}"
        assert name in CATEGORIES, where
        _check_rule(where, rule)
        if CATEGORIES[name]["special"] is not None and rule["treatment"] != "drop":
            assert rule.get("ground") in LEGAL_BASES, f"{where}: special category needs its own ground"
            assert LEGAL_BASES[rule["ground"]]["avg_special"], f"{where}: the ground must name AVG art. 9/10"
        else:
            assert "ground" not in rule, where
    if flow.get("withhold_reporter"):
        assert "reporter" not in flow["categories"]
    for path, rule in (flow.get("fields") or {}).items():
        where = f"{flow_id}.fields.{path}"
        assert path in catalogue, f"{where}: not a field of the dossier model"
        assert catalogue[path].category in flow["categories"], f"{where}: its category is not in this flow"
        assert "ground" not in rule, where
        _check_rule(where, rule)
    if flow["to"] == "research":
        assert flow.get("withhold_reporter") is True
        assert not {"health", "justice", "reporter"} & set(flow["categories"])


def test_flows_never_overlap() -> None:
    seen: dict[tuple[str, str, str, str], str] = {}
    for flow_id, flow in FLOWS.items():
        senders = ORG_TYPES if flow["from"] == "any" else {flow["from"]}
        for sender in senders:
            for purpose in flow["purposes"]:
                for pattern in flow["patterns"]:
                    key = (sender, flow["to"], purpose, pattern)
                    assert key not in seen, f"{flow_id} overlaps {seen.get(key)}"
                    seen[key] = flow_id


def test_research_guard_paths_exist(rego_names: dict[str, set[str]]) -> None:
    assert rego_names["_research_free_text"] <= set(field_catalogue())
