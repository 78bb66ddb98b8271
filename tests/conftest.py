"""Shared fixtures: a fresh database per test, a clock the test moves, API helpers."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine

from service.app import create_app
from service.clock import FixedClock
from service.commands import admin
from service.config import Settings
from service.context import Context

BANGKOK = ZoneInfo("Asia/Bangkok")
ROLES = ("support_committee", "development_committee", "executive", "planning_office")


def bangkok(*args) -> datetime:
    return datetime(*args, tzinfo=BANGKOK)


@pytest.fixture(scope="session")
def postgres():
    """With PHAEN_TEST_POSTGRES=1, a throw-away PostgreSQL cluster and a migrated template database."""
    if os.environ.get("PHAEN_TEST_POSTGRES") != "1":
        yield None
        return
    from .pgcluster import Cluster

    cluster = Cluster().start()
    server = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE phaen_template")
    template = Context.create(Settings.from_env({}, instance_path=Path(cluster.root) / "instance",
                                                database_url=cluster.url("phaen_template")),
                              FixedClock(bangkok(2020, 1, 1)))
    template.db.migrate()
    admin.register_processes(template)
    template.db.dispose()
    cluster.server = server
    try:
        yield cluster
    finally:
        server.dispose()
        cluster.stop()


def _new_database(postgres, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with postgres.server.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {template}")
    return postgres.url(name)


@pytest.fixture
def database_url(tmp_path, postgres):
    """A migrated database with the shipped processes published (SQLite file or PostgreSQL)."""
    if postgres is None:
        return f"sqlite:///{tmp_path / 'phaen.sqlite3'}"
    return _new_database(postgres, "phaen_template")


@pytest.fixture
def empty_database_url(tmp_path, postgres):
    if postgres is None:
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return _new_database(postgres, "template0")


@pytest.fixture
def settings(tmp_path, database_url):
    # tokens issued at the fixed clock's 2020 live as long as the tests move the clock on (years)
    return Settings.from_env({}, instance_path=tmp_path / "instance", database_url=database_url,
                             token_lifetime=timedelta(days=36500))


@pytest.fixture
def clock():
    return FixedClock(bangkok(2020, 9, 21, 9, 0))


@pytest.fixture
def ctx(settings, clock):
    context = Context.create(settings, clock)
    context.db.migrate()
    admin.register_processes(context)
    yield context
    context.db.dispose()


@pytest.fixture
def app(ctx):
    return create_app(context=ctx, test_config={"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


class Org:
    """An organization with one user (and token) per process role."""

    def __init__(self, ctx: Context, code: str, name: str):
        admin.add_organization(ctx, code, name, "จังหวัดทดสอบ")
        self.code = code
        self.tokens = {role: admin.add_user(ctx, f"{code}-{role}", code, [role], with_token=True)
                       for role in (*ROLES, "admin", "auditor")}

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def org(ctx):
    return Org(ctx, "kradangnga", "เทศบาลตำบลกระดังงา")


@pytest.fixture
def other_org(ctx):
    return Org(ctx, "bangkhonthi", "องค์การบริหารส่วนตำบลบางคนที")
