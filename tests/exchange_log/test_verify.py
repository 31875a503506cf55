"""`gateway log verify` on a log written by real exchanges: every kind of tampering is detected and located."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from gateway.cli import main as cli_main
from gateway.core.settings import Settings, get_settings
from gateway.exchange_log.service import canonical_json, leaf_hash
from gateway.exchange_log.verify import (
    Report,
    checkpoints_from_database,
    load_public_key,
    rows_from_database,
    rows_from_export,
    verify,
)
from gateway.pseudonymise.signing import Signer
from tests.exchange_log.log_support import SignedLog, verifier_key_of

Change = Callable[[dict[str, Any]], None]


def _verify(log: SignedLog, *, note: str | None = None, key: str | None = None) -> Report:
    name, public_key = load_public_key(key or log.public_key)
    return verify(rows_from_database(log.database_url), note_text=note or log.note, public_key=public_key,
                  key_name=name, history=checkpoints_from_database(log.database_url))


def _located(report: Report) -> set[tuple[str, int | None]]:
    assert not report.ok
    return {(f.kind, f.position) for f in report.findings}


def _entry(db: Engine, position: int) -> dict[str, Any]:
    with db.connect() as connection:
        raw = connection.execute(text("SELECT entry FROM exchange_log WHERE position = :p"), {"p": position})
        entry: dict[str, Any] = json.loads(raw.scalar_one())
    return entry


def _rewrite(db: Engine, position: int, change: Change, *, rehash: bool) -> str:
    """Change an entry as someone with SQL access would; with `rehash` they recompute its leaf hash too."""
    entry = _entry(db, position)
    change(entry)
    text_value = canonical_json(entry).decode()
    hashed = ", leaf_hash = :h" if rehash else ""
    with db.begin() as connection:
        connection.execute(text(f"UPDATE exchange_log SET entry = :e{hashed} WHERE position = :p"),  # noqa: S608
                           {"e": text_value, "h": leaf_hash(text_value.encode()), "p": position})
    return leaf_hash(text_value.encode())


def _backdate(entry: dict[str, Any]) -> None:
    entry["time"] = "2026-01-01T00:00:00.000000+00:00"


async def test_an_untouched_log_verifies_from_the_command_line(
        signed_log: SignedLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint, key = tmp_path / "checkpoint.txt", tmp_path / "log.pub"
    checkpoint.write_text(signed_log.note)
    key.write_text(signed_log.public_key)
    argv = ["log", "verify", "--checkpoint", str(checkpoint), "--public-key", str(key),
            "--database", signed_log.database_url]
    assert cli_main(argv) == 0
    expected = f"log verified ({signed_log.size} entries, checkpoint tree size {signed_log.size})"
    assert expected in capsys.readouterr().out
    assert cli_main(["log", "check", "--database", signed_log.database_url]) == 0


async def test_every_entry_links_to_the_leaf_hash_before_it(signed_log: SignedLog, app: FastAPI) -> None:
    rows = list(rows_from_database(signed_log.database_url))
    assert [r.position for r in rows] == list(range(signed_log.size))
    links = [json.loads(r.entry)["prev_leaf_hash"] for r in rows]
    assert links == ["0" * 64] + [r.leaf_hash for r in rows[:-1]]


async def test_an_altered_entry_is_named(signed_log: SignedLog, app: FastAPI, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _rewrite(app.state.db, 5, _backdate, rehash=False)
    assert _located(_verify(signed_log)) == {("altered", 5), ("root-mismatch", signed_log.early_size)}
    checkpoint, key = tmp_path / "checkpoint.txt", tmp_path / "log.pub"
    checkpoint.write_text(signed_log.note)
    key.write_text(signed_log.public_key)
    argv = ["log", "verify", "--checkpoint", str(checkpoint), "--public-key", str(key),
            "--database", signed_log.database_url]
    assert cli_main(argv) == 1
    assert "ALTERED position 5:" in capsys.readouterr().out


async def test_an_entry_altered_with_its_hash_recomputed_is_named_by_the_chain(
        signed_log: SignedLog, app: FastAPI) -> None:
    _rewrite(app.state.db, 5, _backdate, rehash=True)
    assert _located(_verify(signed_log)) == {("altered", 5), ("root-mismatch", signed_log.early_size)}


async def test_rewriting_the_next_link_too_still_fails_the_signed_root(signed_log: SignedLog, app: FastAPI) -> None:
    new_hash = _rewrite(app.state.db, 5, _backdate, rehash=True)
    _rewrite(app.state.db, 6, lambda e: e.update(prev_leaf_hash=new_hash), rehash=True)
    assert _located(_verify(signed_log)) == {("altered", 6), ("root-mismatch", signed_log.early_size)}


async def test_a_rewritten_chain_is_placed_by_the_signed_checkpoints(signed_log: SignedLog, app: FastAPI) -> None:
    new_hash = _rewrite(app.state.db, 5, _backdate, rehash=True)
    for position in range(6, signed_log.size):
        new_hash = _rewrite(app.state.db, position, lambda e, h=new_hash: e.update(prev_leaf_hash=h), rehash=True)
    report = _verify(signed_log)
    assert _located(report) == {("root-mismatch", signed_log.early_size)}
    assert f"positions {signed_log.early_size} to {signed_log.size - 1}" in report.findings[0].message
    assert cli_main(["log", "check", "--database", signed_log.database_url]) == 0  # why the checkpoint matters


async def test_a_removed_entry_is_named(signed_log: SignedLog, app: FastAPI) -> None:
    with app.state.db.begin() as connection:
        connection.execute(text("DELETE FROM exchange_log WHERE position = 2"))
    assert _located(_verify(signed_log)) == {("removed", 2), ("root-mismatch", None)}


async def test_a_removed_entry_is_named_after_renumbering(signed_log: SignedLog, app: FastAPI) -> None:
    with app.state.db.begin() as connection:
        connection.execute(text("DELETE FROM exchange_log WHERE position = 2"))
        _shift(connection, start=3, by=-1)
    assert ("removed", 2) in _located(_verify(signed_log))


async def test_entries_removed_from_the_end_are_named(signed_log: SignedLog, app: FastAPI) -> None:
    with app.state.db.begin() as connection:
        connection.execute(text("DELETE FROM exchange_log WHERE position = :p"), {"p": signed_log.size - 1})
    assert _located(_verify(signed_log)) == {("truncated", signed_log.size - 1)}


def _shift(connection: Any, *, start: int, by: int) -> None:
    # Two steps, so no intermediate row collides with a primary key that is still taken.
    connection.execute(text("UPDATE exchange_log SET position = position + 1000000 WHERE position >= :s"),
                       {"s": start})
    connection.execute(text("UPDATE exchange_log SET position = position - 1000000 + :by "
                            "WHERE position >= 1000000"), {"by": by})


async def test_an_inserted_entry_is_named(signed_log: SignedLog, app: FastAPI) -> None:
    forged = _entry(app.state.db, 3) | {"record_id": str(uuid.uuid4()), "purpose": "verzonnen"}
    entry = canonical_json(forged).decode()  # a well-formed entry: right position, right link, right hash
    with app.state.db.begin() as connection:
        _shift(connection, start=3, by=1)
        connection.execute(text("INSERT INTO exchange_log (position, record_id, kind, recorded_at, entry, leaf_hash) "
                                "VALUES (3, :r, 'exchange', :t, :e, :h)"),
                           {"r": forged["record_id"], "t": dt.datetime.now(dt.UTC), "e": entry,
                            "h": leaf_hash(entry.encode())})
    report = _verify(signed_log)
    assert _located(report) == {("inserted", 3), ("root-mismatch", 0)}


async def test_reordered_entries_are_named(signed_log: SignedLog, app: FastAPI) -> None:
    with app.state.db.begin() as connection:
        connection.execute(text("UPDATE exchange_log SET position = -1 WHERE position = 2"))
        connection.execute(text("UPDATE exchange_log SET position = 2 WHERE position = 3"))
        connection.execute(text("UPDATE exchange_log SET position = 3 WHERE position = -1"))
    assert _located(_verify(signed_log)) == {("reordered", 3), ("root-mismatch", 0)}


async def test_a_checkpoint_signed_by_another_key_or_edited_is_refused(signed_log: SignedLog) -> None:
    other = verifier_key_of(signed_log.note, Signer.generate())
    assert _located(_verify(signed_log, key=other)) == {("signature", None)}
    lines = signed_log.note.split("\n")
    lines[1] = str(signed_log.size - 1)  # claim a smaller tree: the signature no longer covers the body
    assert ("signature", None) in _located(_verify(signed_log, note="\n".join(lines)))


async def test_an_export_verifies_offline_and_a_changed_line_is_named(
        signed_log: SignedLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export, checkpoint, key = tmp_path / "log.jsonl", tmp_path / "checkpoint.txt", tmp_path / "log.pub"
    assert cli_main(["log", "export", "--out", str(export), "--database", signed_log.database_url]) == 0
    checkpoint.write_text(signed_log.note)
    key.write_text(signed_log.public_key)
    argv = ["log", "verify", "--checkpoint", str(checkpoint), "--public-key", str(key), "--export", str(export)]
    assert cli_main(argv) == 0
    lines = export.read_text().splitlines()
    row = json.loads(lines[4])
    row["entry"] = row["entry"].replace('"kind":"', '"kind":"x', 1)
    lines[4] = json.dumps(row)
    export.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert cli_main(argv) == 1
    assert "ALTERED position 4:" in capsys.readouterr().out
    assert _located(verify(rows_from_export(export), note_text=signed_log.note,
                           public_key=load_public_key(signed_log.public_key)[1])) == {("altered", 4),
                                                                                      ("root-mismatch", 0)}


async def test_the_operator_hands_out_the_checkpoint_and_key_the_verifier_needs(
        signed_log: SignedLog, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint, key = tmp_path / "checkpoint.txt", tmp_path / "log.pub"
    assert cli_main(["log", "checkpoint", "--out", str(checkpoint), "--database", signed_log.database_url]) == 0
    assert checkpoint.read_text() == signed_log.note
    # The command line reads its settings from the environment, as an operator runs it.
    monkeypatch.setenv("GATEWAY_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("GATEWAY_PUBLIC_URL", settings.public_url)
    get_settings.cache_clear()
    try:
        assert cli_main(["log", "public-key", "--out", str(key)]) == 0
    finally:
        get_settings.cache_clear()
    assert key.read_text().strip() == signed_log.public_key
    assert cli_main(["log", "verify", "--checkpoint", str(checkpoint), "--public-key", str(key),
                     "--database", signed_log.database_url]) == 0
    key.write_text("not a key")
    assert cli_main(["log", "verify", "--checkpoint", str(checkpoint), "--public-key", str(key),
                     "--database", signed_log.database_url]) == 2
