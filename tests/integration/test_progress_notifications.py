"""Notifications of the plan's year (issue 15): each unit's overdue projects by a daily job, the
reports' cut-offs coming to the planning office, and a unit's recorded progress to it too; once a
day however often the job runs, as the person's settings say, and to the plan's own organization
only. FY 2564 runs from 1 Oct 2020 to 30 Sep 2021: the water truck (สำนักปลัด) is planned for
ต.ค.–พ.ย. 2563, the road (กองช่าง) for ม.ค.–มี.ค. 2564."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from service import cli
from service.commands import admin, holidays, jobs, notices, progress, reminders
from service.errors import Invalid
from service.models import Delivery, Job, Notification

from .test_notifications import BANGKOK, actor, smtp  # noqa: F401 - smtp: the fixture
from .test_progress import ROAD, WATER_TRUCK, Units, announced, listing, put  # noqa: F401 - announced: fixture
from .test_progress_import import TRUCK_ROW, csv_of, send

ROAD_ROW = ["1.2.1", ROAD["name"], "อยู่ระหว่างดำเนินการ", "11/01/2564", "", "ม.ค.", "475,000", "100000", ""]
WORKED = {"status": "in_progress", "started_on": "2021-01-11", "months_worked": [1], "contracted": 475000}


def at(year, month, day, hour=8, minute=0):
    return datetime.combine(date(year, month, day), time(hour, minute), BANGKOK)


@pytest.fixture
def tracked(ctx, client, org, clock, announced):  # noqa: F811 - the fixture of test_progress
    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    return plan_id, Units(ctx, org)


def the_day(ctx, clock, when):
    """The sweep's part and the queue's work at ``when``: how many reminders the day's job wrote."""
    clock.set(when)
    before = count(ctx)
    reminders.schedule(ctx)
    jobs.work(ctx, kinds=[reminders.JOB, notices.DELIVER])
    return count(ctx) - before


def count(ctx, event=None):
    with ctx.db.read() as session:
        query = select(func.count()).select_from(Notification).where(Notification.event.in_(
            [event] if event else [reminders.OVERDUE, reminders.REPORT_DUE, reminders.RECORDED]))
        return session.scalar(query)


def told(ctx, username, event):
    return [n for n in notices.listing(ctx, actor(ctx, username))["items"] if n["event"] == event]


def test_overdue_projects_are_told_to_their_unit_once_a_day_when_the_list_grows_or_weekly(
        ctx, client, org, other_org, clock, tracked):
    plan_id, _ = tracked
    Units(ctx, other_org)  # the same unit names in another organization: nothing of this plan reaches them
    clerk, engineer = f"{org.code}-clerk", f"{org.code}-engineer"

    assert the_day(ctx, clock, at(2020, 11, 30, 10)) == 0  # the truck's last month planned is not over
    assert the_day(ctx, clock, at(2020, 12, 1, 7, 59)) == 0  # the day the next month starts, before the hour
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.kind == reminders.JOB)) == 1
    assert the_day(ctx, clock, at(2020, 12, 1, 8, 0)) == 1
    [note] = told(ctx, clerk, reminders.OVERDUE)
    assert note["subject"] == "[เทศบาลตำบลกระดังงา] โครงการที่เลยกำหนดตามแผนแล้วยังไม่ได้เริ่ม 1 โครงการ"
    assert f"• 1.1.1 {WATER_TRUCK['name']} (สำนักปลัด) ตามแผน ต.ค.–พ.ย. 2563" in note["body"]
    assert ROAD["name"] not in note["body"] and note["link"] == f"/plans/{plan_id}/progress?status=overdue"
    # the page's flag and the notice agree
    assert [p["number"] for p in listing(client, org, plan_id, status="overdue")["projects"]] == ["1.1.1"]
    assert told(ctx, engineer, reminders.OVERDUE) == []  # its road is not late yet
    for role in ("planning_office", "admin"):
        assert told(ctx, f"{org.code}-{role}", reminders.OVERDUE) == []
    for name in ("clerk", "engineer"):
        assert told(ctx, f"{other_org.code}-{name}", reminders.OVERDUE) == []

    # run twice on a day: one notice; the job again by hand: nothing more
    assert the_day(ctx, clock, at(2020, 12, 1, 15)) == 0
    assert reminders.remind(ctx) == 0
    assert the_day(ctx, clock, at(2020, 12, 2)) == 0  # the same list the next day: not again
    assert the_day(ctx, clock, at(2020, 12, 7, 23)) == 0
    assert the_day(ctx, clock, at(2020, 12, 8)) == 1  # a week on, still late: told again
    assert len(told(ctx, clerk, reminders.OVERDUE)) == 2

    # the road's months are over on 1 April: its unit is told; the clerk's list did not grow
    assert the_day(ctx, clock, at(2021, 3, 31, 20)) == 2  # the clerk's weekly repeat; the office's report due
    assert the_day(ctx, clock, at(2021, 4, 1)) == 1  # the engineer's road (the clerk was told yesterday)
    [road] = told(ctx, engineer, reminders.OVERDUE)
    assert ROAD["name"] in road["body"] and WATER_TRUCK["name"] not in road["body"]
    assert the_day(ctx, clock, at(2021, 4, 2)) == 0


def test_a_project_started_leaves_the_list_and_a_new_late_one_is_told_at_once(ctx, client, org, clock, tracked):
    plan_id, units = tracked
    official = f"{org.code}-both"
    token = admin.add_user(ctx, official, org.code, ["unit"], with_token=True)
    for unit in ("กองช่าง", "สำนักปลัด"):
        progress.assign_unit(ctx, official, org.code, unit)
    assert the_day(ctx, clock, at(2021, 3, 1)) == 2  # the truck: to the clerk and to the official of both
    clock.set(at(2021, 3, 2))
    saved = put(client, {"Authorization": f"Bearer {token}"}, plan_id, "1.1.1",
                {"status": "cancelled", "reason": "ได้รับรถจากหน่วยงานอื่นแล้ว"})
    assert saved.status_code == 200, saved.get_json()
    assert the_day(ctx, clock, at(2021, 4, 1)) == 2  # the road joined: the engineer and the official of both
    [latest, _] = told(ctx, official, reminders.OVERDUE)
    assert ROAD["name"] in latest["body"] and WATER_TRUCK["name"] not in latest["body"]
    assert latest["subject"].endswith(" 1 โครงการ")


def test_the_office_is_reminded_of_each_cut_off_its_days_before_once_holidays_aside(ctx, org, clock, tracked):
    office = f"{org.code}-planning_office"
    holidays.add(ctx, "admin", date(2021, 3, 17), "วันหยุดทดสอบ")  # calendar days: a holiday moves nothing
    the_day(ctx, clock, at(2021, 3, 16, 23, 59))  # (the units' overdue projects are told meanwhile)
    assert told(ctx, office, reminders.REPORT_DUE) == []
    the_day(ctx, clock, at(2021, 3, 17))  # 14 days before 31 March
    [six] = told(ctx, office, reminders.REPORT_DUE)
    assert six["subject"] == ("[เทศบาลตำบลกระดังงา] อีก 14 วันถึงวันตัดยอดรายงานการกำกับติดตามการดำเนินงานและ"
                              "การใช้งบประมาณ รอบ 6 เดือน (วันที่ 31 มีนาคม พ.ศ. 2564)")
    the_day(ctx, clock, at(2021, 3, 18))
    assert len(told(ctx, office, reminders.REPORT_DUE)) == 1
    assert reminders.remind(ctx) == 0
    for name in ("clerk", "engineer", "admin", "support_committee"):
        assert told(ctx, f"{org.code}-{name}", reminders.REPORT_DUE) == []
    # the annual one; a day the job did not run is made up the next, until the cut-off
    the_day(ctx, clock, at(2021, 9, 17))
    assert len(told(ctx, office, reminders.REPORT_DUE)) == 2
    assert "อีก 13 วันถึงวันตัดยอดรายงานผลการดำเนินงานประจำปี" in told(ctx, office, reminders.REPORT_DUE)[0]["subject"]
    the_day(ctx, clock, at(2021, 10, 1))
    assert len(told(ctx, office, reminders.REPORT_DUE)) == 2


def test_a_units_recorded_progress_tells_the_office_once_per_change_and_never_the_unit(ctx, client, org, clock,
                                                                                      tracked):
    plan_id, units = tracked
    office = f"{org.code}-planning_office"
    clock.set(at(2021, 2, 15, 10))
    assert put(client, units.headers("กองช่าง"), plan_id, "1.2.1", {"status": "in_progress"}).status_code == 422
    assert put(client, units.headers("กองช่าง"), plan_id, "1.1.1", WORKED).status_code == 403
    assert count(ctx, reminders.RECORDED) == 0  # refused: nobody told
    assert put(client, units.headers("กองช่าง"), plan_id, "1.2.1", WORKED).status_code == 200
    [note] = told(ctx, office, reminders.RECORDED)
    assert note["subject"].endswith("บันทึกผลการดำเนินงาน 1 โครงการ") and "engineer" in note["subject"]
    assert f"• 1.2.1 {ROAD['name']} (กองช่าง): อยู่ระหว่างดำเนินการ" in note["body"]
    assert note["link"] == f"/plans/{plan_id}/progress/1.2.1"
    assert told(ctx, f"{org.code}-engineer", reminders.RECORDED) == []
    assert told(ctx, f"{org.code}-admin", reminders.RECORDED) == []
    assert put(client, units.headers("กองช่าง"), plan_id, "1.2.1", WORKED).status_code == 200  # the same: nothing
    assert put(client, org.headers("planning_office"), plan_id, "1.2.1", {**WORKED, "disbursed": 1}).status_code == 200
    assert count(ctx, reminders.RECORDED) == 1  # the office's own recording tells no one

    # an import of two projects by a unit official tells the office once, listing both
    official = f"{org.code}-both"
    token = admin.add_user(ctx, official, org.code, ["unit"], with_token=True)
    for unit in ("กองช่าง", "สำนักปลัด"):
        progress.assign_unit(ctx, official, org.code, unit)
    imported = send(client, {"Authorization": f"Bearer {token}"}, plan_id, csv_of(ROAD_ROW, TRUCK_ROW))
    assert imported.status_code == 200, imported.get_json()
    latest = told(ctx, office, reminders.RECORDED)[0]
    assert latest["subject"].endswith("บันทึกผลการดำเนินงาน 2 โครงการ")
    assert "1.2.1" in latest["body"] and "• 1.1.1" in latest["body"] and latest["link"] == f"/plans/{plan_id}/progress"
    assert count(ctx, reminders.RECORDED) == 2


def test_muted_kinds_and_the_digest_are_respected_and_one_goes_by_real_smtp_in_thai(
        ctx, client, org, clock, tracked, smtp):  # noqa: F811
    plan_id, units = tracked
    clerk, engineer, office = (f"{org.code}-{name}" for name in ("clerk", "engineer", "planning_office"))
    notices.keep_settings(ctx, actor(ctx, clerk), "clerk@example.go.th", [])
    notices.keep_settings(ctx, actor(ctx, engineer), "engineer@example.go.th", [reminders.OVERDUE])
    notices.keep_settings(ctx, actor(ctx, office), "office@example.go.th", [], digest_hour=17)

    assert the_day(ctx, clock, at(2021, 4, 1)) == 2
    [mail] = [m for m in smtp.messages if m["To"] == "clerk@example.go.th"]
    assert mail["Subject"] == "[เทศบาลตำบลกระดังงา] โครงการที่เลยกำหนดตามแผนแล้วยังไม่ได้เริ่ม 1 โครงการ"
    body = mail.get_body(("plain",)).get_content()
    assert "โครงการของหน่วยงานของท่านใน" in body and f"1.1.1 {WATER_TRUCK['name']} (สำนักปลัด)" in body
    assert f"{ctx.settings.public_url}/plans/{plan_id}/progress?status=overdue" in body
    # muted: in the bell, never sent
    assert len(told(ctx, engineer, reminders.OVERDUE)) == 1
    assert not [m for m in smtp.messages if m["To"] == "engineer@example.go.th"]

    # the office chose the digest: a unit's progress waits for its hour, then comes in it
    clock.set(at(2021, 4, 2, 9))
    assert put(client, units.headers("กองช่าง"), plan_id, "1.2.1",
               {**WORKED, "months_worked": [1, 2, 3, 4]}).status_code == 200
    jobs.work(ctx, kinds=[notices.DELIVER])
    assert not [m for m in smtp.messages if m["To"] == "office@example.go.th"]
    clock.set(at(2021, 4, 2, 17))
    assert notices.digests(ctx) == 1
    jobs.work(ctx, kinds=[notices.DELIVER])
    [digest] = [m for m in smtp.messages if m["To"] == "office@example.go.th"]
    assert "บันทึกผลการดำเนินงาน 1 โครงการ" in digest.get_body(("plain",)).get_content()
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state != "sent")) == 0


def test_the_schedule_is_data_and_a_bad_one_is_refused_with_its_problems(ctx, clock):
    kept = reminders.schedule_of(ctx.settings.processes_dir)
    assert kept is not None and kept.hour == 8 and [r.cutoff(2564) for r in kept.reports] == [
        date(2021, 3, 31), date(2021, 9, 30)]
    assert reminders.parse({"events": {}}) is None
    with pytest.raises(Invalid) as caught:
        reminders.parse({"progress": {"hour": 24, "overdue_repeat_days": 0, "reports_due": [
            {"report": "", "cutoff": "02-29", "days_before": -1}, "x"]}})
    message = caught.value.message
    for part in ("hour", "overdue_repeat_days", ".report", ".cutoff", ".days_before", "[1]: ต้องเป็นออบเจกต์"):
        assert part in message, part
    # the operators' command: today's reminders now (none on a system clock years after the plans here)
    ran = CliRunner().invoke(cli.main, ["notify", "reminders"], env={"PHAEN_DATABASE_URL": ctx.settings.database_url})
    assert ran.exit_code == 0 and ran.output == "notifications 0\n", ran.output
