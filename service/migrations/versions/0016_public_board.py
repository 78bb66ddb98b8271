"""public board: frozen documents found by their SHA-256 (the public verify page checks a hash or a file)

Revision ID: 0016
Revises: 0015
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_frozen_documents_sha256', 'frozen_documents', ['sha256'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_frozen_documents_sha256', table_name='frozen_documents')
