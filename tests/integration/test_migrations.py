"""Alembic migrations upgrade an empty database, downgrade to nothing, and upgrade again."""

from __future__ import annotations

from sqlalchemy import inspect

from service.config import Settings
from service.context import Context
from service.models import Base


def test_upgrade_downgrade_upgrade(tmp_path, empty_database_url, clock):
    context = Context.create(Settings.from_env({}, instance_path=tmp_path / "i", database_url=empty_database_url),
                             clock)
    try:
        context.db.migrate()
        assert context.db.migrations_current()
        tables = set(inspect(context.db.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        context.db.downgrade("base")
        assert set(inspect(context.db.engine).get_table_names()) <= {"alembic_version"}
        assert not context.db.migrations_current()
        context.db.migrate()
        assert set(Base.metadata.tables) <= set(inspect(context.db.engine).get_table_names())
    finally:
        context.db.dispose()


def test_the_migrations_create_exactly_the_models(ctx):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with ctx.db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
