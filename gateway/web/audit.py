"""The admin audit trail: every administrative action, hash-chained so a changed or removed row is detected.

DPOs read it on /ui/audit. Details never hold a BSN or a family member's name: a person looked up by BSN is
recorded by the number of pseudonyms searched for, not the number itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, func, insert, text
from sqlmodel import Session, col, select

from gateway.core.database import run_db
from gateway.web.models import AdminAuditEntry

GENESIS = "0" * 64
_LOCK_KEY = 0x6B6762_617564  # "kgb" "aud": serialises appends on PostgreSQL
_TABLE = AdminAuditEntry.__table__  # type: ignore[attr-defined]

ACTIONS_NL = {
    "login": "Ingelogd", "login_failed": "Inloggen mislukt", "logout": "Uitgelogd",
    "session_expired": "Sessie verlopen", "reauth": "Opnieuw bevestigd", "reauth_failed": "Bevestiging mislukt",
    "user_created": "Account aangemaakt", "user_disabled": "Account uitgeschakeld",
    "password_changed": "Wachtwoord gewijzigd",
    "policy_draft_saved": "Conceptbeleid opgeslagen", "policy_submitted": "Beleid ter goedkeuring aangeboden",
    "policy_approved": "Beleid goedgekeurd en geactiveerd", "policy_rejected": "Beleid afgewezen",
    "policy_rollback": "Beleid teruggezet",
    "review_search": "Logboek doorzocht", "review_viewed": "Logregel bekeken", "annotation": "Aantekening gemaakt",
    "reviewed": "Als beoordeeld gemarkeerd", "export": "Export gemaakt", "inzage_report": "Inzagerapport gemaakt",
    "delivery_retry": "Aflevering opnieuw geprobeerd", "retention_purge": "Bewaartermijn: inhoud verwijderd",
}


def _entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode() + b"\n" + body).hexdigest()


def _hashed_fields(row: AdminAuditEntry | dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = row if isinstance(row, dict) else row.model_dump()
    get = values.get
    recorded_at: dt.datetime = values["recorded_at"]
    if recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=dt.UTC)
    return {"position": get("position"), "recorded_at": recorded_at.astimezone(dt.UTC).isoformat(),
            "actor": get("actor"), "action": get("action"), "outcome": get("outcome"), "target": get("target"),
            "detail": get("detail"), "client": get("client")}


def record(session: Session, *, actor: str, action: str, outcome: str = "ok", target: str | None = None,
           detail: dict[str, Any] | None = None, client: str | None = None,
           now: dt.datetime | None = None) -> AdminAuditEntry:
    """Append one action in the caller's (write) transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = session.exec(select(AdminAuditEntry).order_by(col(AdminAuditEntry.position).desc()).limit(1)).first()
    position = 0 if last is None else last.position + 1
    prev_hash = GENESIS if last is None else last.entry_hash
    values: dict[str, Any] = {
        "position": position, "recorded_at": now or dt.datetime.now(dt.UTC), "actor": actor[:64],
        "action": action, "outcome": outcome, "target": target[:200] if target else None,
        "detail": orjson.dumps(detail or {}, option=orjson.OPT_SORT_KEYS).decode(),
        "client": client[:64] if client else None}
    values["prev_hash"] = prev_hash
    values["entry_hash"] = _entry_hash(prev_hash, _hashed_fields(values))
    session.execute(insert(_TABLE).values(**values))
    return AdminAuditEntry(**values)


async def audit(db: Engine, **kwargs: Any) -> AdminAuditEntry:
    return await run_db(db, lambda s: record(s, **kwargs), write=True)


@dataclass(frozen=True)
class AuditPage:
    entries: list[AdminAuditEntry]
    total: int


def search(session: Session, *, actor: str | None = None, action: str | None = None,
           since: dt.datetime | None = None, until: dt.datetime | None = None,
           limit: int = 100, offset: int = 0) -> AuditPage:
    query = select(AdminAuditEntry)
    count = select(func.count()).select_from(AdminAuditEntry)
    conditions = []
    if actor:
        conditions.append(col(AdminAuditEntry.actor) == actor)
    if action:
        conditions.append(col(AdminAuditEntry.action) == action)
    if since:
        conditions.append(col(AdminAuditEntry.recorded_at) >= since)
    if until:
        conditions.append(col(AdminAuditEntry.recorded_at) < until)
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = list(session.exec(query.order_by(col(AdminAuditEntry.position).desc()).offset(offset).limit(limit)))
    return AuditPage(entries=rows, total=int(session.exec(count).one()))


def verify_chain(session: Session) -> list[int]:
    """Positions whose row no longer matches its hash or link (an empty list: the trail is intact)."""
    bad: list[int] = []
    prev_hash = GENESIS
    expected = 0
    for row in session.exec(select(AdminAuditEntry).order_by(col(AdminAuditEntry.position))):
        if row.position != expected or row.prev_hash != prev_hash or \
                row.entry_hash != _entry_hash(row.prev_hash, _hashed_fields(row)):
            bad.append(row.position)
        prev_hash = row.entry_hash
        expected = row.position + 1
    return bad
