"""sign in history: each sign-in attempt of a known user and each change of one's own password

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sign_ins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('network', sa.String(length=48), nullable=False),
        sa.Column('browser', sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_sign_ins_user', 'sign_ins', ['user_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sign_ins_user', table_name='sign_ins')
    op.drop_table('sign_ins')
