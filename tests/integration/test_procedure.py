"""The clause-26 procedure end to end through the API, with the timers on the application clock."""

from __future__ import annotations

from service.commands import plans as commands

from ..conftest import bangkok
from .procedure import Procedure


def tick(ctx):
    return commands.fire_due_timers(ctx)


def test_whole_procedure_with_both_send_backs(ctx, client, org, clock):
    run = Procedure(client, org)
    plan = run.start()
    assert plan["status"] == "running"
    assert plan["process"]["name"] == "operational_plan" and plan["process"]["version"] == 1
    assert [t["name"] for t in plan["tasks"]] == ["collect_projects"]
    budget = run.deadline(plan["id"], "budget_deadline")
    assert budget["due_on"] == "2020-10-20" and budget["state"] == "pending"  # 20 Sep + 30 days, a Tuesday
    assert "ข้อ 27" in budget["basis"]

    pid = plan["id"]
    for name in ("collect_projects", "draft_plan", "propose_draft"):
        run.complete(pid, name)
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-09-24", "review_resolution": "revise",
                                         "review_comments": "เพิ่มโครงการของหน่วยงานส่วนภูมิภาค"})
    assert run.open_names(pid) == ["draft_plan"]
    run.complete(pid, "draft_plan")
    run.complete(pid, "propose_draft")
    run.complete(pid, "consider_draft")
    run.complete(pid, "present_to_executive")
    run.complete(pid, "approve_plan", {"approval_date": "2020-09-29", "approval_decision": "return",
                                       "approval_comments": "ทบทวนงบประมาณ"})
    assert run.open_names(pid) == ["consider_draft"]
    run.complete(pid, "consider_draft")
    run.complete(pid, "present_to_executive")
    run.complete(pid, "approve_plan")
    run.complete(pid, "announce_plan")

    assert run.deadline(pid, "budget_deadline")["state"] == "met"
    posting = run.deadline(pid, "posting_deadline")
    assert posting["due_on"] == "2020-10-16" and posting["state"] == "pending"  # 1 Oct + 15 days
    assert run.open_task(pid, "post_announcement")["due_at"] == "2020-10-16T16:59:59.999999+00:00"

    clock.set(bangkok(2020, 10, 2, 10, 0))
    run.complete(pid, "post_announcement")
    assert run.deadline(pid, "posting_deadline")["state"] == "met"
    assert run.deadline(pid, "posting_period")["due_on"] == "2020-11-01"  # 2 Oct + 30 days, minimum: not moved
    assert run.open_names(pid) == []

    clock.set(bangkok(2020, 11, 1, 23, 59))
    assert tick(ctx) == []
    assert run.open_names(pid) == []
    clock.set(bangkok(2020, 11, 2, 0, 0))
    assert [names for _, names in tick(ctx)] == [["ปิดประกาศครบ 30 วัน"]]
    assert run.deadline(pid, "posting_period")["state"] == "met"
    run.complete(pid, "certify_posting")

    final = run.plan(pid)
    assert final["status"] == "completed" and final["tasks"] == []
    history = client.get(f"/api/v1/plans/{pid}/history", headers=org.headers("auditor")).get_json()["events"]
    assert [e["seq"] for e in history] == list(range(1, len(history) + 1))
    kinds = [(e["kind"], e["task"], e["role"]) for e in history]
    assert kinds[0] == ("plan_started", None, None)
    assert ("task_completed", "consider_draft", "development_committee") in kinds
    assert ("timer_fired", None, None) in kinds
    assert history[-1]["task"] == "certify_posting" and history[-1]["actor"] == "kradangnga-planning_office"
    assert history[-1]["data"] == {"certified_by": "นางสาวสมศรี ประกาศ", "certifier_title": "ปลัดเทศบาล",
                                   "certified_on": "2020-11-20"}
    assert all(e["at"] for e in history)


def test_posting_escalation_only_after_the_fifteenth_day_ends(ctx, client, org, clock):
    run = Procedure(client, org)
    pid = run.start()["id"]
    run.through_announcement(pid)  # announced 1 Oct 2020: posting due by the end of 16 Oct (a Friday)

    clock.set(bangkok(2020, 10, 16, 23, 59, 59))
    tick(ctx)
    assert "late_posting" not in run.open_names(pid)
    assert run.deadline(pid, "posting_deadline")["state"] == "pending"

    clock.set(bangkok(2020, 10, 17, 0, 0, 0))
    tick(ctx)
    assert run.open_names(pid) == ["late_posting", "post_announcement"]
    assert run.deadline(pid, "posting_deadline")["state"] == "missed"
    run.complete(pid, "late_posting")
    clock.set(bangkok(2020, 10, 19, 8, 30))
    run.complete(pid, "post_announcement", {"posted_on": "2020-10-19", "posting_places": ["หน้าสำนักงาน"]})
    late = run.deadline(pid, "posting_deadline")
    assert (late["state"], late["actual_on"]) == ("missed", "2020-10-19")
    assert run.deadline(pid, "posting_period")["due_on"] == "2020-11-18"


def test_certifying_the_posting_waits_for_the_thirtieth_day_to_end(ctx, client, org, clock):
    run = Procedure(client, org)
    pid = run.start()["id"]
    run.through_announcement(pid)
    clock.set(bangkok(2020, 10, 20, 9, 0))
    run.complete(pid, "post_announcement", {"posted_on": "2020-10-20", "posting_places": ["หอกระจายข่าว"]})
    # posted 20 Oct: at least 30 days are complete at the end of 19 Nov (DOMAIN.md)
    assert run.deadline(pid, "posting_period")["due_on"] == "2020-11-19"
    clock.set(bangkok(2020, 11, 19, 23, 59, 59))
    tick(ctx)
    assert "certify_posting" not in run.open_names(pid)
    clock.set(bangkok(2020, 11, 20, 0, 0, 1))
    tick(ctx)
    assert run.open_names(pid) == ["certify_posting"]
    run.complete(pid, "certify_posting")
    assert run.plan(pid)["status"] == "completed"


def test_budget_deadline_gives_the_executive_an_extension_task_after_day_30(ctx, client, org, other_org, clock):
    run = Procedure(client, org)
    # budget announced Fri 2 Oct 2020: day 30 is Sun 1 Nov, so the period runs to Mon 2 Nov
    pid = run.start(fiscal_year=2564, budget_announced_on="2020-10-02")["id"]
    assert run.deadline(pid, "budget_deadline")["due_on"] == "2020-11-02"
    run.complete(pid, "collect_projects")

    clock.set(bangkok(2020, 11, 2, 23, 59))
    tick(ctx)
    assert "record_extension" not in run.open_names(pid)
    clock.set(bangkok(2020, 11, 3, 0, 0))
    tick(ctx)
    assert run.open_names(pid) == ["draft_plan", "record_extension"]
    assert run.deadline(pid, "budget_deadline")["state"] == "missed"

    task = run.open_task(pid, "record_extension")
    assert task["role"] == "executive"
    run.complete(pid, "record_extension", {"extended_to": "2020-11-30", "extension_reason": "รอโครงการส่วนภูมิภาค"})
    extended = run.deadline(pid, "budget_deadline")
    assert extended["extended_to"] == "2020-11-30" and extended["due_on"] == "2020-11-30"
    assert extended["state"] == "pending"
    for name in ("draft_plan", "propose_draft", "consider_draft", "present_to_executive", "approve_plan",
                 "announce_plan"):
        run.complete(pid, name)
    assert run.deadline(pid, "budget_deadline")["state"] == "met"


def test_another_organization_and_fiscal_year_run_independently(ctx, client, org, other_org, clock):
    ours = Procedure(client, org).start(fiscal_year=2564, budget_announced_on="2020-09-20")
    clock.set(bangkok(2023, 9, 25, 9, 0))
    theirs = Procedure(client, other_org).start(fiscal_year=2567, budget_announced_on="2023-09-22")
    assert theirs["organization"]["code"] == "bangkhonthi" and theirs["fiscal_year"] == 2567
    assert Procedure(client, other_org).deadline(theirs["id"], "budget_deadline")["due_on"] == "2023-10-23"
    inbox = client.get("/api/v1/tasks", headers=other_org.headers("support_committee")).get_json()["tasks"]
    assert [t["plan_id"] for t in inbox] == [theirs["id"]]
    assert client.get(f"/api/v1/plans/{ours['id']}", headers=other_org.headers("support_committee")).status_code == 404
