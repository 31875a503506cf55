"""transactional outbox: delivery jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_job",
        sa.Column("exchange_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=60), nullable=True),
        sa.Column("sealed_delivery", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("exchange_id"),
    )
    with op.batch_alter_table("delivery_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_job_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_job_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_job_next_attempt_at"), ["next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_job_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_delivery_job_status"))
        batch_op.drop_index(batch_op.f("ix_delivery_job_recipient_id"))
    op.drop_table("delivery_job")
