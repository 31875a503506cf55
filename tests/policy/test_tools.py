"""The privacy officer's tools on a policy version: check, test, explain, diff, what-if."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.core.settings import REPO_ROOT
from gateway.core.types import OrganisationType
from gateway.dossier.fields import flatten
from gateway.dossier.model import Gezinsdossier
from gateway.exchange.records import policy_input
from gateway.exchange.schemas import ExchangeContext
from gateway.policy import compare, tools
from gateway.policy.bundle import PolicyBundle, load_bundle
from gateway.policy.tables import parse_tables
from gateway.registry.organisations import Organisation
from tests.support import MELDING_CONTEXT, MELDING_DOSSIER


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", target)
    return target


def _edit_flows(policies: Path, change: Any) -> None:
    path = policies / "data" / "flows.yaml"
    flows = yaml.safe_load(path.read_text())
    change(flows)
    path.write_text(yaml.safe_dump(flows, allow_unicode=True, sort_keys=False))


def _org(kind: OrganisationType) -> Organisation:
    return Organisation(id=f"{kind.value.replace('_', '-')}-x", type=kind, name="x", oin="0" * 20)


def _melding_input(context: dict[str, Any] = MELDING_CONTEXT) -> dict[str, Any]:
    dossier = Gezinsdossier.model_validate(MELDING_DOSSIER).model_dump(mode="json", exclude_none=True)
    fields = flatten(dossier)
    return policy_input(pattern="push", sender=_org(OrganisationType.WIJKTEAM),
                        recipient=_org(OrganisationType.VEILIG_THUIS), purpose="melding", professional_role="x",
                        context=ExchangeContext.model_validate(context), subject_roles=["kind", "ouder", "melder"],
                        requested_categories=[f.category for f in fields], fields=fields,
                        today=dt.date(2026, 11, 22))


@pytest.fixture(scope="module")
def shipped() -> PolicyBundle:
    return load_bundle(REPO_ROOT / "policies")


def test_shipped_policies_pass_the_check(shipped: PolicyBundle) -> None:
    assert tools.check(shipped).problems == []


@pytest.mark.parametrize(("change", "expected"), [
    (lambda f: f["F2"].update(legal_basis="bestaat-niet"), "F2: legal basis bestaat-niet is not in legal_bases"),
    (lambda f: f["F2"]["categories"]["health"].pop("ground"), "F2: special category health (art9) passes without"),
    (lambda f: f["F2"]["conditions"].append("maanstand_gunstig"), "F2: unknown condition maanstand_gunstig"),
    (lambda f: f["F2"]["categories"].update(hobbies={"treatment": "pass", "reason": "Leuk om te weten."}),
     "F2: unknown category hobbies"),
    (lambda f: f["F2"].update(retention="twintig jaar"), "flows.F2.retention"),
    (lambda f: f["R1"]["categories"]["identification"].update(treatment="generalise"),
     "R1: identification generalises without a method"),
])
def test_check_names_what_is_wrong(tmp_path: Path, change: Any, expected: str) -> None:
    policies = _copy(tmp_path)
    _edit_flows(policies, change)
    problems = tools.check(load_bundle(policies)).problems
    assert any(expected in p for p in problems), problems


def test_check_reports_rego_that_does_not_compile(tmp_path: Path) -> None:
    policies = _copy(tmp_path)
    rego = policies / "gateway" / "decision" / "decision.rego"
    rego.write_text(rego.read_text() + "\nthis is not rego {\n")
    assert tools.check(load_bundle(policies)).problems[0].startswith("Rego does not compile")


def test_rego_tests_run_and_a_broken_policy_fails_them(shipped: PolicyBundle, tmp_path: Path) -> None:
    results = tools.run_tests(shipped)
    assert len(results) >= 20
    assert all(r.passed for r in results)
    policies = _copy(tmp_path)
    _edit_flows(policies, lambda f: f["F9"].update(withhold_reporter=False, categories={
        **f["F9"]["categories"], "reporter": {"treatment": "pass", "reason": "Per ongeluk opengezet."}}))
    broken = tools.run_tests(load_bundle(policies))
    assert any(not r.passed for r in broken)


def test_explain_says_which_flow_and_basis_decided_and_why(shipped: PolicyBundle) -> None:
    tables, _ = parse_tables(shipped.data["gateway"]["tables"])
    allowed = "\n".join(tools.explain(tools.decide(shipped, _melding_input()), tables))
    assert "Uitkomst: toegestaan" in allowed
    assert "F2 — Melding bij Veilig Thuis" in allowed
    assert "Wmo 2015 art. 5.2.6" in allowed
    refused = "\n".join(tools.explain(tools.decide(shipped, _melding_input({"parents_informed": True})), tables))
    assert "Uitkomst: geweigerd" in refused
    assert "afwegingskader" in refused


def test_diff_lists_the_flows_and_fields_that_change(shipped: PolicyBundle, tmp_path: Path) -> None:
    policies = _copy(tmp_path)
    _edit_flows(policies, lambda f: f["F2"]["categories"]["health"].update(treatment="drop"))
    before, _ = parse_tables(shipped.data["gateway"]["tables"])
    after, _ = parse_tables(load_bundle(policies).data["gateway"]["tables"])
    assert before is not None and after is not None
    assert compare.diff(before, after) == [compare.DiffRow("F2", "categorie health", "pass", "drop")]
    assert compare.diff(before, before) == []


def test_whatif_replays_recorded_inputs_against_a_candidate(shipped: PolicyBundle, tmp_path: Path) -> None:
    recorded = []
    for context in (MELDING_CONTEXT, {"parents_informed": True}):
        pin = _melding_input(context)
        decision = tools.decide(shipped, pin)
        recorded.append({"kind": "exchange", "exchange_id": f"x{len(recorded)}", "flow": decision["flow"],
                         "policy_input": pin, "decision": {"outcome": decision["outcome"]},
                         "fields": [{"path": path, "treatment": fd["treatment"]}
                                    for path, fd in decision["fields"].items()]})
    policies = _copy(tmp_path)
    _edit_flows(policies, lambda f: f["F2"]["categories"]["health"].update(treatment="drop"))
    report = compare.whatif(recorded, load_bundle(policies))
    assert report.replayed == 2
    assert report.outcome_changes == {}
    assert report.field_changes == {("F2", "health[].kind", "pass", "drop"): 1,
                                    ("F2", "health[].description", "pass", "drop"): 1}
    assert report.changed_exchanges == ["x0"]  # the refused one had passed nothing, so nothing changes
    _edit_flows(policies, lambda f: f.pop("F2"))
    gone = compare.whatif(recorded, load_bundle(policies))
    assert gone.outcome_changes[("F2", "allow", "deny")] == 1
