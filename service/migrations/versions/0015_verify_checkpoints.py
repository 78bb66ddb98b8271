"""verify_checkpoints: where each plan's history last verified clean, so verification replays only what is new

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'verify_checkpoints',
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('event_hash', sa.String(length=64), nullable=False),
        sa.Column('state_digest', sa.String(length=64), nullable=False),
        sa.Column('state', sa.LargeBinary(), nullable=False),
        sa.Column('basis', sa.String(length=64), nullable=False),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('verified_by', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id']),
        sa.PrimaryKeyConstraint('plan_id'),
    )


def downgrade() -> None:
    op.drop_table('verify_checkpoints')
