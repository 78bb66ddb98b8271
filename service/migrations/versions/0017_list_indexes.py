"""list indexes: the inbox and the plan lists read a page along an index in their own order

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # (organization, role) then the inbox's order: a page is read in order, not sorted from every row
    op.drop_index('ix_open_tasks_org_role', table_name='open_tasks')
    op.create_index('ix_open_tasks_inbox', 'open_tasks', ['organization_id', 'role', 'due_at', 'opened_at', 'id'],
                    unique=False)
    op.create_index('ix_plans_organization_year', 'plans', ['organization_id', 'fiscal_year', 'id'], unique=False)
    op.create_index('ix_plans_fiscal_year', 'plans', ['fiscal_year', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_plans_fiscal_year', table_name='plans')
    op.drop_index('ix_plans_organization_year', table_name='plans')
    op.drop_index('ix_open_tasks_inbox', table_name='open_tasks')
    op.create_index('ix_open_tasks_org_role', 'open_tasks', ['organization_id', 'role'], unique=False)
