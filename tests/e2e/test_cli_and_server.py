"""The CLI and a real server process, as an operator meets them: set-up, tokens, the clock,
timers, and a plan that survives a server restart in the middle of the procedure."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from ..integration.procedure import ROLE_OF, SAMPLES
from .servers import Server, phaen


def test_operator_setup_and_a_plan_that_survives_a_restart(env):
    assert "published" in phaen(env, "init").stdout
    assert "unchanged" in phaen(env, "init").stdout  # idempotent
    phaen(env, "org", "add", "nongbua", "องค์การบริหารส่วนตำบลหนองบัว", "--province", "อุดรธานี")
    tokens = {}
    for role in sorted(set(ROLE_OF.values())):
        out = phaen(env, "user", "add", f"nb-{role}", "--org", "nongbua", "--role", role, "--token").stdout
        tokens[role] = out.strip().splitlines()[-1]
        assert tokens[role].startswith("phaen_")
    bad = phaen(env, "user", "add", "x", "--org", "nongbua", "--role", "mayor", check=False)
    assert bad.returncode == 1 and "ไม่รู้จักบทบาท" in bad.stderr and "Traceback" not in bad.stderr

    server = Server(env).start()
    try:
        today = datetime.now(ZoneInfo("Asia/Bangkok")).date()  # no ข้อ 27 deadline has passed yet
        status, plan = server.call("POST", "/api/v1/plans", tokens["support_committee"],
                                   {"organization": "nongbua", "fiscal_year": today.year + 544,
                                    "budget_announced_on": today.isoformat()})
        assert status == 201
        for name in ("collect_projects", "draft_plan"):
            status, plan = server.call("GET", f"/api/v1/plans/{plan['id']}", tokens["support_committee"])
            task = next(t for t in plan["tasks"] if t["name"] == name)
            status, _ = server.call("POST", f"/api/v1/tasks/{task['id']}/complete", tokens[ROLE_OF[name]],
                                    SAMPLES[name])
            assert status == 200
    finally:
        server.stop()

    # Restarted as in production (gunicorn, two workers): everything comes back from the database.
    server = Server(env, workers=2).start()
    try:
        status, reloaded = server.call("GET", f"/api/v1/plans/{plan['id']}", tokens["support_committee"])
        assert status == 200 and [t["name"] for t in reloaded["tasks"]] == ["propose_draft"]
        status, inbox = server.call("GET", "/api/v1/tasks", tokens["support_committee"])
        assert [t["name"] for t in inbox["tasks"]] == ["propose_draft"]
        task = inbox["tasks"][0]
        status, _ = server.call("POST", f"/api/v1/tasks/{task['id']}/complete", tokens["support_committee"],
                                SAMPLES["propose_draft"])
        assert status == 200
        status, history = server.call("GET", f"/api/v1/plans/{plan['id']}/history", tokens["support_committee"])
        assert [e["task"] for e in history["events"]] == [None, "collect_projects", "draft_plan", "propose_draft"]
        status, health = server.call("GET", "/healthz")
        assert status == 200 and health == {"ok": True, "database": "ok", "migrations": "current"}
    finally:
        log = server.stop()
    assert "Traceback" not in log and "warm_up_skipped" not in log
    assert '"kind": "task_completed"' in log and "Worker exiting" in log  # logged, and stopped gracefully


def test_the_clock_can_be_set_only_where_allowed_and_timers_obey_it(env):
    phaen(env, "init")
    refused = phaen(env, "clock", "set", "2020-10-17T00:00:00+07:00", check=False)
    assert refused.returncode == 1 and "PHAEN_ALLOW_CLOCK_OVERRIDE" in refused.stderr

    env = {**env, "PHAEN_ALLOW_CLOCK_OVERRIDE": "1"}
    out = phaen(env, "demo").stdout
    assert "เทศบาลตำบลกระดังงา" in out
    support_token = next(line.split()[-1] for line in out.splitlines() if line.startswith("support "))
    mayor_token = next(line.split()[-1] for line in out.splitlines() if line.startswith("mayor "))
    phaen(env, "clock", "set", "2020-09-21T09:00:00+07:00")
    assert phaen(env, "clock", "show").stdout.startswith("2020-09-21T02:0")

    server = Server(env, args=("--timer-interval", "0")).start()  # the ticks below fire them
    try:
        status, plan = server.call("POST", "/api/v1/plans", support_token,
                                   {"organization": "kradangnga", "fiscal_year": 2564,
                                    "budget_announced_on": "2020-09-20"})
        assert status == 201
        assert "no timer due" in phaen(env, "timers", "tick").stdout
        phaen(env, "clock", "set", "2020-10-21T00:00:01+07:00")  # day 30 (20 Oct) has ended
        assert "ครบ 30 วัน" in phaen(env, "timers", "tick").stdout
        status, inbox = server.call("GET", "/api/v1/tasks", mayor_token)
        assert [t["name"] for t in inbox["tasks"]] == ["record_extension"]
    finally:
        server.stop()
    phaen(env, "clock", "reset")
    assert not phaen(env, "clock", "show").stdout.startswith("2020")


def test_the_embedded_server_fires_its_own_timers_and_says_when_a_stored_clock_is_ignored(env):
    allowed = {**env, "PHAEN_ALLOW_CLOCK_OVERRIDE": "1"}
    phaen(allowed, "init")
    out = phaen(allowed, "demo").stdout
    support_token = next(line.split()[-1] for line in out.splitlines() if line.startswith("support "))
    mayor_token = next(line.split()[-1] for line in out.splitlines() if line.startswith("mayor "))
    phaen(allowed, "clock", "set", "2020-09-21T09:00:00+07:00")
    server = Server(allowed, args=("--timer-interval", "0.2")).start()
    try:
        status, _ = server.call("POST", "/api/v1/plans", support_token,
                                {"organization": "kradangnga", "fiscal_year": 2564,
                                 "budget_announced_on": "2020-09-20"})
        assert status == 201
        phaen(allowed, "clock", "set", "2020-10-21T00:00:01+07:00")  # day 30 has ended: no tick is run
        deadline = time.monotonic() + 30
        names: list[str] = []
        while time.monotonic() < deadline and "record_extension" not in names:
            time.sleep(0.2)
            names = [t["name"] for t in server.call("GET", "/api/v1/tasks", mayor_token)[1]["tasks"]]
        assert "record_extension" in names
    finally:
        log = server.stop()
    assert "timers: fired in this process" in log

    # the same database served where overrides are off: the stored clock is ignored, and said so
    warned = phaen(env, "clock", "show")
    assert "WARNING" in warned.stderr and "2020-10-21" in warned.stderr and not warned.stdout.startswith("2020")


def test_an_unreachable_database_is_one_clear_line(env, tmp_path):
    env = {**env, "PHAEN_DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'x.sqlite3'}"}
    result = phaen(env, "init", check=False)
    assert result.returncode == 1
    assert "ติดต่อฐานข้อมูลไม่ได้" in result.stderr and "Traceback" not in result.stderr
