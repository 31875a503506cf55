"""Deciding per field class gives exactly the decision of evaluating every concrete field."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.errors import PolicyUnavailable
from gateway.core.settings import REPO_ROOT
from gateway.policy.bundle import PolicyBundle, load_bundle
from gateway.policy.decisions import VersionDecisions, validated
from gateway.policy.engine import EmbeddedEngine, OpaServerEngine
from gateway.policy.field_classes import REVIEWED_DECISION_MODULES, compact, modules_digest
from gateway.policy.models import Decision
from tests.policy import decision_inputs

IDENTITY = {"decision_id", "bundle_hash", "engine"}


@pytest.fixture(scope="module")
def bundle() -> PolicyBundle:
    return load_bundle(REPO_ROOT / "policies")


def _direct(engine: EmbeddedEngine, pin: dict[str, Any]) -> Decision:
    """The old way: regorus over the uncompacted input, every concrete field."""
    return validated(engine.evaluate(pin))


def _same(got: Decision, expected: Decision, label: str) -> None:
    assert got.model_dump(exclude=IDENTITY) == expected.model_dump(exclude=IDENTITY), label
    assert list(got.fields) == list(expected.fields), label  # also the order of the field entries


def test_the_shipped_decision_module_is_reviewed_for_field_classes(bundle: PolicyBundle) -> None:
    digest = modules_digest(bundle.modules)
    assert digest in REVIEWED_DECISION_MODULES, (
        f"policies/ Rego changed ({digest}): check the path-independence argument in "
        "gateway/policy/field_classes.py for it, then add the digest to REVIEWED_DECISION_MODULES. "
        "Until then decisions are evaluated per concrete field and not cached.")


async def test_compacted_decisions_equal_direct_evaluation(bundle: PolicyBundle) -> None:
    engine = EmbeddedEngine(bundle, decision_cache_size=0)
    assert engine.decisions.compacting
    seen: dict[str, set[Any]] = {"outcome": set(), "glass": set(), "research": set(), "withheld": set(),
                                 "override": set(), "merged": set()}
    flows = bundle.data["gateway"]["tables"]["flows"]
    override_reasons = {rule["reason"] for flow in flows.values() for rule in flow.get("fields", {}).values()}
    inputs = decision_inputs.all_inputs()
    for label, pin in inputs:
        expected = _direct(engine, pin)
        got = await engine.decide(pin)
        _same(got, expected, label)
        assert got.bundle_hash == bundle.hash
        assert got.engine == "embedded"
        classes = compact(pin["fields"])
        assert classes is not None, label
        seen["merged"].add(classes.classes < len(pin["fields"]))
        seen["outcome"].add(got.outcome.value)
        seen["glass"].add(got.break_glass.applied)
        seen["research"].add(pin["recipient"]["type"] == "research" and got.outcome.value == "allow")
        reasons = {f.reason for f in got.fields.values()}
        seen["withheld"].add("Gegevens van de melder worden in deze gegevensstroom nooit verstrekt." in reasons)
        seen["override"].add(bool(reasons & override_reasons) and got.outcome.value == "allow")
    # The sample covers what the argument must hold for, so the comparison above cannot pass vacuously.
    assert seen["outcome"] == {"allow", "deny", "escalate"}
    for what in ("glass", "research", "withheld", "override", "merged"):
        assert True in seen[what], what
    assert len(inputs) > 100


async def test_more_children_are_the_same_classes(bundle: PolicyBundle) -> None:
    one = decision_inputs.dossier_fields(decision_inputs.melding_with_children(1))
    three = decision_inputs.dossier_fields(decision_inputs.melding_with_children(3))
    a, b = compact(one), compact(three)
    assert a is not None and b is not None
    assert len(three) > len(one)
    assert a.fields_json == b.fields_json  # the same input to evaluate, so one cache entry serves both
    engine = EmbeddedEngine(bundle)
    case = decision_inputs.CASES[1]
    first = await engine.decide(decision_inputs.build(one, case))
    pin = decision_inputs.build(three, case)
    hits = engine.decisions.cache.hits
    second = await engine.decide(pin)
    assert engine.decisions.cache.hits == hits + 1
    _same(second, _direct(engine, pin), "three children from the one-child entry")
    assert set(second.fields) == {f["path"] for f in three}
    assert len(first.fields) == len(one) < len(second.fields)


async def test_other_organisations_of_the_same_types_and_another_role_share_the_decision(
        bundle: PolicyBundle) -> None:
    """The module reads the parties' types only and never the professional's role: a decision for one
    wijkteam → Veilig Thuis pair serves every other such pair, and equals evaluating that pair directly."""
    engine = EmbeddedEngine(bundle)
    fields = decision_inputs.dossier_fields(decision_inputs.melding_with_children(2))
    for case in decision_inputs.CASES:
        first = decision_inputs.build(fields, case)
        other = decision_inputs.build(fields, case)
        other["sender"]["id"], other["recipient"]["id"] = "wijkteam-elders", "veilig-thuis-elders"
        other["professional_role"] = "gedragswetenschapper"
        expected = _direct(engine, other)  # the whole input, ids and role included, every field
        await engine.decide(first)
        hits = engine.decisions.cache.hits
        got = await engine.decide(other)
        assert engine.decisions.cache.hits == hits + 1, case
        _same(got, expected, f"{case}")
    # Another type is another decision.
    research = decision_inputs.build(fields, decision_inputs.CASES[0])
    research["recipient"]["type"] = "research"
    misses = engine.decisions.cache.misses
    await engine.decide(research)
    assert engine.decisions.cache.misses == misses + 1


def test_compaction_merges_only_what_the_module_cannot_tell_apart() -> None:
    def entry(path: str, role: str | None = None, **over: Any) -> dict[str, Any]:
        e: dict[str, Any] = {"path": path, "field": "persons[].surname", "category": "identification",
                             "identifier": True}
        if role:
            e["subject_role"] = role
        return {**e, **over}

    found = compact([entry("persons[0].surname", "kind"), entry("persons[1].surname", "ouder"),
                     entry("persons[2].surname", "melder", category="reporter"),
                     entry("persons[3].surname", "melder", category="reporter"), entry("household.x")])
    assert found is not None
    assert found.classes == 2  # a reporter's field stays apart; the roles the module does not read merge
    assert found.fields[1] == {"path": "1", "field": "persons[].surname", "category": "reporter",
                               "identifier": True, "subject_role": "melder"}
    assert "subject_role" not in found.fields[0]
    assert found.pairs == sorted(found.pairs)
    unusual = [
        [entry("a"), entry("a")],  # a path twice
        [entry("a"), entry("b", note="x")],  # an unknown key
        [entry("a"), entry("b", identifier=1)],  # 1 is not true in Rego
        [entry("a"), {"field": "x", "category": "y", "identifier": True}],  # no path
        [entry("a"), "persons[0].bsn"],
        [entry("a", subject_role=None)],
        [entry("a", category=["identification"])],
    ]
    for fields in unusual:
        assert compact(fields) is None, fields
    assert compact("not a list") is None


async def test_unusual_fields_are_evaluated_as_given(bundle: PolicyBundle) -> None:
    engine = EmbeddedEngine(bundle)
    pin = decision_inputs.build(decision_inputs.dossier_fields(decision_inputs.melding_with_children(2)),
                                decision_inputs.CASES[1])
    pin["fields"][3]["note"] = "extra"
    pin["fields"].append({**pin["fields"][0]})  # the same path twice
    got = await engine.decide(pin)
    _same(got, _direct(engine, pin), "unusual fields")
    again = await engine.decide(pin)
    assert engine.decisions.cache.hits == 1
    _same(again, got, "cached as given")


def test_an_answer_with_fields_of_no_class_fails_closed(bundle: PolicyBundle) -> None:
    version = VersionDecisions(bundle_hash=bundle.hash, modules=bundle.modules, cache_size=8)
    pin = decision_inputs.build(decision_inputs.every_field(), decision_inputs.CASES[1])
    prepared = version.prepare(pin)
    raw = {"outcome": "allow", "fields": {"0": {"treatment": "pass"}, "persons[0].bsn": {"treatment": "pass"}}}
    with pytest.raises(PolicyUnavailable):
        version.settle(prepared, raw, engine="embedded")
    assert len(version.cache) == 0


async def test_an_unreviewed_module_is_evaluated_per_field_and_not_cached(bundle: PolicyBundle) -> None:
    modules = {rel: source + "\n# changed\n" for rel, source in bundle.modules.items()}
    changed = PolicyBundle(modules=modules, test_modules={}, data=bundle.data, hash="sha256:changed")
    engine = EmbeddedEngine(changed)
    assert not engine.decisions.compacting
    pin = decision_inputs.build(decision_inputs.every_field(), decision_inputs.CASES[1])
    calls: list[dict[str, Any]] = []
    evaluate = engine._evaluate

    def spy(compiled: Any, policy_input: dict[str, Any]) -> Any:
        calls.append(policy_input)
        return evaluate(compiled, policy_input)

    engine._evaluate = spy  # type: ignore[method-assign]
    first = await engine.decide(pin)
    await engine.decide(pin)
    assert len(calls) == 2
    assert calls[0] is pin  # as given, every concrete field
    _same(first, _direct(engine, pin), "unreviewed")
    assert first.bundle_hash == "sha256:changed"


@pytest.mark.opa
async def test_opa_engine_decides_per_class_like_direct_evaluation(bundle: PolicyBundle) -> None:
    pytest.importorskip("opa_bindings", reason="OPA's Go evaluator (test extra) is not installed")
    from tests.policy.opa_rest_server import opa_rest_server

    embedded = EmbeddedEngine(bundle, decision_cache_size=0)
    inputs = [pin for label, pin in decision_inputs.all_inputs() if label.startswith(("every field", "melding, 3"))]
    with opa_rest_server(bundle) as url:
        opa = OpaServerEngine(url=url, bundle_hash=bundle.hash, tls_verify=True, ca_file=None, timeout=5)
        try:
            assert not opa.decisions.compacting  # the sidecar's Rego is unknown until this engine pushed it
            await opa.activate(bundle)
            assert opa.decisions.compacting
            for pin in inputs:
                got = await opa.decide(pin)
                _same(got, _direct(embedded, pin), "opa")
                assert got.engine == "opa" and got.bundle_hash == bundle.hash
        finally:
            await opa.aclose()
