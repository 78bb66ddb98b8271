"""credentials: tokens expire and name who revoked them, sessions kept on the server, log-in
failures counted per typed name and per client address

Tokens of earlier releases never expired; they get the default lifetime counted from the upgrade
(not from their issue, which would end every older integration at once without warning), and no
hint (their last characters were never kept). The lock-out counters move from the users table to
one row per typed name, so that an unknown name counts and locks exactly like a known one.

Revision ID: 0009
Revises: 0008
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

GRACE = timedelta(days=90)  # as Settings.token_lifetime's default


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hint', sa.String(length=8), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_by', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)
    # A migration runs outside the application and has no application clock: the upgrade's own
    # instant starts the grace period.
    tokens = sa.table('api_tokens', sa.column('expires_at', sa.DateTime(timezone=True)))
    op.get_bind().execute(sa.update(tokens).values(expires_at=datetime.now(UTC) + GRACE))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True), nullable=False)

    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_index('ix_web_sessions_user_id', 'web_sessions', ['user_id'], unique=False)
    op.create_table('login_failures',
    sa.Column('name_hash', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name_hash')
    )
    op.create_index('ix_login_failures_last_failed_at', 'login_failures', ['last_failed_at'], unique=False)
    op.create_table('login_throttle',
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('address_hash')
    )
    op.create_index('ix_login_throttle_window_started_at', 'login_throttle', ['window_started_at'], unique=False)

    # A lock-out lasts minutes: the counters of the old place are dropped, not carried over. Not
    # in batch mode: on SQLite that copies the users table and drops the old one, which the foreign
    # keys of role_memberships and api_tokens refuse; SQLite has its own DROP COLUMN since 3.35.
    op.drop_column('users', 'locked_until')
    op.drop_column('users', 'failed_logins')


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.drop_index('ix_login_throttle_window_started_at', table_name='login_throttle')
    op.drop_table('login_throttle')
    op.drop_index('ix_login_failures_last_failed_at', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_index('ix_web_sessions_user_id', table_name='web_sessions')
    op.drop_table('web_sessions')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))
        batch_op.drop_column('revoked_by')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('hint')
