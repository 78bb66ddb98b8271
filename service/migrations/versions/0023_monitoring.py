"""monitoring: no schema change (the monitoring procedure is a process bundle; this number was held for it)

Revision ID: 0023
Revises: 0022
"""

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
