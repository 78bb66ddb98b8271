"""A world of two organizations for the tests that walk every route (authorization matrix, API fuzz):
every role of each (the process roles of processes/*/roles.json and the system roles), the national
roles, credentials that must fail (malformed, revoked, expired, of a changed password, of a
deactivated user), and one running plan per organization. Built once per test module: walking
every route for every caller on a fresh database each time would cost minutes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from service.app import create_app
from service.auth import SYSTEM_ROLES
from service.clock import FixedClock
from service.commands import admin
from service.config import Settings
from service.context import Context

from ..conftest import bangkok
from .procedure import Procedure
from .web import PASSWORD

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
#: Every role a lane maps to in the shipped processes, then the roles every deployment has.
PROCESS_ROLES = tuple(sorted({role for path in PROCESSES.glob("*/roles.json")
                              for role in json.loads(path.read_text())["lanes"].values()}))
ROLES = (*PROCESS_ROLES, *SYSTEM_ROLES)
CODES = ("kradangnga", "bangkhonthi")


@dataclass
class Caller:
    """Who calls: ``organization`` None for a national role, ``role`` None for a credential that must fail."""

    name: str
    organization: str | None
    role: str | None
    token: str | None
    username: str | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token is not None else {}


@dataclass
class Organization:
    code: str
    plan_id: int = 0
    task_id: str = ""
    callers: dict[str, Caller] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return self.callers[role].headers()


@dataclass
class World:
    ctx: Context
    app: object
    clock: FixedClock
    organizations: dict[str, Organization]
    national: dict[str, Caller]
    failing: dict[str, Caller]

    def callers(self) -> list[Caller]:
        return [c for o in self.organizations.values() for c in o.callers.values()] + \
            [*self.national.values(), *self.failing.values()]


def database_url(tmp_path: Path, postgres) -> str:
    """A migrated database with the shipped processes (SQLite, or a copy of the PostgreSQL template)."""
    if postgres is None:
        return f"sqlite:///{tmp_path / 'phaen.sqlite3'}"
    name = f"w_{uuid.uuid4().hex[:12]}"
    with postgres.server.connect() as connection:  # conftest's, in AUTOCOMMIT
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE phaen_template")
    return postgres.url(name)


def build(tmp_path: Path, postgres) -> World:
    """The world, on a database of its own; the caller disposes of ``ctx.db`` when done."""
    clock = FixedClock(bangkok(2020, 9, 21, 9, 0))
    settings = Settings.from_env({}, instance_path=tmp_path / "instance", database_url=database_url(tmp_path, postgres),
                                 token_lifetime=timedelta(days=36500))
    ctx = Context.create(settings, clock)
    ctx.db.migrate()
    admin.register_processes(ctx)
    app = create_app(context=ctx, test_config={"TESTING": True})
    organizations = {}
    for code, name in zip(CODES, ("เทศบาลตำบลกระดังงา", "องค์การบริหารส่วนตำบลบางคนที"), strict=True):
        admin.add_organization(ctx, code, name, "จังหวัดทดสอบ")
        organization = Organization(code)
        for role in ROLES:
            username = f"{code}-{role}"
            token = admin.add_user(ctx, username, code, [role], PASSWORD, username, with_token=True)
            organization.callers[role] = Caller(f"{code}:{role}", code, role, token, username)
        plan = Procedure(app.test_client(), organization).start()
        organization.plan_id, organization.task_id = plan["id"], plan["tasks"][0]["id"]
        organizations[code] = organization
    national = {}
    for role in SYSTEM_ROLES:
        username = f"national-{role}"
        token = admin.add_user(ctx, username, None, [role], PASSWORD, username, with_token=True)
        national[role] = Caller(f"national:{role}", None, role, token, username)
    return World(ctx, app, clock, organizations, national, failing_credentials(ctx, clock))


def failing_credentials(ctx: Context, clock: FixedClock) -> dict[str, Caller]:
    """Each kind of credential the API must answer 401, exactly like no credential at all."""
    code = CODES[0]
    made = {}
    for kind in ("revoked", "expired", "password-changed", "deactivated"):
        made[kind] = admin.add_user(ctx, f"{kind}-user", code, ["support_committee"], PASSWORD, with_token=True)
    admin.revoke_tokens_of(ctx, "revoked-user")
    admin.set_password(ctx, "password-changed-user", PASSWORD + " new")
    admin.set_active(ctx, "deactivated-user", False)
    now = clock.now()
    clock.set(now - timedelta(days=2))
    made["expired"] = admin.issue_token(ctx, "expired-user", days=1)
    clock.set(now)
    made["malformed"] = "phaen_" + "x" * 43
    made["not-a-bearer"] = "Basic dXNlcjpwdw=="
    callers = {kind: Caller(kind, None, None, token) for kind, token in made.items()}
    callers["not-a-bearer"].headers = lambda: {"Authorization": "Basic dXNlcjpwdw=="}  # type: ignore[method-assign]
    callers["none"] = Caller("none", None, None, None)
    return callers
