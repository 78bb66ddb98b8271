"""dated_holidays: a holiday is kept with when it started and stopped counting

Each command counts legal days over the holidays that counted at its instant, and an auditor's
replay must count over the same ones, even after the administrator added or removed a holiday
later. So a holiday is never edited in place: removing it ends it, adding it again is a new row.
Holidays kept before this revision counted always.

Revision ID: 0008
Revises: 0007
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    op.create_table('kept_holidays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('removed_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_kept_holidays_day', 'kept_holidays', ['day'], unique=False)
    bind = op.get_bind()
    old = sa.table('holidays', sa.column('day', sa.Date()), sa.column('name', sa.String()))
    new = sa.table('kept_holidays', sa.column('day', sa.Date()), sa.column('name', sa.String()),
                   sa.column('effective_at', sa.DateTime(timezone=True)), sa.column('added_by', sa.String()))
    rows = [{"day": r.day, "name": r.name, "effective_at": ALWAYS, "added_by": ""}
            for r in bind.execute(sa.select(old))]
    if rows:
        bind.execute(sa.insert(new), rows)
    op.drop_table('holidays')


def downgrade() -> None:
    op.create_table('holidays',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    bind = op.get_bind()
    kept = sa.table('kept_holidays', sa.column('day', sa.Date()), sa.column('name', sa.String()),
                    sa.column('ended_at', sa.DateTime(timezone=True)))
    rows = {r.day: r.name for r in bind.execute(sa.select(kept).where(kept.c.ended_at.is_(None)))}
    if rows:
        bind.execute(sa.insert(sa.table('holidays', sa.column('day', sa.Date()), sa.column('name', sa.String()))),
                     [{"day": day, "name": name} for day, name in rows.items()])
    op.drop_index('ix_kept_holidays_day', table_name='kept_holidays')
    op.drop_table('kept_holidays')
