"""oversight: the areas users oversee and the plans' standings the oversight dashboard reads

Revision ID: 0025
Revises: 0024
"""
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'oversight_areas',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('province', sa.String(length=100), nullable=False),
        sa.Column('district', sa.String(length=100), nullable=False),
        sa.Column('granted_by', sa.String(length=64), nullable=False),
        sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('user_id'),
    )
    standings = op.create_table(
        'plan_standings',
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('missed', sa.Boolean(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id']),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id']),
        sa.PrimaryKeyConstraint('plan_id'),
        sa.UniqueConstraint('organization_id', 'fiscal_year'),
    )
    op.create_index('ix_organizations_area', 'organizations', ['province', 'district', 'name', 'id'], unique=False)
    _fill(standings)


def _fill(standings: sa.Table) -> None:
    """The standing of every plan already kept: its organization's first plan of a default process
    in each year (service/oversight.note's rule, frozen here as this release states it)."""
    connection = op.get_bind()
    defaults = {row.id for row in connection.execute(sa.text("SELECT id, meta FROM process_versions"))
                if (json.loads(row.meta) if isinstance(row.meta, str) else row.meta or {}).get('default')}
    taken, rows = set(), []
    for plan in connection.execute(sa.text("SELECT id, organization_id, fiscal_year, process_version_id, status, "
                                           "deadlines FROM plans ORDER BY id")):
        if plan.process_version_id not in defaults or (plan.organization_id, plan.fiscal_year) in taken:
            continue
        taken.add((plan.organization_id, plan.fiscal_year))
        listed = (json.loads(plan.deadlines) if isinstance(plan.deadlines, str) else plan.deadlines) or []
        pending = [datetime.fromisoformat(d['due_at']).astimezone(UTC) for d in listed
                   if d['kind'] == 'limit' and d['state'] == 'pending']
        rows.append({'plan_id': plan.id, 'organization_id': plan.organization_id, 'fiscal_year': plan.fiscal_year,
                     'status': plan.status, 'missed': any(d['state'] == 'missed' for d in listed),
                     'due_at': min(pending, default=None)})
    if rows:
        op.bulk_insert(standings, rows)


def downgrade() -> None:
    op.drop_index('ix_organizations_area', table_name='organizations')
    op.drop_table('plan_standings')
    op.drop_table('oversight_areas')
