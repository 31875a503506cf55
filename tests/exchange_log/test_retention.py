"""Retention: expired records' content is purged while their leaves stay; purges are logged; the verifier accepts
a logged purge and catches an entry hidden as if it were purged."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import Session

from gateway.cli import main as cli_main
from gateway.core.database import write_session
from gateway.core.settings import REPO_ROOT, Settings, get_settings
from gateway.exchange_log import merkle, retention
from gateway.exchange_log import service as log_service
from gateway.exchange_log.checkpointer import LogDeps
from gateway.exchange_log.purged import PURGE_KIND, stub_entry
from gateway.exchange_log.verify import Report, checkpoints_from_database, load_public_key, rows_from_database, verify
from gateway.policy.bundle import load_bundle
from gateway.policy.tables import parse_tables
from gateway.web import audit
from tests.exchange_log.log_support import SignedLog, auth
from tests.support import VT

LATER = dt.timedelta(days=365 * 21)  # past the 20 years of a melding


def _periods() -> dict[str, str]:
    return retention.periods(load_bundle(REPO_ROOT / "policies").data["gateway"]["tables"])


def _verify(log: SignedLog, note: str) -> Report:
    name, key = load_public_key(log.public_key)
    return verify(rows_from_database(log.database_url), note_text=note, public_key=key, key_name=name,
                  history=checkpoints_from_database(log.database_url))


def _purge(app: FastAPI, *, now: dt.datetime) -> retention.PurgeResult:
    deps: LogDeps = app.state.log
    with write_session(app.state.db) as session:
        result = retention.purge_due(session, retention=_periods(), now=now, signer=deps.signer, origin=deps.origin)
        session.commit()
    return result


def _note(app: FastAPI, size: int) -> str:
    with Session(app.state.db) as session:
        return log_service.checkpoint_at(session, size).note


def _entry(app: FastAPI, position: int) -> tuple[str, str]:
    with Session(app.state.db) as session:
        row = log_service.entry_at(session, position)
        assert row is not None
        return row.entry, row.leaf_hash


def test_cutoffs_follow_the_calendar() -> None:
    assert retention.cutoff(dt.datetime(2036, 2, 29, tzinfo=dt.UTC), "P20Y") == dt.datetime(2016, 2, 29, tzinfo=dt.UTC)
    assert retention.cutoff(dt.datetime(2037, 2, 28, tzinfo=dt.UTC), "P1Y") == dt.datetime(2036, 2, 28, tzinfo=dt.UTC)
    assert retention.cutoff(dt.datetime(2026, 3, 31, tzinfo=dt.UTC), "P1M") == dt.datetime(2026, 2, 28, tzinfo=dt.UTC)
    assert retention.cutoff(dt.datetime(2026, 1, 20, tzinfo=dt.UTC), "P2W3D") == dt.datetime(2026, 1, 3, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="duration"):
        retention.cutoff(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "20 jaar")


def test_every_purpose_in_the_policy_tables_has_a_retention_period() -> None:
    tables, problems = parse_tables(load_bundle(REPO_ROOT / "policies").data["gateway"]["tables"])
    assert tables is not None, problems
    assert all(p.retention for p in tables.purposes.values())
    assert _periods()["melding"] == "P20Y"


async def test_expired_content_is_purged_the_purge_is_logged_and_the_tree_still_verifies(
        signed_log: SignedLog, app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> None:
    before = {p: _entry(app, p) for p in range(signed_log.size)}
    assert _identity_terms(app)  # the review index knows who was involved …
    assert not _purge(app, now=dt.datetime.now(dt.UTC)).plans  # nothing is due yet
    result = _purge(app, now=dt.datetime.now(dt.UTC) + LATER)
    assert result.purged == signed_log.size  # every exchange of purpose melding, with its delivery record
    assert {p.purpose for p in result.plans} == {"melding"}
    assert result.checkpoint_size == signed_log.size + 1
    for position, (old_entry, old_leaf) in before.items():
        entry, leaf = _entry(app, position)
        assert leaf == old_leaf and entry != old_entry  # the leaf stays, the content goes
        assert "PS1." not in entry and "subjects" not in entry
    assert _identity_terms(app) == 0  # … and forgets it with the purge
    purge_entry = json.loads(_entry(app, signed_log.size)[0])
    assert purge_entry["kind"] == PURGE_KIND and purge_entry["purpose"] == "melding"
    assert sorted(i["position"] for i in purge_entry["purged"]) == list(range(signed_log.size))

    report = _verify(signed_log, _note(app, signed_log.size + 1))
    assert report.ok, report.lines()
    assert report.purged == signed_log.size
    assert cli_main(["log", "check", "--database", signed_log.database_url]) == 0
    # Against the checkpoint signed before the purge the leaves still match, but the purges are not covered.
    stale = _verify(signed_log, signed_log.note)
    assert {f.kind for f in stale.findings} == {"unproven-purge"}
    assert {f.position for f in stale.findings} == set(range(signed_log.size))

    # An inclusion proof for a purged position still verifies against the new root.
    response = await client.get("/v1/log/proofs/inclusion", params={"position": 0, "tree_size": signed_log.size + 1},
                                headers=await auth(client, settings, VT))
    assert response.status_code == 200, response.text
    proof = response.json()
    assert merkle.verify_inclusion(index=0, tree_size=signed_log.size + 1,
                                   leaf=base64.b64decode(proof["leaf_hash"]),
                                   proof=[base64.b64decode(p) for p in proof["proof"]],
                                   root_hash=base64.b64decode(proof["root_hash"]))
    assert not _purge(app, now=dt.datetime.now(dt.UTC) + LATER).plans  # purging twice purges nothing


def _identity_terms(app: FastAPI) -> int:
    """Person and professional pseudonyms the review desk's side index holds."""
    with Session(app.state.db) as session:
        people = session.execute(text("SELECT count(*) FROM review_term WHERE term LIKE 'person:%'")).scalar_one()
        staff = session.execute(text("SELECT count(*) FROM review_index WHERE professional IS NOT NULL")).scalar_one()
    return int(people) + int(staff)


def _hide(app: FastAPI, position: int, *, purged_by: int) -> None:
    """What someone with SQL access might try: replace an entry by a stub, leaving its leaf hash."""
    entry, _ = _entry(app, position)
    stub = stub_entry(json.loads(entry), purged_by=purged_by, purge_time="2030-01-01T00:00:00+00:00").decode()
    with app.state.db.begin() as connection:
        connection.execute(text("UPDATE exchange_log SET entry = :e WHERE position = :p"), {"e": stub, "p": position})


async def test_an_entry_hidden_as_if_purged_is_detected(signed_log: SignedLog, app: FastAPI) -> None:
    _hide(app, 2, purged_by=signed_log.size - 1)
    report = _verify(signed_log, signed_log.note)
    assert {(f.kind, f.position) for f in report.findings} == {("unproven-purge", 2)}

    # A forged purge record appended after the checkpoint does not cover it either.
    with write_session(app.state.db) as session:
        _, leaf = _entry(app, 3)
        forged = log_service.append(session, kind=PURGE_KIND, record={
            "purpose": "melding", "outcome": "purged", "purged": [{"position": 3, "leaf_hash": leaf}]},
            now=dt.datetime.now(dt.UTC))
        session.commit()
    _hide(app, 3, purged_by=forged.position)
    report = _verify(signed_log, signed_log.note)
    assert {(f.kind, f.position) for f in report.findings} == {("unproven-purge", 2), ("unproven-purge", 3)}
    assert "beyond the checkpoint" in next(f.message for f in report.findings if f.position == 3)


async def test_a_purged_entry_whose_leaf_is_changed_is_detected(signed_log: SignedLog, app: FastAPI) -> None:
    result = _purge(app, now=dt.datetime.now(dt.UTC) + LATER)
    assert result.checkpoint_size is not None
    with app.state.db.begin() as connection:
        connection.execute(text("UPDATE exchange_log SET leaf_hash = :h WHERE position = 1"), {"h": "ab" * 32})
    report = _verify(signed_log, _note(app, result.checkpoint_size))
    kinds = {(f.kind, f.position) for f in report.findings}
    assert ("unproven-purge", 1) in kinds and not report.ok


async def test_the_command_line_purges_what_is_due_and_a_dry_run_changes_nothing(
        signed_log: SignedLog, app: FastAPI, client: httpx.AsyncClient, settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with app.state.db.begin() as connection:  # the first exchange and its delivery are 21 years old
        connection.execute(text("UPDATE exchange_log SET recorded_at = :t WHERE position IN (0, 1)"),
                           {"t": dt.datetime.now(dt.UTC) - LATER})
    monkeypatch.setenv("GATEWAY_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", settings.public_url)
    get_settings.cache_clear()
    try:
        assert cli_main(["log", "purge", "--dry-run", "--database", signed_log.database_url]) == 0
        assert "would purge 2 record(s) of purpose melding" in capsys.readouterr().out
        assert '"subjects"' in _entry(app, 0)[0]
        assert cli_main(["log", "purge", "--database", signed_log.database_url]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "purged 2 record(s) of purpose melding" in out and "checkpoint signed" in out
    assert '"subjects"' not in _entry(app, 0)[0] and '"subjects"' in _entry(app, 2)[0]
    with Session(app.state.db) as session:
        purges = audit.search(session, action="retention_purge").entries
    assert len(purges) == 1 and purges[0].actor.startswith("cli:")
    assert json.loads(purges[0].detail)["purged"] == 2 and json.loads(purges[0].detail)["purposes"] == ["melding"]
    checkpoint, key = tmp_path / "checkpoint.txt", tmp_path / "log.pub"
    key.write_text(signed_log.public_key)
    assert cli_main(["log", "checkpoint", "--out", str(checkpoint), "--database", signed_log.database_url]) == 0
    assert cli_main(["log", "verify", "--checkpoint", str(checkpoint), "--public-key", str(key),
                     "--database", signed_log.database_url]) == 0
