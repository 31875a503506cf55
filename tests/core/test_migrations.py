"""Alembic migrations upgrade an existing database without loss, and the models agree with them (both backends).

The tests walk the revision history as it is, so a revision added later is covered without editing them.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, insert, select
from sqlmodel import Session, SQLModel

import gateway
from gateway.core.database import alembic_config, make_engine, upgrade_to_head
from gateway.exchange_log import service as log_service
from tests.support import VT, WIJKTEAM

NOW = dt.datetime(2026, 11, 20, 9, 30, 0, 123456, tzinfo=dt.UTC)


def _revisions(url: str) -> list[str]:
    """Revision ids from the first to head, in upgrade order (one linear history)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def _upgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _write_realistic_rows(engine: Engine) -> None:
    tables = MetaData()
    tables.reflect(engine)  # the tables as this revision has them, not as the models are now
    exchange_id = "0b7c6f0e-3d7a-4c59-9a53-7f1d2c1e8a01"
    with Session(engine) as session:
        for kind, record in [
            ("exchange", {"exchange_id": exchange_id, "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                          "sender": {"id": "wijkteam-utrecht-west"}, "recipient": {"id": "vt-utrecht"},
                          "purpose": "melding", "flow": "F2", "decision": {"outcome": "allow"}}),
            ("delivery", {"exchange_id": exchange_id, "sender": {"id": "wijkteam-utrecht-west"},
                          "recipient": {"id": "vt-utrecht"}, "outcome": "delivered", "partner_reference": "VT-1"}),
            ("rejected_request", {"caller": "gi-utrecht", "outcome": "rejected", "reason": "acting-for-another"}),
        ]:
            _append_raw(session, tables, kind=kind, record=record)
        exchange = {"id": exchange_id, "caller_id": "wijkteam-utrecht-west", "idempotency_key": "key-1",
                    "request_hash": "sha256:" + "ab" * 32, "pattern": "push", "sender_id": "wijkteam-utrecht-west",
                    "recipient_id": "vt-utrecht", "purpose": "melding", "flow": "F2", "outcome": "allow",
                    "status": "delivered", "log_position": 0, "delivery_log_position": 1, "created_at": NOW,
                    "updated_at": NOW, "summary": '{"status":"delivered"}'}
        session.execute(insert(tables.tables["exchange"]), [exchange])
        session.execute(insert(tables.tables["seen_client_assertion"]),
                        [{"client_id": WIJKTEAM, "jti": "jti-1", "expires_at": NOW},
                         {"client_id": VT, "jti": "jti-2", "expires_at": NOW + dt.timedelta(minutes=5)}])
        session.commit()


def _append_raw(session: Session, tables: MetaData, *, kind: str, record: dict[str, Any]) -> None:
    """An entry as `log_service.append` writes it, into the log table as this revision has it (the current
    append also fills tables of later revisions, such as the review desk's index)."""
    log = tables.tables["exchange_log"]
    last = session.execute(select(log.c.position, log.c.leaf_hash).order_by(log.c.position.desc()).limit(1)).first()
    position, prev = (0, "0" * 64) if last is None else (last[0] + 1, last[1])
    record_id = f"00000000-0000-4000-8000-{position:012d}"
    body = {"schema": log_service.SCHEMA, "record_id": record_id, "position": position, "kind": kind,
            "time": NOW.isoformat(timespec="microseconds"), **record, "prev_leaf_hash": prev}
    entry = log_service.canonical_json(body)
    session.execute(insert(log), [{
        "position": position, "record_id": record_id, "kind": kind, "exchange_id": record.get("exchange_id"),
        "recorded_at": NOW, "sender_id": (record.get("sender") or {}).get("id"),
        "recipient_id": (record.get("recipient") or {}).get("id"), "purpose": record.get("purpose"),
        "flow": record.get("flow"), "outcome": (record.get("decision") or {}).get("outcome") or record.get("outcome"),
        "trace_id": record.get("trace_id"), "entry": entry.decode(), "leaf_hash": log_service.leaf_hash(entry)}])


def _snapshot(engine: Engine, columns: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    tables = MetaData()
    tables.reflect(engine, only=list(columns))
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for name, names in columns.items():
            table = tables.tables[name]
            keys = [table.c[c] for c in names]
            order = list(table.primary_key.columns)
            out[name] = [dict(row._mapping) for row in connection.execute(select(*keys).order_by(*order))]
    return out


def test_every_revision_upgrades_an_existing_database_without_loss(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        revisions = _revisions(empty_database_url)
        _upgrade(engine, revisions[0])
        _write_realistic_rows(engine)
        reflected = MetaData()
        reflected.reflect(engine)
        columns = {name: [c.name for c in table.columns] for name, table in reflected.tables.items()
                   if name != "alembic_version"}
        before = _snapshot(engine, columns)
        assert len(before["exchange_log"]) == 3 and len(before["exchange"]) == 1
        assert len(before["seen_client_assertion"]) == 2
        for revision in revisions[1:]:
            _upgrade(engine, revision)
            assert _snapshot(engine, columns) == before, f"rows changed by revision {revision}"
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == revisions[-1]
        for row in before["exchange_log"]:
            assert log_service.leaf_hash(row["entry"].encode()) == row["leaf_hash"]
        assert [row["position"] for row in before["exchange_log"]] == [0, 1, 2]
    finally:
        engine.dispose()


def _all_models() -> None:
    """Import every `gateway.*.models` module so SQLModel.metadata holds every table the code uses."""
    for module in pkgutil.walk_packages(gateway.__path__, "gateway."):
        if module.name.endswith(".models"):
            importlib.import_module(module.name)


def test_models_and_migrations_agree_at_head(empty_database_url: str) -> None:
    _all_models()
    engine = make_engine(empty_database_url)
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
        assert differences == []
    finally:
        engine.dispose()
