"""DPO review desk: side index, annotations, review state and obligations

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_INDEXED = ("recorded_at", "kind", "exchange_id", "organisation_id", "sender_id", "recipient_id", "flow", "purpose",
            "outcome", "legal_basis", "professional")


def upgrade() -> None:
    op.create_table(
        "review_index",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("exchange_id", sa.String(length=36), nullable=True),
        sa.Column("organisation_id", sa.String(length=100), nullable=True),
        sa.Column("sender_id", sa.String(length=100), nullable=True),
        sa.Column("recipient_id", sa.String(length=100), nullable=True),
        sa.Column("flow", sa.String(length=20), nullable=True),
        sa.Column("purpose", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("legal_basis", sa.String(length=100), nullable=True),
        sa.Column("professional", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("position"),
    )
    with op.batch_alter_table("review_index", schema=None) as batch_op:
        for column in _INDEXED:
            batch_op.create_index(batch_op.f(f"ix_review_index_{column}"), [column], unique=False)
    op.create_table(
        "review_term",
        sa.Column("term", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("term", "position"),
    )
    with op.batch_alter_table("review_term", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_term_position"), ["position"], unique=False)
    op.create_table(
        "review_annotation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_annotation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_annotation_position"), ["position"], unique=False)
    op.create_table(
        "review_mark",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    op.create_table(
        "review_obligation",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recipient_id", sa.String(length=100), nullable=True),
        sa.Column("flow", sa.String(length=20), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("position", "number"),
    )
    with op.batch_alter_table("review_obligation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_obligation_due_at"), ["due_at"], unique=False)
    # A log written before the review desk existed gets its index rows now.
    from gateway.review.index import backfill

    backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("review_obligation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_obligation_due_at"))
    op.drop_table("review_obligation")
    op.drop_table("review_mark")
    with op.batch_alter_table("review_annotation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_annotation_position"))
    op.drop_table("review_annotation")
    with op.batch_alter_table("review_term", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_term_position"))
    op.drop_table("review_term")
    with op.batch_alter_table("review_index", schema=None) as batch_op:
        for column in _INDEXED:
            batch_op.drop_index(batch_op.f(f"ix_review_index_{column}"))
    op.drop_table("review_index")
