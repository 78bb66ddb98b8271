"""attachments: files attached to a step as evidence, their bytes kept by SHA-256 under the
instance folder; never changed or removed on PostgreSQL

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('task', sa.String(length=100), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('added_by', sa.String(length=64), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('plan_id', 'task_id', 'sha256'),
    )
    op.create_index('ix_attachments_plan', 'attachments', ['plan_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION attachments_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'attachments are evidence and never changed: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$
        """)
        op.execute("""
            CREATE TRIGGER attachments_unchanged BEFORE UPDATE OR DELETE ON attachments
            FOR EACH ROW EXECUTE FUNCTION attachments_unchanged()
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER attachments_unchanged ON attachments")
        op.execute("DROP FUNCTION attachments_unchanged()")
    op.drop_index('ix_attachments_plan', table_name='attachments')
    op.drop_table('attachments')
