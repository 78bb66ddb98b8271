"""Shared set-up for the benchmarks: a fresh database (SQLite file, or a throw-away PostgreSQL
cluster with --postgres, with PostgreSQL's default, durable fsync and commit settings), the
shipped processes, organizations, users and plans."""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The benchmarks run from bench/, so these imports need the repository root put on sys.path first.
from service.auth import actor_of  # noqa: E402
from service.clock import FixedClock  # noqa: E402
from service.commands import admin  # noqa: E402
from service.commands import plans as commands  # noqa: E402
from service.config import Settings  # noqa: E402
from service.context import Context  # noqa: E402
from service.models import User  # noqa: E402

BANGKOK = ZoneInfo("Asia/Bangkok")


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--postgres", action="store_true", help="run on a throw-away PostgreSQL cluster")
    return parser


class Database:
    """A database for one benchmark run; PostgreSQL clusters are stopped on exit."""

    def __init__(self, postgres: bool):
        self.folder = Path(tempfile.mkdtemp(prefix="phaen-bench-"))
        self.cluster = None
        if postgres:
            from tests.pgcluster import Cluster

            self.cluster = Cluster(durable=True).start()  # fsync on, as in production
            self.cluster.sql("CREATE DATABASE bench")
            self.url = self.cluster.url("bench")
        else:
            self.url = f"sqlite:///{self.folder / 'bench.sqlite3'}"

    def context(self, clock=None) -> Context:
        clock = clock or FixedClock(datetime(2020, 9, 21, 9, tzinfo=BANGKOK))
        ctx = Context.create(Settings.from_env({}, instance_path=self.folder, database_url=self.url), clock)
        ctx.db.migrate()
        admin.register_processes(ctx)
        return ctx

    def close(self) -> None:
        if self.cluster:
            self.cluster.stop()

    @property
    def name(self) -> str:
        return "PostgreSQL" if self.cluster else "SQLite"


def actor(ctx: Context, username: str):
    with ctx.db.read() as session:
        return actor_of(session.query(User).filter_by(username=username).one())


def organization_with_plan(ctx: Context, code: str, budget_announced_on: str = "2020-09-20") -> tuple[int, str]:
    """An organization, its support committee (with a token) and a started plan."""
    admin.add_organization(ctx, code, f"เทศบาลตำบล {code}")
    token = admin.add_user(ctx, f"{code}-support", code, ["support_committee"], with_token=True)
    plan_id = commands.start_plan(ctx, actor(ctx, f"{code}-support"), {
        "organization": code, "fiscal_year": 2564, "budget_announced_on": budget_announced_on})
    return plan_id, token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db: Database, workers: int) -> tuple[subprocess.Popen, int]:
    """`phaen serve --production` (gunicorn) on the benchmark's database, on a free loopback port,
    once it answers; the process (terminate it) and the port."""
    port = free_port()
    env = {**os.environ, "PHAEN_DATABASE_URL": db.url, "PHAEN_INSTANCE_PATH": str(db.folder)}
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--production", "--port", str(port),
                               "--workers", str(workers)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(600):
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return server, port
        except OSError:
            connection.close()
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("the server did not answer within a minute")
