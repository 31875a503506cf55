"""Both PolicyEngine implementations over the same bundle: same decisions, and both fail closed."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import pytest

from gateway.core.errors import PolicyUnavailable
from gateway.core.settings import REPO_ROOT
from gateway.core.types import OrganisationType
from gateway.dossier.fields import flatten
from gateway.dossier.model import Gezinsdossier
from gateway.exchange.records import policy_input
from gateway.exchange.schemas import ExchangeContext
from gateway.policy.bundle import PolicyBundle, load_bundle
from gateway.policy.engine import EmbeddedEngine, OpaServerEngine
from gateway.registry.organisations import Organisation
from tests.support import MELDING_CONTEXT, MELDING_DOSSIER


def _org(kind: OrganisationType) -> Organisation:
    return Organisation(id=f"{kind.value.replace('_', '-')}-test", type=kind, name=kind.value, oin="0" * 20)


def _inputs() -> list[dict[str, Any]]:
    dossier = Gezinsdossier.model_validate(MELDING_DOSSIER).model_dump(mode="json", exclude_none=True)
    fields = flatten(dossier)
    t = OrganisationType
    cases: list[tuple[OrganisationType, OrganisationType, str, dict[str, Any]]] = [
        (t.WIJKTEAM, t.VEILIG_THUIS, "melding", MELDING_CONTEXT),
        (t.WIJKTEAM, t.VEILIG_THUIS, "melding", {}),
        (t.WIJKTEAM, t.VEILIG_THUIS, "melding", {**MELDING_CONTEXT, "conflict_van_plichten": True}),
        (t.WIJKTEAM, t.VEILIG_THUIS, "adviesvraag", {}),
        (t.WIJKTEAM, t.GI, "informatie_ots", {}),
        (t.WIJKTEAM, t.GI, "informatie_ots", {"measure": {"kind": "ots", "reference": "C/16/1",
                                                          "start": "2026-01-01", "end": "2027-01-01"}}),
        (t.VEILIG_THUIS, t.WIJKTEAM, "toeleiding_hulp", {"kader": "vrijwillig"}),
        (t.VEILIG_THUIS, t.RVDK, "verzoek_tot_onderzoek", {"voluntary_help_insufficient": True}),
        (t.WIJKTEAM, t.RESEARCH, "onderzoek_en_sturing", {}),
        (t.RESEARCH, t.WIJKTEAM, "melding", {}),
    ]
    return [policy_input(pattern="push", sender=_org(s), recipient=_org(r), purpose=purpose,
                         professional_role="professional", context=ExchangeContext.model_validate(ctx),
                         subject_roles=["kind", "ouder", "melder"],
                         requested_categories=sorted({f.category for f in fields}), fields=fields,
                         today=dt.date(2026, 11, 22))
            for s, r, purpose, ctx in cases]


@pytest.fixture(scope="module")
def bundle() -> PolicyBundle:
    return load_bundle(REPO_ROOT / "policies")


@pytest.mark.opa
async def test_embedded_and_opa_server_engines_decide_identically(bundle: PolicyBundle) -> None:
    pytest.importorskip("opa_bindings", reason="OPA's Go evaluator (test extra) is not installed")
    from tests.policy.opa_rest_server import opa_rest_server

    embedded = EmbeddedEngine(bundle)
    with opa_rest_server(bundle) as url:
        opa = OpaServerEngine(url=url, bundle_hash=bundle.hash, tls_verify=True, ca_file=None, timeout=5)
        try:
            assert await opa.ready()
            outcomes = set()
            for case in _inputs():
                a = await embedded.decide(case)
                b = await opa.decide(case)
                assert a.model_dump(exclude={"decision_id", "engine"}) == \
                    b.model_dump(exclude={"decision_id", "engine"})
                outcomes.add(a.outcome.value)
            assert outcomes == {"allow", "deny", "escalate"}  # the sample covers every outcome
        finally:
            await opa.aclose()


async def test_opa_server_engine_fails_closed_when_opa_is_down(bundle: PolicyBundle) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = OpaServerEngine(url=f"http://127.0.0.1:{port}", bundle_hash=bundle.hash, tls_verify=True,
                             ca_file=None, timeout=1)
    try:
        with pytest.raises(PolicyUnavailable):
            await engine.decide(_inputs()[0])
        assert not await engine.ready()
    finally:
        await engine.aclose()


def test_embedded_engine_fails_closed_on_an_undefined_decision(bundle: PolicyBundle) -> None:
    broken = PolicyBundle(modules={"x.rego": "package gateway.decision\n"}, test_modules={}, data=bundle.data,
                          hash="sha256:x")
    engine = EmbeddedEngine(broken)
    import asyncio

    with pytest.raises(PolicyUnavailable):
        asyncio.run(engine.decide(_inputs()[0]))


def test_bundle_hash_changes_with_any_policy_file(bundle: PolicyBundle, tmp_path: Any) -> None:
    import shutil

    copy = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", copy)
    assert load_bundle(copy).hash == bundle.hash
    table = next((copy / "data").glob("*.yaml"))
    table.write_text(table.read_text() + "\n# changed\n")
    assert load_bundle(copy).hash != bundle.hash
