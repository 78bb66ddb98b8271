"""document jobs: no schema change (freezing became a job of the existing queue; this number was held for it)

Revision ID: 0024
Revises: 0023
"""

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
