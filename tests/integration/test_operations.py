"""What operators rely on: the health check, one log line per request and command, and a
Docker layout that mirrors the tested start-up."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import click
import pytest
import yaml

from service.app import create_app
from service.cli import main as cli
from service.config import Settings
from service.context import Context

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_is_ok_on_a_migrated_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "database": "ok", "migrations": "current"}


def test_healthz_is_503_when_migrations_are_pending(tmp_path, empty_database_url, clock):
    context = Context.create(Settings.from_env({}, instance_path=tmp_path / "i", database_url=empty_database_url),
                             clock)
    response = create_app(context=context).test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["migrations"] == "pending"
    context.db.dispose()


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'x.sqlite3'}"
    context = Context.create(Settings.from_env({}, instance_path=tmp_path / "i", database_url=url), clock)
    response = create_app(context=context).test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"].startswith("unreachable")


def test_each_request_and_command_is_one_structured_log_line(client, org, caplog):
    caplog.set_level(logging.INFO, logger="phaen")
    body = {"organization": org.code, "fiscal_year": 2564, "budget_announced_on": "2020-09-20"}
    plan = client.post("/api/v1/plans", headers=org.headers("support_committee"), json=body).get_json()
    client.get(f"/api/v1/plans/{plan['id']}", headers=org.headers("support_committee"))
    lines = [r.fields for r in caplog.records if hasattr(r, "fields")]
    commands = [f for f in lines if f["event"] == "command"]
    requests = [f for f in lines if f["event"] == "request"]
    assert [(c["kind"], c["plan"], c["user"]) for c in commands] == [
        ("plan_started", plan["id"], "kradangnga-support_committee")]
    assert [(r["method"], r["status"], r["user"]) for r in requests] == [
        ("POST", 201, "kradangnga-support_committee"), ("GET", 200, "kradangnga-support_committee")]
    assert requests[1]["plan"] == plan["id"] and requests[1]["ms"] >= 0


def _cli_accepts(args: list[str]) -> None:
    """The command line names an existing phaen command with options it has."""
    assert args[0] == "phaen"
    command: click.Command = cli
    rest = args[1:]
    while isinstance(command, click.Group):
        command, rest = command.commands[rest[0]], rest[1:]
    options = {opt for param in command.params for opt in param.opts}
    assert all(word in options for word in rest if word.startswith("--")), (args, options)


def test_compose_file_runs_the_same_commands_as_the_tested_start_up():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "migrate", "web", "timers"} <= set(services)
    assert services["migrate"]["command"] == ["phaen", "init"]
    assert services["web"]["command"][:3] == ["phaen", "serve", "--production"]
    assert services["timers"]["command"][:3] == ["phaen", "timers", "run"]
    for name in ("migrate", "web", "timers"):
        _cli_accepts(services[name]["command"])
        assert services[name]["environment"]["PHAEN_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "healthcheck" in services["db"] and "pgdata" in compose["volumes"]
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    cmd = re.search(r'^CMD (\[.*\])$', dockerfile, re.M).group(1)
    assert yaml.safe_load(cmd) == services["web"]["command"]
    for package in ("fonts-thai-tlwg", "libpango-1.0-0"):
        assert package in dockerfile and package in (ROOT / "Makefile").read_text()


def test_every_setting_in_the_compose_file_is_documented():
    readme = (ROOT / "README.md").read_text()
    compose = (ROOT / "docker" / "compose.yaml").read_text()
    for name in set(re.findall(r"\b(PHAEN_[A-Z_]+)", compose)) - {"PHAEN_DB_PASSWORD"}:
        assert name in readme, name


def test_a_connection_the_database_dropped_while_idle_is_replaced_not_failed(ctx, postgres):
    """After the database closed the pool's connections (a restart, an idle timeout), the next
    command gets a fresh connection instead of an error."""
    if postgres is None:
        pytest.skip("PostgreSQL only: SQLite has no server to drop connections")
    from service import db as database

    engine = database.make_engine(ctx.db.url)
    try:
        with engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with postgres.server.connect() as admin_connection:
            assert admin_connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar()
        for record in list(engine.pool._pool.queue):
            record.info["returned_at"] -= database.PING_AFTER_IDLE_SECONDS  # as if it had sat unused that long
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    finally:
        engine.dispose()
