"""The plan's year (issue 15): an announced plan's projects become a tracked list, numbered as ผด.02
numbers them; its units record their projects' progress through the API, each update one event in
the plan's chain; amendments add, change and withdraw tracked projects; refusals change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service import audit
from service.commands import admin, progress
from service.models import Event, TrackedProject
from service.tracking import replay

from ..conftest import bangkok
from .procedure import PROJECT, Procedure
from .test_amendment import Amendment

WATER_TRUCK = {**PROJECT, "name": "โครงการจัดซื้อรถบรรทุกน้ำ", "budget": 2500000.5, "responsible_unit": "สำนักปลัด",
               "plan_program": "รักษาความสงบภายใน", "months": [10, 11]}
ROAD = PROJECT  # กองช่าง, อุตสาหกรรมและการโยธา, 480,000 บาท, ม.ค.–มี.ค.


class Units:
    """Officials of two responsible units of the organization."""

    def __init__(self, ctx, org):
        self.tokens = {}
        for name, unit in (("engineer", "กองช่าง"), ("clerk", "สำนักปลัด")):
            username = f"{org.code}-{name}"
            self.tokens[unit] = admin.add_user(ctx, username, org.code, ["unit"], with_token=True)
            progress.assign_unit(ctx, username, org.code, unit)

    def headers(self, unit):
        return {"Authorization": f"Bearer {self.tokens[unit]}"}


@pytest.fixture
def announced(ctx, client, org, clock):
    run = Procedure(client, org)
    plan_id = run.start(fiscal_year=2564)["id"]
    run.complete(plan_id, "collect_projects", {"projects": [ROAD, WATER_TRUCK]})
    for name in ("draft_plan", "propose_draft", "consider_draft", "present_to_executive", "approve_plan"):
        run.complete(plan_id, name)
    return run, plan_id


def put(client, headers, plan_id, number, body):
    return client.put(f"/api/v1/plans/{plan_id}/progress/{number}", headers=headers, json=body)


def listing(client, org, plan_id, **args):
    response = client.get(f"/api/v1/plans/{plan_id}/progress", headers=org.headers("auditor"), query_string=args)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def events_of(ctx, plan_id):
    with ctx.db.read() as session:
        return [(e.kind, e.data) for e in session.scalars(select(Event).where(Event.plan_id == plan_id)
                                                          .order_by(Event.seq))]


def test_the_announced_plan_is_tracked_and_each_unit_records_its_own_projects(ctx, client, org, clock, announced):
    run, plan_id = announced
    units = Units(ctx, org)
    before = put(client, units.headers("กองช่าง"), plan_id, "1.2.1", {"status": "not_started"})
    assert before.status_code == 409 and "ยังไม่ได้ประกาศใช้" in before.get_json()["detail"]
    assert listing(client, org, plan_id)["tracked"] is False

    run.complete(plan_id, "announce_plan")
    tracked = listing(client, org, plan_id)
    # ผด.02's order: the strategy, its plan-programs in the budget's order, then the rows
    assert [(p["number"], p["name"], p["unit"]) for p in tracked["projects"]] == [
        ("1.1.1", WATER_TRUCK["name"], "สำนักปลัด"), ("1.2.1", ROAD["name"], "กองช่าง")]
    assert tracked["summary"]["by_status"]["not_started"] == 2 and tracked["summary"]["budget"] == 2980000.5
    assert "projects_listed" in [kind for kind, _ in events_of(ctx, plan_id)]

    clock.set(bangkok(2021, 2, 15, 10, 0))
    road = {"status": "in_progress", "started_on": "2021-01-11", "months_worked": [1, 2], "contracted": 475000,
            "disbursed": 200000.25, "note": "ส่งมอบงานงวดที่ 1 แล้ว"}
    saved = put(client, units.headers("กองช่าง"), plan_id, "1.2.1", road)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["status"] == "in_progress" and saved.get_json()["updated_by"] == f"{org.code}-engineer"
    assert put(client, units.headers("กองช่าง"), plan_id, "1.2.1", road).status_code == 200  # the same again
    recorded = [data for kind, data in events_of(ctx, plan_id) if kind == "progress_recorded"]
    assert recorded == [{"project": "1.2.1", "progress": road, "list_version": 0}]  # once, not twice

    # a unit records its own projects only; the planning office any; an auditor none
    assert put(client, units.headers("กองช่าง"), plan_id, "1.1.1", {"status": "not_started"}).status_code == 403
    cancelled = {"status": "cancelled", "reason": "หน่วยงานเจ้าของโครงการแจ้งยกเลิก"}
    assert put(client, org.headers("planning_office"), plan_id, "1.1.1", cancelled).status_code == 200
    assert put(client, org.headers("auditor"), plan_id, "1.1.1", cancelled).status_code == 403
    summary = listing(client, org, plan_id)["summary"]
    assert summary["by_status"] == {"not_started": 0, "in_progress": 1, "done": 0, "cancelled": 1}
    assert (summary["contracted"], summary["disbursed"]) == (475000, 200000.25)
    assert [p["number"] for p in listing(client, org, plan_id, unit="กองช่าง")["projects"]] == ["1.2.1"]
    assert [p["number"] for p in listing(client, org, plan_id, status="cancelled")["projects"]] == ["1.1.1"]

    # the chain still verifies, and the read model is what the events replay to
    assert audit.verify_plan(ctx, plan_id).ok
    with ctx.db.read() as session:
        state = replay.replay(session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq)))
        rows = {r.number: (r.status, r.progress) for r in session.scalars(select(TrackedProject))}
    assert {n: (t.status, t.progress) for n, t in state.projects.items()} == rows


REFUSED = [
    ({"status": "in_progress", "started_on": "2020-09-30"}, "/started_on"),  # before the fiscal year
    ({"status": "in_progress", "started_on": "2021-02-16"}, "/started_on"),  # after today
    ({"status": "done", "started_on": "2021-01-11"}, "/status"),  # done without the day it was
    ({"status": "done", "started_on": "2021-01-11", "finished_on": "2021-01-10"}, "/finished_on"),
    ({"status": "in_progress"}, "/status"),  # started without a day
    ({"status": "cancelled"}, "/status"),  # cancelled without a reason
    ({"status": "cancelled", "reason": "   "}, "/reason"),
    ({"status": "in_progress", "started_on": "2021-01-11", "contracted": 100, "disbursed": 101}, "/disbursed"),
    ({"status": "in_progress", "started_on": "2021-01-11", "contracted": 480000.01}, "/contracted"),
    ({"status": "in_progress", "started_on": "2021-01-11", "disbursed": 500000}, "/disbursed"),
    ({"status": "in_progress", "started_on": "2021-01-11", "disbursed": "สองแสน"}, "/disbursed"),
    ({"status": "in_progress", "started_on": "2021-01-11", "disbursed": 1.001}, "/disbursed"),
    ({"status": "in_progress", "started_on": "2021-01-11", "months_worked": [13]}, "/months_worked/0"),
    ({"status": "finished"}, "/status"),
    ({"status": "in_progress", "started_on": "2021-01-11", "owner": "x"}, "")]


def test_progress_the_rules_refuse_is_refused_with_its_field_and_nothing_is_recorded(ctx, client, org, clock,
                                                                                    announced):
    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    clock.set(bangkok(2021, 2, 15, 10, 0))
    before = events_of(ctx, plan_id)
    for body, field in REFUSED:
        response = put(client, org.headers("planning_office"), plan_id, "1.2.1", body)
        assert response.status_code == 422, (body, response.get_json())
        fields = [e["field"] for e in response.get_json()["errors"]]
        assert field in fields or (field == "" and fields), (body, fields)
        assert all("{" not in e["message"] for e in response.get_json()["errors"]), body
    assert events_of(ctx, plan_id) == before
    assert listing(client, org, plan_id)["projects"][1]["status"] == "not_started"


def test_over_the_budget_with_a_recorded_transfer_is_accepted(ctx, client, org, clock, announced):
    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    clock.set(bangkok(2021, 3, 31, 10, 0))
    body = {"status": "done", "started_on": "2021-01-11", "finished_on": "2021-03-30", "contracted": 520000,
            "disbursed": 520000, "transfer_number": "3/2564"}
    assert put(client, org.headers("planning_office"), plan_id, "1.2.1", body).status_code == 200


def test_unknown_projects_other_organizations_and_amendment_ids_are_refused(ctx, client, org, other_org, clock,
                                                                          announced):
    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    headers = org.headers("planning_office")
    assert put(client, headers, plan_id, "9.9.9", {"status": "not_started"}).status_code == 404
    assert put(client, headers, plan_id, "x" * 5000, {"status": "not_started"}).status_code == 404
    assert put(client, headers, 999999, "1.2.1", {"status": "not_started"}).status_code == 404
    theirs = put(client, other_org.headers("planning_office"), plan_id, "1.2.1", {"status": "not_started"})
    assert theirs.status_code == 404
    assert client.get(f"/api/v1/plans/{plan_id}/progress", headers=other_org.headers("auditor")).status_code == 404
    assert put(client, headers, plan_id, "1.2.1", ["not", "an", "object"]).status_code == 422
    assert client.get(f"/api/v1/plans/{plan_id}/progress", headers=headers,
                      query_string={"status": "lost"}).status_code == 422


def test_an_announced_amendment_adds_changes_and_withdraws_tracked_projects(ctx, client, org, clock, announced):
    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    clock.set(bangkok(2021, 1, 6, 9, 0))
    amendment = Amendment(client, org)
    aid = amendment.start()["id"]
    for name in ("collect_changes", "draft_amendment", "consider_amendment", "approve_amendment"):
        amendment.complete(aid, name)
    assert listing(client, org, plan_id)["list_version"] == 0  # not announced yet: the list is the plan's
    amendment.complete(aid, "announce_amendment")

    tracked = {p["number"]: p for p in listing(client, org, plan_id)["projects"]}
    assert set(tracked) == {"1.1.1", "1.2.1", "1.2.2"}
    assert tracked["1.1.1"]["withdrawn"] and tracked["1.1.1"]["list_version"] == 1
    assert tracked["1.2.1"]["budget"] == 520000 and tracked["1.2.1"]["months"] == [2, 3, 4]
    assert tracked["1.2.2"]["name"] == "โครงการก่อสร้างรางระบายน้ำ คสล. หมู่ที่ 5"
    assert listing(client, org, plan_id)["summary"]["projects"] == 2
    withdrawn = put(client, org.headers("planning_office"), plan_id, "1.1.1", {"status": "not_started"})
    assert withdrawn.status_code == 409
    # the amendment itself is not where progress is recorded
    assert put(client, org.headers("planning_office"), aid, "1.2.1", {"status": "not_started"}).status_code == 409
    listed = [data for kind, data in events_of(ctx, plan_id) if kind == "projects_listed"]
    assert [d["list_version"] for d in listed] == [0, 1] and listed[1]["plan_id"] == aid
    assert audit.verify_plan(ctx, plan_id).ok


def test_a_unit_records_progress_on_its_page_and_sees_the_charts(ctx, client, org, clock, announced):
    from .web import add_person, log_in, post_form

    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    clock.set(bangkok(2021, 2, 15, 10, 0))
    add_person(ctx, "somchai", org.code, ["unit"], "นายสมชาย ช่างดี")
    progress.assign_unit(ctx, "somchai", org.code, "กองช่าง")
    log_in(client, "somchai")
    page = client.get(f"/plans/{plan_id}/progress").get_data(as_text=True)
    assert "ผลการดำเนินงานตามแผนการดำเนินงาน ปีงบประมาณ พ.ศ. 2564" in page and "<svg" in page
    assert f"/plans/{plan_id}/progress/1.2.1" in page  # its own project has a button
    assert f"/plans/{plan_id}/progress/1.1.1" not in page  # another unit's has none
    assert client.get(f"/plans/{plan_id}/progress/1.1.1").status_code == 200  # shown, but saving is refused
    refused = post_form(client, f"/plans/{plan_id}/progress/1.1.1", {"/status": "not_started"},
                        page=f"/plans/{plan_id}/progress/1.2.1")
    assert refused.status_code == 403

    form = {"/status": "in_progress", "/started_on#d": "11", "/started_on#m": "1", "/started_on#y": "2564",
            "/months_worked": ["1", "2"], "/contracted": "475,000", "/disbursed": "200,000.25"}
    bad = post_form(client, f"/plans/{plan_id}/progress/1.2.1", {**form, "/disbursed": "500,000"})
    assert bad.status_code == 422 and "เบิกจ่ายเกินวงเงินตามสัญญา" in bad.get_data(as_text=True)
    saved = post_form(client, f"/plans/{plan_id}/progress/1.2.1", form)
    assert saved.status_code == 302
    row = next(p for p in listing(client, org, plan_id)["projects"] if p["number"] == "1.2.1")
    assert row["progress"] == {"status": "in_progress", "started_on": "2021-01-11", "months_worked": [1, 2],
                               "contracted": 475000, "disbursed": 200000.25}
    assert row["updated_by"] == "somchai"
    after = client.get(f"/plans/{plan_id}/progress?status=in_progress").get_data(as_text=True)
    assert "อยู่ระหว่างดำเนินการ" in after and ROAD["name"] in after and WATER_TRUCK["name"] not in after


def test_a_plan_with_hundreds_of_progress_events_replays_and_verifies(ctx, client, org, clock, announced):
    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    clock.set(bangkok(2021, 9, 30, 10, 0))
    headers = org.headers("planning_office")
    for n in range(300):
        body = {"status": "in_progress", "started_on": "2021-01-11", "contracted": 475000, "disbursed": n * 100,
                "note": f"งวดที่ {n}"}
        assert put(client, headers, plan_id, "1.2.1" if n % 2 else "1.1.1", body).status_code == 200
    result = audit.verify_plan(ctx, plan_id)
    assert result.ok and result.as_dict()["events"] == len(events_of(ctx, plan_id))
    with ctx.db.read() as session:
        state = replay.replay(session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq)))
    assert state.projects["1.2.1"].progress["disbursed"] == 29900 and state.projects["1.1.1"].updates == 150


def test_an_update_that_lost_the_race_for_the_plans_head_is_tried_again_then_refused(ctx, client, org, clock,
                                                                                     announced, monkeypatch):
    from sqlalchemy.orm.exc import StaleDataError

    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    clock.set(bangkok(2021, 2, 15, 10, 0))
    real, lost = progress.apply, []

    def losing(times):
        def apply(*args, **kwargs):
            if len(lost) < times:
                lost.append(1)
                raise StaleDataError("another update moved the plan's head")
            return real(*args, **kwargs)
        return apply

    body = {"status": "in_progress", "started_on": "2021-01-11"}
    monkeypatch.setattr(progress, "apply", losing(1))
    assert put(client, org.headers("planning_office"), plan_id, "1.2.1", body).status_code == 200
    assert len(lost) == 1 and listing(client, org, plan_id)["projects"][1]["status"] == "in_progress"
    lost.clear()
    monkeypatch.setattr(progress, "apply", losing(progress.ATTEMPTS))
    refused = put(client, org.headers("planning_office"), plan_id, "1.1.1", {"status": "cancelled", "reason": "x"})
    assert refused.status_code == 409 and len(lost) == progress.ATTEMPTS
    assert listing(client, org, plan_id)["projects"][0]["status"] == "not_started"


def test_the_cli_lists_imports_and_writes_the_reports(ctx, client, org, clock, announced, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from service import cli

    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    clock.set(bangkok(2021, 4, 2, 10, 0))
    monkeypatch.setattr(cli, "_context", lambda: ctx)
    runner, office = CliRunner(), f"{org.code}-planning_office"
    listed = runner.invoke(cli.main, ["progress", "list", str(plan_id), "--user", office])
    assert listed.exit_code == 0, listed.output
    assert "1.1.1" in listed.output and "ยังไม่ได้ดำเนินการ" in listed.output and "2 projects" in listed.output

    sheet = tmp_path / "progress.csv"
    sheet.write_text("เลขที่โครงการ,สถานะ,วันที่เริ่มดำเนินการ\n1.2.1,อยู่ระหว่างดำเนินการ,11/01/2564\n", encoding="utf-8")
    checked = runner.invoke(cli.main, ["progress", "import", str(plan_id), str(sheet), "--user", office])
    assert checked.exit_code == 0 and "1 projects change" in checked.output, checked.output
    assert listing(client, org, plan_id)["projects"][1]["status"] == "not_started"  # checked, not recorded
    applied = runner.invoke(cli.main, ["progress", "import", str(plan_id), str(sheet), "--user", office, "--apply"])
    assert applied.exit_code == 0 and "recorded" in applied.output, applied.output
    assert listing(client, org, plan_id)["projects"][1]["status"] == "in_progress"
    bad = tmp_path / "bad.csv"
    bad.write_text("เลขที่โครงการ,สถานะ\n9.9.9,อยู่ระหว่างดำเนินการ\n", encoding="utf-8")
    refused = runner.invoke(cli.main, ["progress", "import", str(plan_id), str(bad), "--user", office, "--apply"])
    assert refused.exit_code != 0 and "9.9.9" in refused.output

    for extension in ("json", "pdf"):
        target = tmp_path / f"six.{extension}"
        made = runner.invoke(cli.main, ["progress", "report", str(plan_id), "six-months", "--user", office,
                                        "--format", extension, "-o", str(target)])
        assert made.exit_code == 0, made.output
    assert target.read_bytes().startswith(b"%PDF")
    assert '"list_version"' in (tmp_path / "six.json").read_text(encoding="utf-8")
    late = runner.invoke(cli.main, ["progress", "report", str(plan_id), "annual", "--user", office,
                                    "--cutoff", "2099-01-01"])
    assert late.exit_code != 0 and "ผิดพลาด" in late.output
