"""frozen_documents: the documents as announced, stored once; unchangeable on PostgreSQL

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('frozen_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('as_of_seq', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'kind')
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION frozen_documents_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'frozen documents are never changed: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END
            $$
        """)
        op.execute("""
            CREATE TRIGGER frozen_documents_unchanged BEFORE UPDATE OR DELETE ON frozen_documents
            FOR EACH ROW EXECUTE FUNCTION frozen_documents_unchanged()
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER frozen_documents_unchanged ON frozen_documents")
        op.execute("DROP FUNCTION frozen_documents_unchanged()")
    op.drop_table('frozen_documents')
