"""The log API: signed checkpoints, witnesses' cosignatures, inclusion and consistency proofs, the public key.

Thin: authorise, run the service in a worker thread, shape the answer. Partners with `exchange:read` may read
checkpoints and consistency proofs (hashes only) and witness checkpoints; an inclusion proof, which carries the
entry, goes only to the entry's sender or recipient.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlmodel import Session

from gateway.auth.dependencies import require_scope
from gateway.auth.tokens import Principal
from gateway.core.database import run_db
from gateway.core.errors import CheckpointNotFound
from gateway.exchange_log import service as log_service
from gateway.exchange_log.checkpoint import SignedNote, key_id, verifier_key
from gateway.exchange_log.checkpointer import LogDeps
from gateway.exchange_log.models import LogCheckpoint, LogCosignature
from gateway.exchange_log.schemas import (
    CheckpointOut,
    ConsistencyProofOut,
    CosignatureIn,
    InclusionProofOut,
    PublicKeyOut,
    b64,
)
from gateway.pseudonymise.signing import public_key_pem

router = APIRouter(prefix="/v1/log", tags=["log"])
ReadCaller = Annotated[Principal, Depends(require_scope("exchange:read"))]
# Sizes and positions beyond what the columns hold (INTEGER: 64-bit on SQLite, 32-bit on PostgreSQL) failed with a
# 500 (found by the schemathesis run); they are refused as invalid parameters (422) instead.
_MAX_INDEX = 2**31 - 1
TreeSize = Annotated[int, Path(ge=0, le=_MAX_INDEX)]

_PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid access token", **_PROBLEM},
    403: {"description": "Insufficient scope, or no witness key registered", **_PROBLEM},
    404: {"description": "No such checkpoint, or no entry visible to the caller", **_PROBLEM},
    422: {"description": "Sizes or positions outside the log, invalid parameters or cosignature", **_PROBLEM},
}
_NOTE: dict[int | str, dict[str, Any]] = {200: {
    "description": "The checkpoint: JSON, or the signed note itself with `Accept: text/plain`",
    "content": {"text/plain": {"schema": {"type": "string"}}}}}


_Cosigned = tuple[SignedNote, list[LogCosignature]]


def _deps(request: Request) -> LogDeps:
    deps: LogDeps = request.app.state.log
    return deps


def _with_cosignatures(checkpoint: LogCheckpoint | None) -> Callable[[Session], _Cosigned]:
    def work(session: Session) -> _Cosigned:
        row = checkpoint or log_service.latest_checkpoint(session)
        if row is None:
            raise CheckpointNotFound(detail="No checkpoint has been issued yet.")
        rows = log_service.cosignatures(session, row.tree_size)
        return log_service.cosigned_note(row, rows), rows

    return work


def _answer(request: Request, note: SignedNote, rows: list[LogCosignature]) -> Response | CheckpointOut:
    if "text/plain" in request.headers.get("accept", ""):
        return PlainTextResponse(note.text())
    return CheckpointOut.of(note, rows)


@router.get("/checkpoint", response_model=CheckpointOut, responses={**_NOTE, **_ERRORS},
            summary="The latest signed checkpoint (tree size, root hash, time) with witnesses' cosignatures")
async def latest(request: Request, _: ReadCaller) -> Response | CheckpointOut:
    note, rows = await run_db(_deps(request).db, _with_cosignatures(None))
    return _answer(request, note, rows)


@router.post("/checkpoints", response_model=CheckpointOut, responses=_ERRORS,
             summary="Sign the log now (returns the latest checkpoint when the log has not grown)")
async def issue(request: Request, _: ReadCaller) -> CheckpointOut:
    deps = _deps(request)
    row = await deps.issue()
    note, rows = await run_db(deps.db, _with_cosignatures(row))
    return CheckpointOut.of(note, rows)


@router.get("/checkpoints/{tree_size}", response_model=CheckpointOut, responses={**_NOTE, **_ERRORS},
            summary="The checkpoint at a tree size, with witnesses' cosignatures")
@router.get("/checkpoints/{tree_size}/cosignatures", response_model=CheckpointOut,
            responses={**_NOTE, **_ERRORS}, summary="The checkpoint at a tree size, with witnesses' cosignatures")
async def at_size(request: Request, tree_size: TreeSize, _: ReadCaller) -> Response | CheckpointOut:
    db = _deps(request).db
    row = await run_db(db, lambda s: log_service.checkpoint_at(s, tree_size))
    note, rows = await run_db(db, _with_cosignatures(row))
    return _answer(request, note, rows)


@router.post("/checkpoints/{tree_size}/cosignatures", status_code=201, response_model=CheckpointOut,
             responses=_ERRORS, summary="Witness a checkpoint: store your organisation's Ed25519 cosignature")
async def cosign(request: Request, tree_size: TreeSize, body: CosignatureIn, principal: ReadCaller) -> CheckpointOut:
    deps = _deps(request)

    def work(session: Session) -> LogCosignature:
        return log_service.add_cosignature(session, tree_size=tree_size, witness=principal.organisation,
                                           signature=body.signature, now=deps.clock())

    await run_db(deps.db, work, write=True)
    row = await run_db(deps.db, lambda s: log_service.checkpoint_at(s, tree_size))
    note, rows = await run_db(deps.db, _with_cosignatures(row))
    return CheckpointOut.of(note, rows)


@router.get("/proofs/inclusion", response_model=InclusionProofOut, responses=_ERRORS,
            summary="Inclusion proof for an entry your organisation sent or received")
async def inclusion(request: Request, principal: ReadCaller, position: Annotated[int, Query(ge=0, le=_MAX_INDEX)],
                    tree_size: Annotated[int, Query(ge=1, le=_MAX_INDEX)]) -> InclusionProofOut:
    def work(session: Session) -> InclusionProofOut:
        row, proof, root_hash = log_service.inclusion_proof(session, position=position, tree_size=tree_size,
                                                            organisation_id=principal.organisation.id)
        return InclusionProofOut(position=position, tree_size=tree_size, entry=row.entry,
                                 leaf_hash=b64(bytes.fromhex(row.leaf_hash)), root_hash=b64(root_hash),
                                 proof=[b64(p) for p in proof])

    return await run_db(_deps(request).db, work)


@router.get("/proofs/consistency", response_model=ConsistencyProofOut, responses=_ERRORS,
            summary="Consistency proof between two tree sizes (hashes only)")
async def consistency(request: Request, _: ReadCaller, first: Annotated[int, Query(ge=1, le=_MAX_INDEX)],
                      second: Annotated[int, Query(ge=1, le=_MAX_INDEX)]) -> ConsistencyProofOut:
    def work(session: Session) -> ConsistencyProofOut:
        proof, first_root, second_root = log_service.consistency_proof(session, first=first, second=second)
        return ConsistencyProofOut(first=first, second=second, first_root=b64(first_root),
                                   second_root=b64(second_root), proof=[b64(p) for p in proof])

    return await run_db(_deps(request).db, work)


@router.get("/public-key", response_model=PublicKeyOut, responses=_ERRORS,
            summary="The Ed25519 key the gateway signs checkpoints with")
async def public_key(request: Request, _: ReadCaller) -> PublicKeyOut:
    deps = _deps(request)
    raw = deps.signer.public_key
    return PublicKeyOut(origin=deps.origin, public_key=base64.b64encode(raw).decode(),
                        key_id=key_id(deps.origin, raw).hex(), verifier_key=verifier_key(deps.origin, raw),
                        pem=public_key_pem(raw).decode())
