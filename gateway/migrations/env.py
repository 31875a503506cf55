"""Alembic environment: runs on the connection handed over by `gateway.core.database.upgrade_to_head`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import gateway.auth.models
import gateway.exchange.models
import gateway.exchange_log.models
import gateway.policy_admin.models
import gateway.relay.models
import gateway.review.models
import gateway.web.models  # noqa: F401 - registers the tables on SQLModel.metadata

target_metadata = SQLModel.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()


run()
