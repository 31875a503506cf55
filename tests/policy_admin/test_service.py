"""Policy versions and four-eyes activation, through the service the pages and the command line share."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text, update
from sqlmodel import Session, col, select

from gateway.core.database import run_db
from gateway.core.settings import Settings
from gateway.exchange_log.models import LogEntry
from gateway.policy.bundle import bundle_hash, load_bundle
from gateway.policy_admin import service
from gateway.policy_admin.errors import (
    FourEyesRequired,
    NotAPrivacyOfficer,
    PolicyVersionInvalid,
    PolicyVersionState,
    PolicyVersionTampered,
)
from gateway.policy_admin.models import PolicyVersion
from gateway.web import audit
from tests.policy_admin.policy_support import drop_f9_health, push_f9
from tests.web.web_support import add_user

NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)
ANNA, BRAM, CARLA = service.Who("po-a"), service.Who("po-b"), service.Who("fg-c")


@pytest.fixture
def people(app: FastAPI) -> FastAPI:
    add_user(app, "po-a", ["privacy_officer"])
    add_user(app, "po-b", ["privacy_officer"])
    add_user(app, "fg-c", ["dpo"])
    return app


async def _db(app: FastAPI, work: Any, write: bool = True) -> Any:
    return await run_db(app.state.db, work, write=write)


async def _draft_without_f9_health(app: FastAPI, who: service.Who = ANNA) -> PolicyVersion:
    draft = await _db(app, lambda s: service.draft_from(s, number=None, who=who, now=NOW))
    flows = service.files_of(draft)["data/flows.yaml"]
    return await _db(app, lambda s: service.save_draft(s, number=draft.number, who=who, now=NOW,
                                                       tables={"data/flows.yaml": drop_f9_health(flows)},
                                                       note="F9 zonder gezondheidsgegevens"))


def _policy_log(app: FastAPI) -> list[dict[str, Any]]:
    with Session(app.state.db) as session:
        rows = session.exec(select(LogEntry.entry).where(col(LogEntry.kind) == service.LOG_KIND)
                            .order_by(col(LogEntry.position)))
        return [json.loads(r) for r in rows]


async def test_the_disk_bundle_becomes_version_1_signed_and_active_at_first_start(app: FastAPI) -> None:
    settings = app.state.settings
    versions = await _db(app, service.versions, write=False)
    assert [(v.number, v.state, v.author, v.source) for v in versions] == [(1, "active", "systeem", "first-start")]
    v1 = versions[0]
    assert v1.bundle_hash == load_bundle(settings.policies_dir).hash == app.state.exchange.policy.bundle_hash
    assert service.verified_bundle(v1, app.state.policy_signer.public_key).hash == v1.bundle_hash
    entries = await _db(app, lambda s: audit.search(s, actor="systeem", action="policy_approved").entries, False)
    assert len(entries) == 1 and json.loads(entries[0].detail)["first_start"] is True
    assert _policy_log(app) == []  # the seed is not an activation by people; the log starts with the traffic


async def test_four_eyes_the_author_cannot_approve_a_dpo_cannot_and_a_colleague_activates(people: FastAPI) -> None:
    app, signer = people, people.state.policy_signer
    draft = await _draft_without_f9_health(app)
    with pytest.raises(PolicyVersionState):  # a draft is not yet up for approval
        await _db(app, lambda s: service.approve(s, number=draft.number, who=BRAM, signer=signer, now=NOW))
    with pytest.raises(FourEyesRequired):  # only the author edits or submits a draft
        await _db(app, lambda s: service.submit(s, number=draft.number, who=BRAM, now=NOW))
    await _db(app, lambda s: service.submit(s, number=draft.number, who=ANNA, now=NOW))
    with pytest.raises(FourEyesRequired):
        await _db(app, lambda s: service.approve(s, number=draft.number, who=ANNA, signer=signer, now=NOW))
    with pytest.raises(NotAPrivacyOfficer):
        await _db(app, lambda s: service.approve(s, number=draft.number, who=CARLA, signer=signer, now=NOW))
    assert (await _db(app, service.active, write=False)).number == 1  # refusals changed nothing

    v1 = await _db(app, lambda s: service.get(s, 1), write=False)
    v2 = await _db(app, lambda s: service.approve(s, number=draft.number, who=BRAM, signer=signer, now=NOW))
    assert (v2.state, v2.author, v2.decided_by, v2.previous_hash) == ("active", "po-a", "po-b", v1.bundle_hash)
    assert (await _db(app, lambda s: service.get(s, 1), write=False)).state == "superseded"
    [record] = _policy_log(app)
    assert record["policy"] == {
        "version": 2, "bundle_hash": v2.bundle_hash, "previous_hash": v1.bundle_hash, "previous_version": 1,
        "author": "po-a", "approver": "po-b", "rollback_of": None, "source": "web",
        "signing_key_id": v2.signing_key_id}
    assert v2.log_position == record["position"]
    approved = await _db(app, lambda s: audit.search(s, actor="po-b", action="policy_approved").entries, False)
    assert json.loads(approved[0].detail)["bundle_hash"] == v2.bundle_hash


async def test_a_version_whose_rego_tests_fail_cannot_be_submitted(people: FastAPI) -> None:
    # Version 1 passes health data in F9, which the Rego suite says must never happen: its copy fails the tests.
    draft = await _db(people, lambda s: service.draft_from(s, number=None, who=ANNA, now=NOW))
    with pytest.raises(PolicyVersionInvalid) as refused:
        await _db(people, lambda s: service.submit(s, number=draft.number, who=ANNA, now=NOW))
    assert any("test_f9_observation_source_and_health_dropped" in p for p in refused.value.extra["problems"])
    assert (await _db(people, lambda s: service.get(s, draft.number), write=False)).state == "draft"


@pytest.mark.parametrize(("edit", "expected"), [
    ("F9: [unclosed", "Geen geldige YAML (regel 1"),
    (None, "F9 → categories → health → treatment: moet een van deze waarden zijn: pass, pseudonymise"),
])
async def test_saving_a_broken_table_is_refused_with_a_dutch_message(people: FastAPI, edit: str | None,
                                                                     expected: str) -> None:
    draft = await _db(people, lambda s: service.draft_from(s, number=None, who=ANNA, now=NOW))
    flows = service.files_of(draft)["data/flows.yaml"]
    text_ = edit if edit is not None else drop_f9_health(flows).replace(
        "treatment: drop\n      reason: Het wijkteam heeft voor de toeleiding", "treatment: weglaten\n"
        "      reason: Het wijkteam heeft voor de toeleiding")
    with pytest.raises(PolicyVersionInvalid) as refused:
        await _db(people, lambda s: service.save_draft(s, number=draft.number, who=ANNA, now=NOW,
                                                       tables={"data/flows.yaml": text_}, note=None))
    reasons = [p.reason for p in refused.value.invalid_params]
    assert any(r.startswith(expected) for r in reasons), reasons
    assert refused.value.invalid_params[0].name == "data/flows.yaml"
    stored = await _db(people, lambda s: service.get(s, draft.number), write=False)
    assert stored.bundle_hash == draft.bundle_hash  # nothing was stored


@pytest.mark.parametrize("tamper", ["files", "files_and_hash", "signature"])
async def test_a_tampered_stored_version_is_refused_and_the_engine_fails_closed(people: FastAPI, settings: Settings,
                                                                               tamper: str) -> None:
    app = people
    v1 = await _db(app, lambda s: service.get(s, 1), write=False)
    files = service.files_of(v1)
    files["data/flows.yaml"] = files["data/flows.yaml"].replace("withhold_reporter: true", "withhold_reporter: false")
    values: dict[str, Any] = {
        "files": {"files": json.dumps(files)},
        "files_and_hash": {"files": json.dumps(files), "bundle_hash": bundle_hash(files)},
        "signature": {"signature": "A" * 88},
    }[tamper]

    def change(session: Session) -> None:
        session.execute(update(PolicyVersion).where(col(PolicyVersion.number) == 1).values(**values))

    await _db(app, change)
    tampered = await _db(app, lambda s: service.get(s, 1), write=False)
    with pytest.raises(PolicyVersionTampered):
        service.verified_bundle(tampered, app.state.policy_signer.public_key)
    # The replica notices on its next poll and refuses every decision rather than use the changed policy.
    runtime = app.state.policy_runtime
    assert await runtime.sync() is False
    assert runtime.engine.refusing is not None
    assert await app.state.exchange.policy.ready() is False
    refused = await push_f9(app, settings)
    assert refused.status_code == 503 and refused.json()["code"] == "policy-unavailable"


async def test_rollback_goes_through_four_eyes_and_restores_the_earlier_hash(people: FastAPI) -> None:
    app, signer = people, people.state.policy_signer
    v2 = await _draft_without_f9_health(app)
    await _db(app, lambda s: service.submit(s, number=v2.number, who=ANNA, now=NOW))
    v2 = await _db(app, lambda s: service.approve(s, number=v2.number, who=BRAM, signer=signer, now=NOW))
    v3 = await _db(app, lambda s: service.draft_from(s, number=None, who=BRAM, now=NOW))
    flows = service.files_of(v3)["data/flows.yaml"].replace(
        "Het wijkteam moet het gezin kunnen bereiken.", "Het wijkteam moet het gezin zelf kunnen bereiken.")
    assert flows != service.files_of(v3)["data/flows.yaml"]
    await _db(app, lambda s: service.save_draft(s, number=v3.number, who=BRAM, now=NOW,
                                                tables={"data/flows.yaml": flows}, note="reden verduidelijkt"))
    await _db(app, lambda s: service.submit(s, number=v3.number, who=BRAM, now=NOW))
    await _db(app, lambda s: service.approve(s, number=v3.number, who=ANNA, signer=signer, now=NOW))
    with pytest.raises(PolicyVersionState):  # only an earlier active version can be rolled back to
        await _db(app, lambda s: service.rollback(s, number=v3.number, who=BRAM, now=NOW))

    back = await _db(app, lambda s: service.rollback(s, number=v2.number, who=BRAM, now=NOW))
    assert (back.state, back.rollback_of, back.bundle_hash) == ("submitted", v2.number, v2.bundle_hash)
    with pytest.raises(FourEyesRequired):
        await _db(app, lambda s: service.approve(s, number=back.number, who=BRAM, signer=signer, now=NOW))
    done = await _db(app, lambda s: service.approve(s, number=back.number, who=ANNA, signer=signer, now=NOW))
    assert done.state == "active" and done.bundle_hash == v2.bundle_hash
    assert _policy_log(app)[-1]["policy"]["rollback_of"] == v2.number
    rolled = await _db(app, lambda s: audit.search(s, actor="po-a", action="policy_rollback").entries, False)
    assert len(rolled) == 1
    # The runtime's own poll may have loaded it first (then this sync has nothing to swap): what counts is that
    # the engine now runs the rollback version, with the earlier version's bundle.
    await app.state.policy_runtime.sync()
    assert app.state.policy_runtime.version == done.number
    assert app.state.exchange.policy.bundle_hash == v2.bundle_hash


async def test_a_rejected_version_never_becomes_active(people: FastAPI) -> None:
    draft = await _draft_without_f9_health(people)
    await _db(people, lambda s: service.submit(s, number=draft.number, who=ANNA, now=NOW))
    with pytest.raises(FourEyesRequired):
        await _db(people, lambda s: service.reject(s, number=draft.number, who=ANNA, reason="toch niet", now=NOW))
    rejected = await _db(people, lambda s: service.reject(s, number=draft.number, who=BRAM, reason="Nog bespreken",
                                                          now=NOW))
    assert (rejected.state, rejected.decided_by, rejected.decision_note) == ("rejected", "po-b", "Nog bespreken")
    with pytest.raises(PolicyVersionState):
        await _db(people, lambda s: service.approve(s, number=draft.number, who=BRAM,
                                                    signer=people.state.policy_signer, now=NOW))
    with Session(people.state.db) as session:
        assert session.execute(text("SELECT count(*) FROM policy_version WHERE state = 'active'")).scalar() == 1
