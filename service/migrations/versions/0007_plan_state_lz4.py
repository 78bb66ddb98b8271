"""plan_state_lz4: PostgreSQL compresses plan states (and event data) with lz4, not pglz

Every command rewrites its plan's whole serialized state (tens to hundreds of KB for a plan of
hundreds of projects); pglz compression of that on each write, and decompression on each read,
was a measurable part of a task completion. lz4 is several times faster at a similar ratio.
Existing values stay as they are (both are readable). SQLite does not compress: nothing to do.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

COLUMNS = (("plans", "state_json"), ("events", "data"))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql' or bind.dialect.server_version_info < (14,):
        return
    # A server built without lz4 refuses the method: it then keeps pglz, which works, only slower.
    supported = bind.exec_driver_sql(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'").scalar()
    if supported:
        for table, column in COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql' and bind.dialect.server_version_info >= (14,):
        for table, column in COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION pglz")
