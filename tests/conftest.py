"""Shared fixtures: a fresh database per test, a clock the test moves, API helpers."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from service import admin
from service.app import create_app
from service.clock import FixedClock
from service.config import Settings
from service.context import Context

BANGKOK = ZoneInfo("Asia/Bangkok")
ROLES = ("support_committee", "development_committee", "executive", "planning_office")


def bangkok(*args) -> datetime:
    return datetime(*args, tzinfo=BANGKOK)


@pytest.fixture
def settings(tmp_path):
    url = os.environ.get("PHAEN_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'phaen.sqlite3'}"
    return Settings.from_env({}, instance_path=tmp_path / "instance", database_url=url)


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
