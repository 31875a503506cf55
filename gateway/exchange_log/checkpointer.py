"""Issuing signed checkpoints: on demand, and periodically from a background task started in the lifespan."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gateway.core.database import run_db
from gateway.exchange_log import service as log_service
from gateway.exchange_log.models import LogCheckpoint
from gateway.pseudonymise.signing import Signer
from gateway.registry.organisations import OrganisationRegistry

_log = logging.getLogger("gateway.exchange_log")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class LogDeps:
    """What the log's API needs, built once in the lifespan."""

    db: Engine
    signer: Signer
    origin: str
    registry: OrganisationRegistry
    clock: Callable[[], dt.datetime] = field(default=_now)

    async def issue(self) -> LogCheckpoint:
        def work(session: Session) -> LogCheckpoint:
            return log_service.issue_checkpoint(session, signer=self.signer, origin=self.origin, now=self.clock())

        try:
            return await run_db(self.db, work, write=True)
        except IntegrityError:
            # Another replica signed the same tree size first; its checkpoint is now the latest.
            return await run_db(self.db, work, write=True)


async def issue_periodically(deps: LogDeps, interval_seconds: float) -> None:
    """Sign the tree every interval until cancelled; a failed round is logged and retried, never fatal."""
    while True:
        await anyio.sleep(interval_seconds)
        try:
            checkpoint = await deps.issue()
        except Exception as exc:  # the task must outlive any one failure (database down, disk full)
            _log.warning("log checkpoint not issued: %s", type(exc).__name__)
        else:
            _log.debug("log checkpoint at tree size %d", checkpoint.tree_size)
