"""Alembic migrations upgrade an empty database, downgrade to nothing, and upgrade again."""

from __future__ import annotations

import pytest
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


def test_upgrading_a_database_with_plans_fills_in_each_plans_log_head(ctx, client, org):
    """0006 adds the log head to the plan row: a database of the previous release, with plans and
    their events, upgrades to rows whose head is their last event (and verifies clean)."""
    from sqlalchemy import select

    from service import audit
    from service.models import Event, Plan

    from .procedure import Procedure

    run = Procedure(client, org)
    plans = [run.start()["id"], run.start(fiscal_year=2565)["id"]]
    run.complete(plans[0], "collect_projects")
    with ctx.db.read() as session:
        before = {p.id: (p.event_seq, p.event_hash, p.state_digest) for p in session.scalars(select(Plan))}
        heads = {plan_id: session.execute(select(Event.seq, Event.hash, Event.state_digest)
                                          .where(Event.plan_id == plan_id)
                                          .order_by(Event.seq.desc())).first() for plan_id in plans}
    assert before == {plan_id: tuple(head) for plan_id, head in heads.items()}
    assert before[plans[0]][0] == 2 and before[plans[1]][0] == 1

    ctx.db.downgrade("0005")
    assert "event_seq" not in {c["name"] for c in inspect(ctx.db.engine).get_columns("plans")}
    ctx.db.migrate()
    with ctx.db.read() as session:
        after = {p.id: (p.event_seq, p.event_hash, p.state_digest) for p in session.scalars(select(Plan))}
    assert after == before
    assert all(audit.verify_plan(ctx, plan_id).ok for plan_id in plans)


def test_postgresql_stores_plan_states_with_lz4(ctx, postgres):
    if postgres is None:
        pytest.skip("PostgreSQL only: SQLite does not compress")
    with ctx.db.engine.connect() as connection:
        methods = dict(connection.exec_driver_sql(
            "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute "
            "WHERE (attrelid, attname) IN (('plans'::regclass, 'state_json'), ('events'::regclass, 'data'))").all())
    assert methods == {"plans.state_json": "l", "events.data": "l"}


def test_holidays_of_the_previous_release_count_always_after_the_upgrade(ctx, clock):
    from datetime import date

    from service.commands import holidays
    from service.context import kept_holidays
    from service.thai.legaldays import ALWAYS

    holidays.keep(ctx, "dla-admin", date(2020, 10, 20), "วันหยุดพิเศษ")
    removed = date(2020, 10, 21)
    holidays.keep(ctx, "dla-admin", removed, "ยกเลิกแล้ว")
    holidays.remove(ctx, "dla-admin", removed)
    ctx.db.downgrade("0007")  # the previous release kept only the days that counted
    with ctx.db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT day, name FROM holidays").all() in (
            [(date(2020, 10, 20), "วันหยุดพิเศษ")], [("2020-10-20", "วันหยุดพิเศษ")])
    ctx.db.migrate()
    with ctx.db.read() as session:
        rows = kept_holidays(session)
    assert [(h.day, h.effective_at, h.ended_at) for h in rows] == [(date(2020, 10, 20), ALWAYS, None)]
