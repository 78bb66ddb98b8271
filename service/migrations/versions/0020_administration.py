"""administration: organizations' type, district and active flag; password-reset links; the append-only admin log

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

#: One refusal on both databases: the admin log is what an administrator cannot rewrite.
_REFUSED = "admin_log is append-only"


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: SQLite's batch mode would copy and drop the table, which
    # the users' and plans' foreign keys refuse.
    op.add_column('organizations', sa.Column('type', sa.String(length=20), nullable=False, server_default=''))
    op.add_column('organizations', sa.Column('district', sa.String(length=100), nullable=False, server_default=''))
    op.add_column('organizations', sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        'password_reset_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('issued_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_password_reset_links_user_id', 'password_reset_links', ['user_id'], unique=False)
    op.create_table(
        'admin_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=64), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_admin_log_organization_id_id', 'admin_log', ['organization_id', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION admin_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{_REFUSED}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
            END
            $$
        """)
        op.execute("""
            CREATE TRIGGER admin_log_append_only BEFORE UPDATE OR DELETE ON admin_log
            FOR EACH ROW EXECUTE FUNCTION admin_log_append_only()
        """)
        op.execute("""
            CREATE TRIGGER admin_log_no_truncate BEFORE TRUNCATE ON admin_log
            FOR EACH STATEMENT EXECUTE FUNCTION admin_log_append_only()
        """)
    else:  # SQLite: no TRUNCATE there, and a DELETE without WHERE still fires a row trigger
        for operation in ('UPDATE', 'DELETE'):
            op.execute(f"""
                CREATE TRIGGER admin_log_no_{operation.lower()} BEFORE {operation} ON admin_log
                BEGIN SELECT RAISE(ABORT, '{_REFUSED}: {operation} refused'); END
            """)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER admin_log_no_truncate ON admin_log")
        op.execute("DROP TRIGGER admin_log_append_only ON admin_log")
        op.execute("DROP FUNCTION admin_log_append_only()")
    op.drop_index('ix_admin_log_organization_id_id', table_name='admin_log')
    op.drop_table('admin_log')  # DROP TABLE drops SQLite's triggers with it (and fires none)
    op.drop_index('ix_password_reset_links_user_id', table_name='password_reset_links')
    op.drop_table('password_reset_links')
    for column in ('active', 'district', 'type'):  # SQLite 3.35+ drops a column in place
        op.execute(f"ALTER TABLE organizations DROP COLUMN {column}")
