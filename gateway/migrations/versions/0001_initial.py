"""initial schema: exchange log, exchanges, seen client assertions

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('exchange',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('caller_id', sa.String(length=100), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('request_hash', sa.String(length=80), nullable=False),
    sa.Column('pattern', sa.String(length=10), nullable=False),
    sa.Column('sender_id', sa.String(length=100), nullable=False),
    sa.Column('recipient_id', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=100), nullable=False),
    sa.Column('flow', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('log_position', sa.Integer(), nullable=False),
    sa.Column('delivery_log_position', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('caller_id', 'idempotency_key', name='uq_exchange_idempotency')
    )
    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_caller_id'), ['caller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_status'), ['status'], unique=False)

    op.create_table('exchange_log',
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('exchange_id', sa.String(length=36), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sender_id', sa.String(length=100), nullable=True),
    sa.Column('recipient_id', sa.String(length=100), nullable=True),
    sa.Column('purpose', sa.String(length=100), nullable=True),
    sa.Column('flow', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('trace_id', sa.String(length=32), nullable=True),
    sa.Column('entry', sa.Text(), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('position'),
    sa.UniqueConstraint('record_id')
    )
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_log_exchange_id'), ['exchange_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_log_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_log_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_log_recorded_at'), ['recorded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_log_sender_id'), ['sender_id'], unique=False)

    op.create_table('seen_client_assertion',
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'jti')
    )
    with op.batch_alter_table('seen_client_assertion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seen_client_assertion_expires_at'), ['expires_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('seen_client_assertion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seen_client_assertion_expires_at'))

    op.drop_table('seen_client_assertion')
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_log_sender_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_log_recorded_at'))
        batch_op.drop_index(batch_op.f('ix_exchange_log_recipient_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_log_kind'))
        batch_op.drop_index(batch_op.f('ix_exchange_log_exchange_id'))

    op.drop_table('exchange_log')
    with op.batch_alter_table('exchange', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_status'))
        batch_op.drop_index(batch_op.f('ix_exchange_sender_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_recipient_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_caller_id'))

    op.drop_table('exchange')

