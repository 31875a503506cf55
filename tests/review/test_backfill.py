"""A log written before the review desk existed is indexed by its migration (0007); entries appended without index
rows later (an old replica during a rolling upgrade) are indexed at the next start."""

from __future__ import annotations

import datetime as dt

import orjson
from alembic import command
from sqlalchemy import Engine, MetaData, insert, select
from sqlmodel import Session

from gateway.core.database import alembic_config, make_engine
from gateway.core.settings import Settings
from gateway.exchange_log import service as log_service
from gateway.exchange_log.models import LogEntry
from gateway.exchange_log.service import leaf_hash
from gateway.review import index as review_index
from gateway.review.models import ReviewIndex, ReviewTerm

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


def _upgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_the_migration_indexes_an_existing_log(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        _upgrade(engine, "0006")
        tables = MetaData()
        tables.reflect(engine)  # the log table as revision 0006 has it
        record = {"schema": "kgb-gateway/log-record/v1", "record_id": "r-0", "position": 0, "kind": "exchange",
                  "caller": "wijkteam-utrecht-west", "sender": {"id": "wijkteam-utrecht-west"},
                  "recipient": {"id": "vt-utrecht"}, "flow": "F2", "purpose": "melding",
                  "decision": {"outcome": "allow"}, "legal_basis": {"id": "wmo-5.2.6-melding"},
                  "categories": ["health", "signals"], "subjects": [{"pseudonym": "PS1.k.AAAA", "role": "kind"}],
                  "fields": [{"category": "health", "treatment": "pass"}],
                  "obligations": ["Informeer binnen vier weken."], "professional": {"pseudonym": "PS1.k.PROF"}}
        entry = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
        with engine.begin() as connection:
            connection.execute(insert(tables.tables["exchange_log"]), [{
                "position": 0, "record_id": "r-0", "kind": "exchange", "exchange_id": None, "recorded_at": NOW,
                "sender_id": "wijkteam-utrecht-west", "recipient_id": "vt-utrecht", "purpose": "melding",
                "flow": "F2", "outcome": "allow", "trace_id": None, "entry": entry.decode(),
                "leaf_hash": leaf_hash(entry)}])
        _upgrade(engine, "0007")
        tables = MetaData()
        tables.reflect(engine)
        with engine.connect() as connection:
            index = connection.execute(select(tables.tables["review_index"])).mappings().one()
            terms = set(connection.execute(select(tables.tables["review_term"].c.term)).scalars())
            obligations = connection.execute(select(tables.tables["review_obligation"])).mappings().all()
        assert (index["legal_basis"], index["professional"], index["outcome"]) == (
            "wmo-5.2.6-melding", "PS1.k.PROF", "allow")
        assert terms == {"cat:health", "cat:signals", "person:PS1.k.AAAA", "queue:special"}
        assert [o["text"] for o in obligations] == ["Informeer binnen vier weken."]
    finally:
        engine.dispose()


async def test_an_entry_appended_without_index_rows_is_indexed_at_the_next_start(settings: Settings) -> None:
    """During a rolling upgrade a replica still on an older version appends without the side index; the next
    start of an up-to-date replica indexes it (and a start with nothing missing changes nothing)."""
    from gateway.main import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        engine = app.state.db
        with Session(engine) as session:
            entry = log_service.append(session, kind="exchange", now=NOW, record={"purpose": "melding"})
            session.commit()
        position = entry.position + 1
        record = {"schema": "kgb-gateway/log-record/v1", "record_id": "r-old", "position": position,
                  "kind": "exchange", "caller": "wijkteam-utrecht-west", "sender": {"id": "wijkteam-utrecht-west"},
                  "recipient": {"id": "vt-utrecht"}, "flow": "F2", "purpose": "melding",
                  "decision": {"outcome": "allow"}, "subjects": [{"pseudonym": "PS1.k.OLD", "role": "kind"}],
                  "time": NOW.isoformat(), "prev_leaf_hash": entry.leaf_hash}
        body = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
        with engine.begin() as connection:  # what an old replica's append writes: the log row only
            connection.execute(insert(LogEntry.__table__), [{  # type: ignore[attr-defined]
                "position": position, "record_id": "r-old", "kind": "exchange", "exchange_id": None,
                "recorded_at": NOW, "sender_id": "wijkteam-utrecht-west", "recipient_id": "vt-utrecht",
                "purpose": "melding", "flow": "F2", "outcome": "allow", "trace_id": None, "entry": body.decode(),
                "leaf_hash": leaf_hash(body)}])
        assert review_index.missing(engine)

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        engine = app.state.db
        assert not review_index.missing(engine)
        with engine.connect() as connection:
            row = connection.execute(select(ReviewIndex.__table__).where(  # type: ignore[attr-defined]
                ReviewIndex.__table__.c.position == position)).mappings().one()  # type: ignore[attr-defined]
            terms = set(connection.execute(select(ReviewTerm.term).where(ReviewTerm.position == position))
                        .scalars())
        assert (row["flow"], row["outcome"], row["organisation_id"]) == ("F2", "allow", "wijkteam-utrecht-west")
        assert terms == {"person:PS1.k.OLD"}
