"""Exports with proof bundles: they verify offline, and fail — naming what — when an entry, a proof, a CSV column
or the checkpoint is altered."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session

from gateway.cli import main as cli_main
from gateway.core.database import write_session
from gateway.core.settings import REPO_ROOT, Settings
from gateway.exchange_log import merkle, retention
from gateway.exchange_log import service as log_service
from gateway.exchange_log.export import audit_path, build_bundle, root_of, tree_levels
from gateway.exchange_log.service import canonical_json, leaf_hash
from gateway.exchange_log.verify_export import BundleReport, verify_bundle
from gateway.policy.bundle import load_bundle
from gateway.pseudonymise.signing import Signer
from gateway.web import audit
from tests.exchange_log.log_support import SignedLog, verifier_key_of
from tests.inzage.inzage_support import write_two_families
from tests.support import BSN_MOTHER
from tests.web.web_support import add_user, login, page_csrf

Edit = Callable[[dict[str, bytes]], None]


@pytest.mark.parametrize("size", range(1, 34))
def test_proofs_read_off_the_tree_levels_are_the_rfc_9162_paths(size: int) -> None:
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(size)]
    levels = tree_levels(leaves)
    assert root_of(levels) == merkle.root(leaves)
    for index in range(size):
        assert audit_path(levels, index) == merkle.inclusion_proof(leaves, index, size)


async def _bundle(client: httpx.AsyncClient, app: FastAPI, **fields: str) -> bytes:
    add_user(app, "fg-export", ["dpo"])
    await login(client, "fg-export")
    csrf = await page_csrf(client, "/ui/exports/")
    response = await client.post("/ui/exports/bundle", data={"csrf_token": csrf, **fields})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    return response.content


def _files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def _write(files: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    return path


def _located(report: BundleReport) -> set[tuple[str, int | None]]:
    assert not report.ok, report.lines()
    return {(f.kind, f.position) for f in report.findings}


async def test_a_json_export_verifies_offline_from_the_command_line(
        signed_log: SignedLog, client: httpx.AsyncClient, app: FastAPI, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    files = _files(await _bundle(client, app, kind="exchange", format="json"))
    assert set(files) >= {"entries.jsonl", "proofs.json", "checkpoint.txt", "public-key", "manifest.json"}
    lines = [json.loads(line) for line in files["entries.jsonl"].splitlines()]
    assert lines and all(json.loads(line["entry"])["kind"] == "exchange" for line in lines)
    assert len(lines) == signed_log.size // 2  # every exchange has one exchange and one delivery record
    path = _write(files, tmp_path / "bundle.zip")
    key = tmp_path / "log.pub"
    key.write_text(signed_log.public_key)  # the key the DPO holds from another source
    assert cli_main(["log", "verify-export", str(path), "--public-key", str(key)]) == 0
    assert f"export verified ({len(lines)} entries" in capsys.readouterr().out
    with Session(app.state.db) as session:
        rows = audit.search(session, action="export").entries
    assert len(rows) == 1 and json.loads(rows[0].detail)["entries"] == len(lines)


async def test_a_csv_export_verifies_and_its_readable_columns_are_checked(
        signed_log: SignedLog, client: httpx.AsyncClient, app: FastAPI, tmp_path: Path) -> None:
    files = _files(await _bundle(client, app, format="csv", purpose="melding"))
    assert verify_bundle(_write(files, tmp_path / "ok.zip"), public_key_text=signed_log.public_key).ok
    text = files["entries.csv"].decode()
    assert "wijkteam-utrecht-west" in text and ",melding," in text
    files["entries.csv"] = text.replace("vt-utrecht,melding", "rvdk-midden-nederland,melding", 1).encode()
    report = verify_bundle(_write(files, tmp_path / "csv.zip"), public_key_text=signed_log.public_key)
    (kind, position), = _located(report)
    assert kind == "altered" and position is not None


def _change_entry(files: dict[str, bytes], *, rehash: bool) -> int:
    lines = [json.loads(line) for line in files["entries.jsonl"].splitlines()]
    target = lines[1]
    entry = json.loads(target["entry"])
    entry["purpose"] = "onderzoek_en_sturing"
    target["entry"] = canonical_json(entry).decode()
    if rehash:
        target["leaf_hash"] = leaf_hash(target["entry"].encode())
    files["entries.jsonl"] = b"".join(canonical_json(line) + b"\n" for line in lines)
    return int(target["position"])


def _change_proof(files: dict[str, bytes]) -> int:
    proofs = json.loads(files["proofs.json"])
    item = proofs["proofs"][0]
    item["path"][0] = "00" * 32
    files["proofs.json"] = json.dumps(proofs).encode()
    return int(item["position"])


async def test_the_verifier_names_an_altered_entry_proof_or_checkpoint(
        signed_log: SignedLog, client: httpx.AsyncClient, app: FastAPI, tmp_path: Path) -> None:
    original = _files(await _bundle(client, app, format="json"))
    key = signed_log.public_key

    files = dict(original)
    position = _change_entry(files, rehash=False)
    assert _located(verify_bundle(_write(files, tmp_path / "a.zip"), public_key_text=key)) == {
        ("altered", position)}

    files = dict(original)
    position = _change_entry(files, rehash=True)  # the leaf hash recomputed: now the proof no longer fits
    assert _located(verify_bundle(_write(files, tmp_path / "b.zip"), public_key_text=key)) == {("proof", position)}

    files = dict(original)
    position = _change_proof(files)
    assert _located(verify_bundle(_write(files, tmp_path / "c.zip"), public_key_text=key)) == {("proof", position)}

    files = dict(original)
    note = files["checkpoint.txt"].decode().split("\n")
    note[1] = str(int(note[1]) + 1)  # a bigger tree than was signed
    files["checkpoint.txt"] = "\n".join(note).encode()
    assert ("signature", None) in _located(verify_bundle(_write(files, tmp_path / "d.zip"), public_key_text=key))

    forged = verifier_key_of(signed_log.note, Signer.generate())  # a bundle re-signed by someone else
    assert _located(verify_bundle(_write(dict(original), tmp_path / "e.zip"), public_key_text=forged)) == {
        ("signature", None)}
    assert cli_main(["log", "verify-export", str(tmp_path / "a.zip")]) == 1
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    assert cli_main(["log", "verify-export", str(tmp_path / "broken.zip")]) == 2


async def test_a_person_export_holds_only_that_persons_exchanges_and_keeps_the_bsn_out(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI, tmp_path: Path) -> None:
    log = await write_two_families(client, settings, app)
    files = _files(await _bundle(client, app, bsn=BSN_MOTHER, kind="exchange", format="json"))
    positions = {json.loads(line)["position"] for line in files["entries.jsonl"].splitlines()}
    assert positions == log.a_positions
    assert BSN_MOTHER.encode() not in b"".join(files.values())
    assert json.loads(files["manifest.json"])["filters"] == {"kind": "exchange", "person": "(persoon)"}
    assert verify_bundle(_write(files, tmp_path / "p.zip")).ok  # with the bundle's own key (and a note)
    with Session(app.state.db) as session:
        detail = audit.search(session, action="export").entries[0].detail
    assert BSN_MOTHER not in detail and json.loads(detail)["filters"] == ["kind", "person"]
    csrf = await page_csrf(client, "/ui/exports/")
    wrong = await client.post("/ui/exports/bundle", data={"csrf_token": csrf, "bsn": "123456789"})
    assert wrong.status_code == 422 and "123456789" not in wrong.text


async def test_purged_entries_in_an_export_are_proven_by_their_leaf_and_named(
        signed_log: SignedLog, app: FastAPI, tmp_path: Path) -> None:
    deps = app.state.log
    periods = retention.periods(load_bundle(REPO_ROOT / "policies").data["gateway"]["tables"])
    now = dt.datetime.now(dt.UTC)
    with write_session(app.state.db) as session:
        retention.purge_due(session, retention=periods, now=now + dt.timedelta(days=365 * 21), signer=deps.signer,
                            origin=deps.origin)
        bundle = build_bundle(session, log_service.entries_for_exchange(session, _first_exchange_id(session)),
                              fmt="json", signer=deps.signer, origin=deps.origin, now=now, filters={})
        session.commit()
    path = tmp_path / "purged.zip"
    path.write_bytes(bundle.content)
    report = verify_bundle(path, public_key_text=signed_log.public_key)
    assert report.ok, report.lines()
    assert report.purged == [0, 1] and "purged under retention" in "\n".join(report.lines())


def _first_exchange_id(session: Session) -> str:
    entry = log_service.entry_at(session, 0)
    assert entry is not None and entry.exchange_id is not None
    return entry.exchange_id
