"""plan_event_head: each plan row carries its event log's head (count, last hash, state digest)

Every command then appends its event from the plan row it already holds, and every append bumps
the plan's version counter, so two commands on one plan can never append the same sequence
number (the loser gets a conflict, not a unique-key error). Existing plans are filled in from
their events.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite >= 3.35 drops columns itself): a batch copy of
    # the table would trip the foreign keys of the rows that point at plans.
    op.add_column('plans', sa.Column('event_seq', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('plans', sa.Column('event_hash', sa.String(length=64), nullable=False, server_default=GENESIS))
    op.add_column('plans', sa.Column('state_digest', sa.String(length=64), nullable=False, server_default=''))
    op.execute("""
        UPDATE plans SET
            event_seq = (SELECT e.seq FROM events e WHERE e.plan_id = plans.id ORDER BY e.seq DESC LIMIT 1),
            event_hash = (SELECT e.hash FROM events e WHERE e.plan_id = plans.id ORDER BY e.seq DESC LIMIT 1),
            state_digest = (SELECT e.state_digest FROM events e WHERE e.plan_id = plans.id ORDER BY e.seq DESC LIMIT 1)
        WHERE EXISTS (SELECT 1 FROM events e WHERE e.plan_id = plans.id)
    """)


def downgrade() -> None:
    for column in ('state_digest', 'event_hash', 'event_seq'):
        op.drop_column('plans', column)
