"""Official holidays: kept by the national administrator, counted by legal periods from a minute
after each change, and replayed by auditors over the holidays that counted at each event."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from service import audit
from service.cli import main as cli
from service.commands import admin
from service.models import Holiday

from .procedure import Procedure

DAY_27 = "2020-10-20"  # the last day of ข้อ 27's 30 days from 20 Sep 2020 (a Tuesday)


@pytest.fixture
def national(ctx):
    return {"Authorization": f"Bearer {admin.add_user(ctx, 'dla-admin', None, ['admin'], with_token=True)}"}


def keep(client, national, day, name="วันหยุดพิเศษ"):
    return client.put(f"/api/v1/holidays/{day}", headers=national, json={"name": name})


def kept_rows(ctx) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(Holiday))


def test_a_holiday_on_the_last_day_moves_a_limit_from_a_minute_after_it_was_kept(ctx, client, org, national, clock):
    response = keep(client, national, DAY_27)
    assert response.status_code == 200
    kept = response.get_json()
    assert kept["day"] == DAY_27 and kept["counts_until"] is None and kept["added_by"] == "dla-admin"
    assert kept["counts_from"] == (clock.now() + timedelta(minutes=1)).astimezone(UTC).isoformat()

    run = Procedure(client, org)
    early = run.start()["id"]  # 0 s after: the holiday does not count yet
    clock.advance(seconds=59)
    assert run.deadline(run.start(fiscal_year=2565)["id"], "budget_deadline")["due_on"] == DAY_27
    clock.advance(seconds=1)
    late = run.start(fiscal_year=2566)["id"]
    assert run.deadline(late, "budget_deadline")["due_on"] == "2020-10-21"
    assert run.deadline(early, "budget_deadline")["due_on"] == DAY_27  # a period already begun keeps its end

    listed = client.get("/api/v1/holidays?year=2563", headers=org.headers("support_committee")).get_json()
    assert [h["day"] for h in listed["holidays"]] == [DAY_27]


def test_removing_a_holiday_ends_it_and_keeps_the_record(ctx, client, org, national, clock):
    keep(client, national, DAY_27)
    clock.advance(minutes=2)
    removed = client.delete(f"/api/v1/holidays/{DAY_27}", headers=national)
    assert removed.status_code == 200 and removed.get_json()["counts_until"]
    run = Procedure(client, org)
    assert run.deadline(run.start()["id"], "budget_deadline")["due_on"] == "2020-10-21"  # still counts
    clock.advance(minutes=1)
    assert run.deadline(run.start(fiscal_year=2565)["id"], "budget_deadline")["due_on"] == DAY_27
    assert kept_rows(ctx) == 1
    assert client.get("/api/v1/holidays", headers=national).get_json()["holidays"] == []
    again = client.delete(f"/api/v1/holidays/{DAY_27}", headers=national)
    assert again.status_code == 404
    assert keep(client, national, DAY_27).status_code == 200 and kept_rows(ctx) == 2  # kept again: a new row


def test_plans_verify_after_the_holidays_changed_under_them(ctx, client, org, national, clock):
    """The false alarm this prevents: replaying a plan over today's holidays instead of those
    that counted when its events happened."""
    run = Procedure(client, org)
    before = run.start()["id"]  # counted without the holiday
    keep(client, national, DAY_27)
    clock.advance(minutes=5)
    after = run.start(fiscal_year=2565)["id"]  # counted with it
    assert run.deadline(after, "budget_deadline")["due_on"] == "2020-10-21"
    client.delete(f"/api/v1/holidays/{DAY_27}", headers=national)
    clock.advance(minutes=5)
    for plan_id in (before, after):
        assert audit.verify_plan(ctx, plan_id).ok, audit.verify_plan(ctx, plan_id).first_divergence

    exported = json.loads(audit.export_bundle(ctx, after))
    assert [(h["day"], h["ended_at"] is not None) for h in exported["holidays"]] == [(DAY_27, True)]


def test_an_exported_plan_verifies_offline_with_its_dated_holidays(ctx, client, org, national, clock, tmp_path):
    keep(client, national, DAY_27)
    clock.advance(minutes=5)
    plan_id = Procedure(client, org).start()["id"]
    bundle = tmp_path / "plan.json"
    bundle.write_bytes(audit.export_bundle(ctx, plan_id))
    assert audit.verify_bundle(str(bundle)).ok
    body = json.loads(bundle.read_text())
    body["holidays"] = []  # as if the holiday had never counted: the deadline no longer replays
    body.pop("bundle_sha256")
    bundle.write_text(json.dumps(body, ensure_ascii=False))
    assert not audit.verify_bundle(str(bundle)).ok


@pytest.mark.parametrize("day, body, field", [
    ("2020-13-01", {"name": "x"}, "day"),
    ("20201020", {"name": "x"}, "day"),
    ("1899-10-20", {"name": "x"}, "day"),
    (DAY_27, {"name": ""}, "/name"),
    (DAY_27, {"name": "ก" * 201}, "/name"),
    (DAY_27, {}, "/name"),
    (DAY_27, ["not", "an", "object"], "/name"),
])
def test_bad_holidays_are_422_and_keep_nothing(ctx, client, national, day, body, field):
    response = client.put(f"/api/v1/holidays/{day}", headers=national, json=body)
    assert response.status_code == 422, response.get_json()
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    assert kept_rows(ctx) == 0


def test_only_a_national_admin_keeps_holidays(ctx, client, org):
    for headers in (org.headers("admin"), org.headers("support_committee")):
        assert client.put(f"/api/v1/holidays/{DAY_27}", headers=headers, json={"name": "x"}).status_code == 403
        assert client.delete(f"/api/v1/holidays/{DAY_27}", headers=headers).status_code == 403
    assert client.put(f"/api/v1/holidays/{DAY_27}", json={"name": "x"}).status_code == 401
    assert client.get("/api/v1/holidays?year=abc", headers=org.headers("admin")).status_code == 422
    assert kept_rows(ctx) == 0


def test_the_cli_keeps_imports_lists_and_removes_holidays(ctx, tmp_path, monkeypatch):
    monkeypatch.setenv("PHAEN_DATABASE_URL", ctx.db.url)
    monkeypatch.setenv("PHAEN_INSTANCE_PATH", str(tmp_path / "instance"))
    runner = CliRunner()
    added = runner.invoke(cli, ["holiday", "add", "2026-12-31", "วันสิ้นปี"])
    assert added.exit_code == 0, added.output
    bad = tmp_path / "bad.csv"
    bad.write_text("day,name\n2026-04-13,วันสงกรานต์\n2026-04-32,วันผิด\n2026-04-14\n", encoding="utf-8")
    refused = runner.invoke(cli, ["holiday", "import", str(bad)])
    assert refused.exit_code == 1 and "บรรทัด 3" in refused.output and "บรรทัด 4" in refused.output
    assert kept_rows(ctx) == 1  # all or none
    not_text = tmp_path / "holidays.xlsx"
    not_text.write_bytes(b"PK\x03\x04\xff\xfe binary")
    unreadable = runner.invoke(cli, ["holiday", "import", str(not_text)])
    assert unreadable.exit_code == 1 and "UTF-8" in unreadable.output and "Traceback" not in unreadable.output
    good = tmp_path / "good.csv"
    good.write_text("วันที่,ชื่อ\n2026-04-13,วันสงกรานต์\n2026-04-14,วันสงกรานต์\n", encoding="utf-8")
    assert runner.invoke(cli, ["holiday", "import", str(good)]).output.strip() == "2 holidays kept"
    listed = runner.invoke(cli, ["holiday", "list", "--year", "2569"]).output.splitlines()
    assert [line.split()[0] for line in listed] == ["2026-04-13", "2026-04-14", "2026-12-31"]
    assert runner.invoke(cli, ["holiday", "remove", "2026-12-31"]).exit_code == 0
    missing = runner.invoke(cli, ["holiday", "remove", "2026-12-30"])
    assert missing.exit_code == 1 and "ไม่มีวันหยุด" in missing.output
