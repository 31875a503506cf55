"""signed log checkpoints and witness cosignatures

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_checkpoint",
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size"),
    )
    with op.batch_alter_table("log_checkpoint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_checkpoint_issued_at"), ["issued_at"], unique=False)
    op.create_table(
        "log_cosignature",
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.String(length=100), nullable=False),
        sa.Column("public_key", sa.String(length=44), nullable=False),
        sa.Column("signature", sa.String(length=88), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tree_size"], ["log_checkpoint.tree_size"]),
        sa.PrimaryKeyConstraint("tree_size", "organisation_id"),
    )


def downgrade() -> None:
    op.drop_table("log_cosignature")
    with op.batch_alter_table("log_checkpoint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_log_checkpoint_issued_at"))
    op.drop_table("log_checkpoint")
