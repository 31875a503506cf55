"""Hot reload: after approval the next exchange is decided under the new bundle hash, in every replica and on
both engines, without a restart; a failed push to the OPA sidecar fails closed."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI

from gateway.core.database import run_db
from gateway.core.settings import Settings
from gateway.policy_admin import service
from gateway.policy_admin.models import PolicyVersion
from tests.policy_admin.policy_support import (
    HEALTH_TEXT,
    drop_f9_health,
    health_treatments,
    logged_exchange,
    push_f9,
    received_by,
    running_gateway,
)
from tests.web.web_support import add_user

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)
ANNA, BRAM = service.Who("po-a"), service.Who("po-b")


async def _approve_f9_without_health(app: FastAPI) -> PolicyVersion:
    """po-a drafts and submits the change, po-b approves it (the service the page and the CLI use)."""
    add_user(app, "po-a", ["privacy_officer"])
    add_user(app, "po-b", ["privacy_officer"])

    def draft(session: Any) -> PolicyVersion:
        version = service.draft_from(session, number=None, who=ANNA, now=NOW)
        flows = drop_f9_health(service.files_of(version)["data/flows.yaml"])
        service.save_draft(session, number=version.number, who=ANNA, tables={"data/flows.yaml": flows},
                           note="F9 zonder gezondheid", now=NOW)
        return service.submit(session, number=version.number, who=ANNA, now=NOW)

    version = await run_db(app.state.db, draft, write=True)
    return await run_db(app.state.db, lambda s: service.approve(s, number=version.number, who=BRAM,
                                                                signer=app.state.policy_signer, now=NOW), write=True)


async def test_after_approval_the_next_f9_exchange_is_decided_under_the_new_hash_without_health(
        app: FastAPI, settings: Settings, simulators: dict[str, FastAPI]) -> None:
    before = await push_f9(app, settings)
    assert before.status_code == 201, before.text
    old_hash = app.state.exchange.policy.bundle_hash
    assert health_treatments(before) == {"pass"}
    assert HEALTH_TEXT in await received_by(simulators["wijkteam"], before.json()["exchange_id"])
    assert logged_exchange(app, before.json()["exchange_id"])["decision"]["bundle_hash"] == old_hash

    v2 = await _approve_f9_without_health(app)
    assert await app.state.policy_runtime.sync() is True  # what the approving page does at once

    after = await push_f9(app, settings)
    assert after.status_code == 201, after.text
    record = logged_exchange(app, after.json()["exchange_id"])
    assert record["decision"]["bundle_hash"] == v2.bundle_hash != old_hash
    assert after.json()["policy_bundle"] == v2.bundle_hash
    assert health_treatments(after) == {"drop"}
    assert HEALTH_TEXT not in await received_by(simulators["wijkteam"], after.json()["exchange_id"])


async def test_a_second_replica_on_the_same_database_picks_the_new_version_up_by_polling(
        app: FastAPI, settings: Settings, simulators: dict[str, FastAPI]) -> None:
    async with running_gateway(settings, simulators) as replica:
        assert replica.state.exchange.policy.bundle_hash == app.state.exchange.policy.bundle_hash
        replica.state.exchange.known_flows = frozenset()  # must be restored from the new version's tables
        v2 = await _approve_f9_without_health(app)  # approved through the first instance only
        for _ in range(100):
            if replica.state.exchange.policy.bundle_hash == v2.bundle_hash:
                break
            await asyncio.sleep(0.1)
        assert replica.state.exchange.policy.bundle_hash == v2.bundle_hash
        assert replica.state.policy_runtime.version == v2.number
        assert "F9" in replica.state.exchange.known_flows
        response = await push_f9(replica, settings)
        assert response.status_code == 201, response.text
        assert logged_exchange(replica, response.json()["exchange_id"])["decision"]["bundle_hash"] == v2.bundle_hash
        assert health_treatments(response) == {"drop"}


@pytest.mark.opa
async def test_the_opa_engine_pushes_each_version_to_its_sidecar_and_fails_closed_if_it_cannot(
        app: FastAPI, settings: Settings, simulators: dict[str, FastAPI]) -> None:
    pytest.importorskip("opa_bindings", reason="OPA's Go evaluator (test extra) is not installed")
    from gateway.core.settings import REPO_ROOT
    from gateway.policy.bundle import load_bundle
    from tests.policy.opa_rest_server import opa_rest_server_state

    # The sidecar starts with the repository's files (F9 without health); the gateway pushes its active version.
    with opa_rest_server_state(load_bundle(REPO_ROOT / "policies")) as (url, sidecar):
        opa_settings = settings.model_copy(update={"policy_engine": "opa", "opa_url": url,
                                                   "policy_reload_seconds": 0})
        async with running_gateway(opa_settings, simulators) as gateway:
            engine = gateway.state.exchange.policy
            assert engine.name == "opa" and engine.bundle_hash == app.state.exchange.policy.bundle_hash
            assert any(w.startswith("PUT /v1/policies//policies/rego/") for w in sidecar.writes)
            first = await push_f9(gateway, opa_settings)
            assert first.status_code == 201 and health_treatments(first) == {"pass"}  # the pushed v1 decided

            v2 = await _approve_f9_without_health(gateway)
            assert await gateway.state.policy_runtime.sync() is True
            second = await push_f9(gateway, opa_settings)
            assert second.status_code == 201, second.text
            assert logged_exchange(gateway, second.json()["exchange_id"])["decision"]["bundle_hash"] == v2.bundle_hash
            assert health_treatments(second) == {"drop"}
            disk = load_bundle(REPO_ROOT / "policies")
            assert set(sidecar.modules) == {f"/policies/rego/{rel}" for rel in disk.modules} | {
                "kgb-gateway/checked.rego"}  # replaced in place, no second copy of the package

            # The sidecar restarts with the files it was deployed with: no decision may carry v2's hash now.
            sidecar.rebuild({f"/policies/rego/{rel}": src for rel, src in disk.modules.items()}, dict(disk.data))
            assert (await push_f9(gateway, opa_settings)).status_code == 503
            assert await gateway.state.policy_runtime.sync() is True  # the next poll pushes v2 again
            again = await push_f9(gateway, opa_settings)
            assert again.status_code == 201 and again.json()["policy_bundle"] == v2.bundle_hash
            assert health_treatments(again) == {"drop"}

            # The sidecar refuses writes: the next version cannot be pushed, so nothing is decided at all.
            sidecar.fail_writes = True
            await run_db(gateway.state.db, lambda s: _approve_another_change(s, gateway), write=True)
            assert await gateway.state.policy_runtime.sync() is False
            refused = await push_f9(gateway, opa_settings)
            assert refused.status_code == 503, refused.text
            assert await engine.ready() is False
            sidecar.fail_writes = False
            assert await gateway.state.policy_runtime.sync() is True
            assert await engine.ready() is True


def _approve_another_change(session: Any, gateway: FastAPI) -> None:
    """A further small change, drafted by po-b and approved by po-a."""
    draft = service.draft_from(session, number=None, who=BRAM, now=NOW)
    flows = service.files_of(draft)["data/flows.yaml"].replace(
        "Het wijkteam moet het gezin kunnen bereiken.", "Het wijkteam moet het gezin zelf kunnen bereiken.")
    service.save_draft(session, number=draft.number, who=BRAM, tables={"data/flows.yaml": flows}, note=None, now=NOW)
    service.submit(session, number=draft.number, who=BRAM, now=NOW)
    service.approve(session, number=draft.number, who=ANNA, signer=gateway.state.policy_signer, now=NOW)


async def test_the_active_version_in_the_database_rules_over_a_different_bundle_on_disk(
        app: FastAPI, settings: Settings, simulators: dict[str, FastAPI]) -> None:
    from gateway.core.settings import REPO_ROOT
    from gateway.policy.bundle import load_bundle

    disk = load_bundle(REPO_ROOT / "policies")
    assert disk.hash != app.state.exchange.policy.bundle_hash  # this test's version 1 passes health in F9
    restarted = settings.model_copy(update={"policies_dir": REPO_ROOT / "policies"})
    async with running_gateway(restarted, simulators) as replica:
        assert replica.state.exchange.policy.bundle_hash == app.state.exchange.policy.bundle_hash
        response = await push_f9(replica, restarted)
        assert response.status_code == 201 and health_treatments(response) == {"pass"}
    versions = await run_db(app.state.db, service.versions)
    assert [v.number for v in versions] == [1]  # nothing was seeded or changed by the different disk bundle
