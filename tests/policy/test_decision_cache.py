"""The per-version decision cache: hits are the same decision with a new identity, never another version's."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gateway.core.errors import PolicyUnavailable
from gateway.core.settings import REPO_ROOT
from gateway.core.types import Treatment
from gateway.policy.bundle import PolicyBundle, bundle_from_files, load_bundle, read_bundle_files
from gateway.policy.decisions import validated
from gateway.policy.engine import EmbeddedEngine, OpaServerEngine
from gateway.policy.models import Decision
from tests.policy import decision_inputs

IDENTITY = {"decision_id", "bundle_hash", "engine"}
F2_CONTACT = """    contact:
      treatment: pass
      reason: Veilig Thuis moet het gezin kunnen bereiken.
"""
F2_CONTACT_DROPPED = """    contact:
      treatment: drop
      reason: Variant voor de test van de beslissingscache.
"""


@pytest.fixture(scope="module")
def bundle() -> PolicyBundle:
    return load_bundle(REPO_ROOT / "policies")


@pytest.fixture(scope="module")
def contact_dropped() -> PolicyBundle:
    """The same version except that F2 drops contact data."""
    files = read_bundle_files(REPO_ROOT / "policies")
    assert files["data/flows.yaml"].count(F2_CONTACT) == 1
    files["data/flows.yaml"] = files["data/flows.yaml"].replace(F2_CONTACT, F2_CONTACT_DROPPED)
    return bundle_from_files(files)


def _melding(children: int = 2, **context: Any) -> dict[str, Any]:
    fields = decision_inputs.dossier_fields(decision_inputs.melding_with_children(children))
    case = decision_inputs.CASES[1]
    return decision_inputs.build(fields, (*case[:4], {**case[4], **context}))


class _Counted:
    """Counts the evaluations an engine makes (the cache's own counters are checked beside it)."""

    def __init__(self, engine: EmbeddedEngine) -> None:
        self.calls = 0
        evaluate = engine._evaluate

        def spy(compiled: Any, policy_input: dict[str, Any]) -> Any:
            self.calls += 1
            return evaluate(compiled, policy_input)

        engine._evaluate = spy  # type: ignore[method-assign]


def _content(decision: Decision) -> dict[str, Any]:
    return decision.model_dump(exclude=IDENTITY)


async def test_a_repeated_decision_comes_from_the_cache_with_its_own_identity(bundle: PolicyBundle) -> None:
    engine = EmbeddedEngine(bundle)
    counted = _Counted(engine)
    pin = _melding()
    first = await engine.decide(pin)
    second = await engine.decide(pin)
    assert counted.calls == 1
    assert (engine.decisions.cache.hits, engine.decisions.cache.misses) == (1, 1)
    assert first.decision_id != second.decision_id
    assert second.bundle_hash == bundle.hash and second.engine == "embedded"
    assert _content(second) == _content(first) == _content(validated(engine.evaluate(pin)))


async def test_a_different_input_is_not_served_anothers_decision(bundle: PolicyBundle) -> None:
    engine = EmbeddedEngine(bundle)
    counted = _Counted(engine)
    allowed = await engine.decide(_melding())
    refused = await engine.decide(_melding(parents_informed=False))
    escalated = await engine.decide(_melding(conflict_van_plichten=True))
    assert counted.calls == 3
    assert [d.outcome.value for d in (allowed, refused, escalated)] == ["allow", "deny", "escalate"]
    other_day = _melding()
    other_day["today"] = "2026-11-23"
    await engine.decide(other_day)
    assert counted.calls == 4
    assert engine.decisions.cache.hits == 0


async def test_many_inputs_through_one_cache_each_get_their_own_decision(bundle: PolicyBundle) -> None:
    engine = EmbeddedEngine(bundle)
    inputs = decision_inputs.all_inputs()
    expected = [_content(validated(engine.evaluate(pin))) for _, pin in inputs]
    for _ in range(2):  # the second round is served from the cache
        for (label, pin), content in zip(inputs, expected, strict=True):
            assert _content(await engine.decide(pin)) == content, label
    cache = engine.decisions.cache
    assert cache.hits >= len(inputs) and len(cache) == cache.misses <= len(inputs)


async def test_callers_cannot_change_a_cached_decision(bundle: PolicyBundle) -> None:
    engine = EmbeddedEngine(bundle)
    pin = _melding()
    first = await engine.decide(pin)
    expected = _content(first)
    first.reasons.append("changed")
    first.obligations.clear()
    a_field = next(iter(first.fields.values()))
    with pytest.raises(ValidationError):  # the parts shared with the cache are frozen
        a_field.treatment = Treatment.PASS
    if first.legal_basis is not None:
        with pytest.raises(ValidationError):
            first.legal_basis.avg_article = "changed"
    with pytest.raises(ValidationError):
        first.break_glass.applied = True
    first.fields.clear()
    first.outcome = first.outcome.__class__("deny")
    assert _content(await engine.decide(pin)) == expected


async def test_another_version_never_gets_the_old_versions_decision(bundle: PolicyBundle,
                                                                    contact_dropped: PolicyBundle) -> None:
    engine = EmbeddedEngine(bundle)
    pin = _melding()
    old = await engine.decide(pin)
    await engine.decide(pin)
    assert engine.decisions.cache.hits == 1
    contact = [path for path, f in old.fields.items() if path.endswith(".phone")]
    assert contact and all(old.fields[p].treatment.value == "pass" for p in contact)

    await engine.activate(contact_dropped)
    new = await engine.decide(pin)
    assert engine.decisions.cache.hits == 0  # a fresh cache for the new version
    assert new.bundle_hash == contact_dropped.hash != bundle.hash
    assert all(new.fields[p].treatment.value == "drop" for p in contact)
    assert _content(new) == _content(validated(engine.evaluate(pin)))

    await engine.activate(bundle)  # back: decided anew under the old version, not from a kept cache
    back = await engine.decide(pin)
    assert engine.decisions.cache.misses == 1 and back.bundle_hash == bundle.hash
    assert _content(back) == _content(old)


async def test_a_refusing_engine_refuses_a_cached_input(bundle: PolicyBundle) -> None:
    engine = EmbeddedEngine(bundle)
    pin = _melding()
    await engine.decide(pin)
    engine.refuse("tampered version")
    with pytest.raises(PolicyUnavailable):
        await engine.decide(pin)
    assert engine.decisions.cache.hits == 0
    await engine.activate(bundle)
    await engine.decide(pin)


async def test_the_cache_is_bounded_and_drops_the_least_recently_used(bundle: PolicyBundle) -> None:
    engine = EmbeddedEngine(bundle, decision_cache_size=2)
    counted = _Counted(engine)
    a, b, c = _melding(), _melding(parents_informed=False), _melding(conflict_van_plichten=True)
    for pin in (a, b, a, c):  # a was used after b: b goes when c comes
        await engine.decide(pin)
    cache = engine.decisions.cache
    assert (len(cache), cache.evictions, counted.calls) == (2, 1, 3)
    await engine.decide(a)
    await engine.decide(c)
    assert counted.calls == 3
    await engine.decide(b)
    assert counted.calls == 4 and len(cache) == 2


async def test_size_zero_disables_the_cache(bundle: PolicyBundle) -> None:
    engine = EmbeddedEngine(bundle, decision_cache_size=0)
    counted = _Counted(engine)
    pin = _melding()
    first = await engine.decide(pin)
    second = await engine.decide(pin)
    assert counted.calls == 2 and len(engine.decisions.cache) == 0
    assert _content(first) == _content(second)


@pytest.mark.opa
async def test_opa_engine_asks_the_sidecar_every_time(bundle: PolicyBundle, contact_dropped: PolicyBundle) -> None:
    """No cache for the OPA-server engine: a decision must show the sidecar holds the version it names."""
    pytest.importorskip("opa_bindings", reason="OPA's Go evaluator (test extra) is not installed")
    from tests.policy.opa_rest_server import opa_rest_server_state

    pin = _melding()
    with opa_rest_server_state(bundle) as (url, sidecar):
        opa = OpaServerEngine(url=url, bundle_hash=bundle.hash, tls_verify=True, ca_file=None, timeout=5)
        try:
            await opa.activate(contact_dropped)
            first = await opa.decide(pin)
            assert first.bundle_hash == contact_dropped.hash and opa.decisions.compacting
            assert any(f.treatment.value == "drop" for p, f in first.fields.items() if p.endswith(".phone"))
            assert opa.decisions.cache.size == 0
            # The sidecar restarts with the version it was deployed with: the same input is refused now.
            sidecar.rebuild({f"/policies/rego/{rel}": src for rel, src in bundle.modules.items()}, dict(bundle.data))
            with pytest.raises(PolicyUnavailable):
                await opa.decide(pin)
            with pytest.raises(PolicyUnavailable):
                await opa.decide(pin)  # refusing from then on, until a push
            await opa.activate(contact_dropped)
            assert _content(await opa.decide(pin)) == _content(first)
        finally:
            await opa.aclose()
