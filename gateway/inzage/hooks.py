"""The DPO desk's side of retention: each purge is also recorded in the admin audit trail (positions and
purposes only; a purge names no person)."""

from __future__ import annotations

from sqlmodel import Session

from gateway.exchange_log.retention import PurgeResult, Recorder
from gateway.web import audit


def purge_recorder(actor: str) -> Recorder:
    def record(session: Session, result: PurgeResult) -> None:
        if result.purged:
            audit.record(session, actor=actor, action="retention_purge",
                         detail={"purged": result.purged, "purposes": sorted({p.purpose for p in result.plans}),
                                 "log_positions": result.purge_positions, "checkpoint": result.checkpoint_size})

    return record
