"""drafts: bundles saved from the in-browser modeler, not published

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('based_on_version', sa.Integer(), nullable=True),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('saved_by', sa.String(length=64), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_drafts_name', 'drafts', ['name'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_drafts_name', table_name='drafts')
    op.drop_table('drafts')
