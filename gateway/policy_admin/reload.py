"""Hot reload: every replica follows the active policy version in the database, without a restart.

Each replica polls (and verifies) the active version every `GATEWAY_POLICY_RELOAD_SECONDS`
(and the replica that approved a version syncs at once). A new version is verified (content hash and
signature) before the engine swaps to it; the embedded engine swaps in one assignment, the OPA engine pushes
the modules and tables to its sidecar before it switches the hash it names in log records. A version that
fails verification, or a push that fails, makes the engine refuse every decision (fail closed) until a
verified version is loaded.

The database's active version rules. The bundle on disk (`policies/`) seeds version 1 at the very first start;
later differences are only reported, and can be proposed as a draft with `gateway policy propose`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.core.database import run_db
from gateway.core.errors import PolicyUnavailable
from gateway.policy.bundle import PolicyBundle, bundle_from_files, load_bundle, read_bundle_files
from gateway.policy_admin import service
from gateway.policy_admin.errors import PolicyVersionTampered
from gateway.policy_admin.models import PolicyVersion
from gateway.pseudonymise.signing import Signer

_log = logging.getLogger("gateway.policy")
Key = tuple[int, str, str | None]  # number, bundle hash and signature of the active version


class ReloadableEngine(Protocol):

    @property
    def bundle_hash(self) -> str: ...

    async def activate(self, bundle: PolicyBundle) -> None: ...

    def refuse(self, reason: str) -> None: ...

    @property
    def refusing(self) -> str | None: ...


@dataclass
class Active:
    """The active version as loaded at start: its bundle, or why it was refused."""

    key: Key | None
    bundle: PolicyBundle
    refused: str | None = None


async def seed_and_load(db: Engine, *, policies_dir: Path, signer: Signer) -> Active:
    """Seed version 1 from disk on the very first start, then load the active version, verified."""
    files = read_bundle_files(policies_dir)

    def work(session: Session) -> PolicyVersion | None:
        service.seed(session, files=files, signer=signer, now=dt.datetime.now(dt.UTC), origin=policies_dir.name)
        return service.active(session)

    version = await run_db(db, work, write=True)
    if version is None:  # cannot happen after seeding; refuse rather than guess
        return Active(key=None, bundle=load_bundle(policies_dir), refused="no active version")
    key = (version.number, version.bundle_hash, version.signature)
    try:
        bundle = service.verified_bundle(version, signer.public_key)
    except PolicyVersionTampered as exc:
        _log.error("policy version %s refused: %s", version.number, exc.detail)
        return Active(key=key, bundle=load_bundle(policies_dir), refused=exc.detail)
    disk = load_bundle(policies_dir).hash
    if disk != bundle.hash:
        _log.warning("the policies on disk (%s) differ from active version %s (%s); the database rules — "
                     "propose the disk bundle with `gateway policy propose`", disk[:19], version.number,
                     bundle.hash[:19])
    return Active(key=key, bundle=bundle)


def active_tables(state: Any) -> dict[str, Any]:
    """The tables of the active, verified policy version as this replica loaded it (`app.state.policy_tables`, set
    at start and by `PolicyRuntime.on_tables` on every reload) — for the review desk and the inzage labels.

    Never the bundle on disk: when no verified version was ever loaded here, the caller gets a 503.
    """
    tables = getattr(state, "policy_tables", None)
    if not isinstance(tables, dict):
        raise PolicyUnavailable(detail="Er is geen geverifieerde actieve beleidsversie geladen.")
    return tables


class PolicyRuntime:
    """Keeps one replica's engine (and the exchange domain's table-derived sets) on the active version."""

    def __init__(self, *, db: Engine, engine: ReloadableEngine, public_key: bytes,
                 on_tables: Callable[[dict[str, Any]], None], interval_seconds: float) -> None:
        self.db = db
        self.engine = engine
        self.public_key = public_key
        self.on_tables = on_tables
        self.interval_seconds = interval_seconds
        self.loaded: Key | None = None
        self.version: int | None = None
        self._lock = asyncio.Lock()

    async def start(self, active: Active, *, push: bool) -> None:
        """Adopt what `seed_and_load` found; the OPA engine pushes it to its sidecar (`push`)."""
        if active.refused is not None:
            self.engine.refuse(active.refused)
            self.loaded = active.key
            return
        if push:
            try:
                await self.engine.activate(active.bundle)
            except PolicyUnavailable:
                _log.error("policy version could not be pushed to the OPA sidecar; refusing until it can")
                return  # `loaded` stays None: the next sync tries again
        self.loaded = active.key
        self.version = active.key[0] if active.key else None
        self.on_tables(active.bundle.data["gateway"]["tables"])

    async def sync(self) -> bool:
        """Verify the active version and load it if it changed (or a load failed); True when the engine swapped.

        The active row is verified on every poll (hash and signature, well under a millisecond), so a version
        changed in the database is refused here within one interval, not only at the next restart.
        """
        async with self._lock:
            version = await run_db(self.db, service.active)
            if version is None:
                return False
            key = (version.number, version.bundle_hash, version.signature)
            try:
                files = service.verified_files(version, self.public_key)
            except PolicyVersionTampered as exc:
                if self.engine.refusing != exc.detail:
                    _log.error("policy version %s refused: %s", version.number, exc.detail)
                self.engine.refuse(exc.detail)
                self.loaded, self.version = key, None
                return False
            if key == self.loaded and self.engine.refusing is None:
                return False
            bundle = bundle_from_files(files)
            try:
                await self.engine.activate(bundle)
            except PolicyUnavailable:
                _log.error("policy version %s could not be activated here; refusing until it can", key[0])
                self.engine.refuse("activation failed")
                self.loaded = None
                return False
            self.loaded, self.version = key, key[0]
            self.on_tables(bundle.data["gateway"]["tables"])
            _log.info("policy version %s active here: bundle %s", key[0], bundle.hash[:19])
            return True

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_seconds)
            try:
                await self.sync()
            except Exception:  # a database hiccup must not end the loop; the engine keeps what it has
                _log.exception("policy reload failed; trying again")
