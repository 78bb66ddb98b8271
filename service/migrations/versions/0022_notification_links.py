"""notification links: LINE link codes, and each person's daily digest (hour, day sent, last covered)

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'line_link_codes',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('user_id'),
        sa.UniqueConstraint('digest'),
    )
    with op.batch_alter_table('notice_settings') as batch:
        batch.add_column(sa.Column('digest_hour', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('digest_sent_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('digest_through', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notice_settings') as batch:
        batch.drop_column('digest_through')
        batch.drop_column('digest_sent_on')
        batch.drop_column('digest_hour')
    op.drop_table('line_link_codes')
