"""The log API: signed checkpoints, proofs that verify (and fail when tampered), witnesses, the periodic task."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlmodel import Session

from gateway.core.settings import Settings
from gateway.exchange_log import merkle
from gateway.exchange_log.checkpoint import key_id, parse_note
from gateway.exchange_log.models import LogCheckpoint
from gateway.exchange_log.verify import load_public_key
from gateway.main import create_app
from gateway.pseudonymise.signing import Signer, SigningKeyError, load_log_signer
from tests.exchange_log.log_support import WITNESS_ORG, SignedLog, auth, exchange
from tests.support import GI, RVDK, VT, WIJKTEAM


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


async def test_a_checkpoint_is_a_signed_note_over_the_logs_root(
        client: httpx.AsyncClient, settings: Settings, signed_log: SignedLog, app: FastAPI) -> None:
    headers = await auth(client, settings, GI)
    latest = await client.get("/v1/log/checkpoint", headers=headers)
    assert latest.status_code == 200
    body = latest.json()
    note = await client.get("/v1/log/checkpoint", headers=headers | {"Accept": "text/plain"})
    assert note.headers["content-type"].startswith("text/plain")
    assert note.text == body["note"] == signed_log.note
    assert body["body"] == f"kgb-gateway/gateway.test\n{signed_log.size}\n{body['root_hash']}\n" \
                           f"{body['time'][:19]}Z\n"
    with Session(app.state.db) as session:
        row = session.get(LogCheckpoint, signed_log.size)
        leaves = [bytes.fromhex(h) for h in session.execute(text(
            "SELECT leaf_hash FROM exchange_log WHERE position < :n ORDER BY position"), {"n": signed_log.size})
            .scalars()]
    assert row is not None and bytes.fromhex(row.root_hash) == merkle.root(leaves) == _b64(body["root_hash"])
    name, public_key = load_public_key(signed_log.public_key)
    parsed = parse_note(note.text)
    assert parsed.verified_by(name or "", public_key)
    assert parsed.signatures[0].key_id == key_id("kgb-gateway/gateway.test", public_key)
    assert not parsed.verified_by("kgb-gateway/gateway.test", Signer.generate().public_key)


async def test_no_checkpoint_yet_is_a_problem_not_an_error(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.get("/v1/log/checkpoint", headers=await auth(client, settings, GI))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "checkpoint-not-found"
    assert (await client.get("/v1/log/checkpoint")).status_code == 401


async def test_an_unchanged_log_keeps_its_checkpoint(client: httpx.AsyncClient, settings: Settings,
                                                     signed_log: SignedLog) -> None:
    again = await client.post("/v1/log/checkpoints", headers=await auth(client, settings, GI))
    assert again.json()["note"] == signed_log.note


async def test_inclusion_proofs_verify_against_the_signed_root_for_the_parties_only(
        client: httpx.AsyncClient, settings: Settings, signed_log: SignedLog) -> None:
    root = parse_note(signed_log.note).checkpoint().root_hash
    sender, outsider = await auth(client, settings, WIJKTEAM), await auth(client, settings, RVDK)
    for position in range(signed_log.size):
        query = {"position": position, "tree_size": signed_log.size}
        response = await client.get("/v1/log/proofs/inclusion", params=query, headers=sender)
        assert response.status_code == 200, response.text
        proof = response.json()
        leaf = _b64(proof["leaf_hash"])
        assert leaf == merkle.leaf_hash(proof["entry"].encode())
        hashes = [_b64(p) for p in proof["proof"]]
        assert merkle.verify_inclusion(index=position, tree_size=signed_log.size, leaf=leaf, proof=hashes,
                                       root_hash=root)
        tampered = [bytes([hashes[0][0] ^ 1]) + hashes[0][1:], *hashes[1:]]
        assert not merkle.verify_inclusion(index=position, tree_size=signed_log.size, leaf=leaf, proof=tampered,
                                           root_hash=root)
        hidden = await client.get("/v1/log/proofs/inclusion", params=query, headers=outsider)
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "not-found"
    beyond = await client.get("/v1/log/proofs/inclusion", params={"position": 0, "tree_size": signed_log.size + 5},
                              headers=sender)
    assert beyond.status_code == 422
    assert beyond.json()["code"] == "invalid-proof-request"


async def test_consistency_proofs_link_the_signed_checkpoints(
        client: httpx.AsyncClient, settings: Settings, signed_log: SignedLog) -> None:
    headers = await auth(client, settings, RVDK)  # any partner: hashes only
    early = await client.get(f"/v1/log/checkpoints/{signed_log.early_size}", headers=headers)
    first_root = _b64(early.json()["root_hash"])
    second_root = parse_note(signed_log.note).checkpoint().root_hash
    response = await client.get("/v1/log/proofs/consistency", headers=headers,
                                params={"first": signed_log.early_size, "second": signed_log.size})
    assert response.status_code == 200, response.text
    proof = [_b64(p) for p in response.json()["proof"]]
    sizes = {"first": signed_log.early_size, "second": signed_log.size}
    assert merkle.verify_consistency(**sizes, first_root=first_root, second_root=second_root, proof=proof)
    assert not merkle.verify_consistency(**sizes, first_root=first_root, second_root=second_root,
                                         proof=[bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]])
    forked = merkle.root([merkle.leaf_hash(b"another history")] * signed_log.early_size)
    assert not merkle.verify_consistency(**sizes, first_root=forked, second_root=second_root, proof=proof)
    wrong = await client.get("/v1/log/proofs/consistency", headers=headers, params={"first": 5, "second": 3})
    assert wrong.status_code == 422


async def test_a_witness_cosigns_a_checkpoint_with_its_registered_key(
        client: httpx.AsyncClient, settings: Settings, signed_log: SignedLog, witness_signer: Signer) -> None:
    witness = await auth(client, settings, VT)
    checkpoint = (await client.get("/v1/log/checkpoint", headers=witness)).json()
    path = f"/v1/log/checkpoints/{checkpoint['tree_size']}/cosignatures"
    signature = base64.b64encode(witness_signer.sign(checkpoint["body"].encode())).decode()
    stored = await client.post(path, json={"signature": signature}, headers=witness)
    assert stored.status_code == 201, stored.text
    assert [c["organisation_id"] for c in stored.json()["cosignatures"]] == [WITNESS_ORG]
    shown = await client.get(path, headers=await auth(client, settings, GI))
    note = parse_note(shown.json()["note"])
    assert note.verified_by(WITNESS_ORG, witness_signer.public_key)
    latest = await client.get("/v1/log/checkpoint", headers=witness | {"Accept": "text/plain"})
    assert parse_note(latest.text).verified_by(WITNESS_ORG, witness_signer.public_key)
    forged = base64.b64encode(Signer.generate().sign(checkpoint["body"].encode())).decode()
    refused = await client.post(path, json={"signature": forged}, headers=witness)
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid-cosignature"
    not_a_witness = await client.post(path, json={"signature": signature}, headers=await auth(client, settings, GI))
    assert not_a_witness.status_code == 403
    assert not_a_witness.json()["code"] == "no-witness-key"
    unknown = await client.post("/v1/log/checkpoints/9999/cosignatures", json={"signature": signature},
                                headers=witness)
    assert unknown.status_code == 404


async def test_the_public_key_endpoint_serves_the_verifier_key(
        client: httpx.AsyncClient, settings: Settings, app: FastAPI) -> None:
    response = await client.get("/v1/log/public-key", headers=await auth(client, settings, WIJKTEAM))
    key = response.json()
    assert _b64(key["public_key"]) == app.state.log.signer.public_key
    assert load_public_key(key["verifier_key"]) == (key["origin"], app.state.log.signer.public_key)
    assert load_public_key(key["pem"]) == (None, app.state.log.signer.public_key)
    assert load_public_key(key["public_key"]) == (None, app.state.log.signer.public_key)


async def test_checkpoints_are_issued_periodically_and_the_task_survives_failures(
        settings: Settings, simulators: dict[str, FastAPI]) -> None:
    application = create_app(settings.model_copy(update={"checkpoint_interval_seconds": 0.05}))
    async with application.router.lifespan_context(application):
        deps = application.state.log
        signer, deps.signer = deps.signer, None  # every round fails until the key is back
        await asyncio.sleep(0.2)
        assert _checkpoints(application) == 0
        deps.signer = signer
        for _ in range(100):
            if _checkpoints(application):
                break
            await asyncio.sleep(0.05)
        assert _checkpoints(application) == 1


def _checkpoints(application: FastAPI) -> int:
    with Session(application.state.db) as session:
        return int(session.execute(select(func.count()).select_from(LogCheckpoint)).scalar_one())


async def test_the_log_endpoints_are_documented(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"/v1/log/checkpoint", "/v1/log/checkpoints", "/v1/log/checkpoints/{tree_size}/cosignatures",
            "/v1/log/proofs/inclusion", "/v1/log/proofs/consistency", "/v1/log/public-key"} <= set(spec["paths"])
    inclusion = spec["paths"]["/v1/log/proofs/inclusion"]["get"]
    assert inclusion["security"] == [{"oauth2": []}]
    assert "application/problem+json" in inclusion["responses"]["404"]["content"]
    assert "text/plain" in spec["paths"]["/v1/log/checkpoint"]["get"]["responses"]["200"]["content"]


def test_the_log_signing_key_is_generated_only_when_allowed(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError):
        load_log_signer(tmp_path / "keys", generate=False)
    created = load_log_signer(tmp_path / "keys", generate=True)
    assert os.stat(tmp_path / "keys" / "log-signing-key.pem").st_mode & 0o777 == 0o600
    assert load_log_signer(tmp_path / "keys", generate=False).public_key == created.public_key


async def test_exchanges_after_a_checkpoint_are_covered_by_the_next(
        client: httpx.AsyncClient, settings: Settings, signed_log: SignedLog) -> None:
    headers = await auth(client, settings, WIJKTEAM)
    await exchange(client, headers)
    newer = await client.post("/v1/log/checkpoints", headers=headers)
    assert newer.json()["tree_size"] > signed_log.size
