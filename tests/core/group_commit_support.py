"""Driving the group-commit writer into a known batch: the first write held open while the others queue."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.core.database import run_db


async def queued_behind_first(engine: Engine, works: list, delay: float = 0.3) -> list:  # type: ignore[type-arg]
    """Run works[0] first and hold it until the others have been handed to the writer; gather all outcomes.
    So works[0] is a batch of its own and works[1:] the next batch."""
    gate, started = threading.Event(), threading.Event()
    first = asyncio.ensure_future(run_db(engine, gated(works[0], gate, started), write=True, group=True))
    assert await asyncio.to_thread(started.wait, 10)  # the writer has taken the first work and waits on the gate
    rest = [asyncio.ensure_future(run_db(engine, w, write=True, group=True)) for w in works[1:]]
    await asyncio.sleep(delay)
    gate.set()
    return list(await asyncio.gather(first, *rest, return_exceptions=True))


def gated(work: Any, gate: threading.Event, started: threading.Event | None = None) -> Any:
    def run(session: Session) -> Any:
        if started is not None:
            started.set()
        gate.wait(timeout=10)
        return work(session)

    return run
