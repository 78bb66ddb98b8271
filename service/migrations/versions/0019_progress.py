"""progress: the projects of announced plans as their units carry them out, and who belongs to which unit

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'tracked_projects',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('unit', sa.String(length=200), nullable=False),
        sa.Column('strategy', sa.String(length=300), nullable=False),
        sa.Column('plan_program', sa.String(length=100), nullable=False),
        sa.Column('budget', sa.BigInteger(), nullable=False),
        sa.Column('months', sa.JSON(), nullable=False),
        sa.Column('is_equipment', sa.Boolean(), nullable=False),
        sa.Column('list_version', sa.Integer(), nullable=False),
        sa.Column('withdrawn', sa.Boolean(), nullable=False),
        sa.Column('progress', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('plan_id', 'number'),
    )
    op.create_index('ix_tracked_projects_order', 'tracked_projects', ['plan_id', 'position'])
    op.create_table(
        'unit_memberships',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('unit', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'organization_id', 'unit'),
    )
    op.create_index('ix_unit_memberships_user_id', 'unit_memberships', ['user_id'])


def downgrade() -> None:
    op.drop_index('ix_unit_memberships_user_id', table_name='unit_memberships')
    op.drop_table('unit_memberships')
    op.drop_index('ix_tracked_projects_order', table_name='tracked_projects')
    op.drop_table('tracked_projects')
