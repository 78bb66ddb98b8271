"""The amendment procedure (การแก้ไขแผนการดำเนินงาน, processes/amendment) through the API: numbered
revisions within a fiscal year, send-backs, the ข้อ 27 and posting timers, next to the operational plan."""

from __future__ import annotations

from datetime import date

from service.commands import plans as commands

from ..conftest import bangkok
from .procedure import PROJECT, Procedure

CAUSE = {"amendment_cause": "supplementary_budget", "cause_received_on": "2021-01-05",
         "cause_reference": "เทศบัญญัติงบประมาณรายจ่ายเพิ่มเติม ฉบับที่ 1 พ.ศ. 2564"}

SAMPLES = {
    "collect_changes": {
        "added_projects": [{**PROJECT, "name": "โครงการก่อสร้างรางระบายน้ำ คสล. หมู่ที่ 5", "place": "หมู่ที่ 5",
                            "months": [3, 4], "reason": "ได้รับงบประมาณรายจ่ายเพิ่มเติม"}],
        "changed_projects": [{**PROJECT, "budget": 520000.00, "months": [2, 3, 4],
                              "reason": "ราคากลางเพิ่มขึ้น ขยายระยะเวลาดำเนินการ"}],
        "removed_projects": [{"name": "โครงการจัดซื้อรถบรรทุกน้ำ", "budget": 2500000.5,
                              "reason": "หน่วยงานเจ้าของโครงการแจ้งยกเลิก"}],
    },
    "draft_amendment": {"amendment_drafted_on": "2021-01-07", "amendment_proposed_on": "2021-01-08"},
    "consider_amendment": {"amendment_meeting_date": "2021-01-11", "amendment_resolution": "approve"},
    "approve_amendment": {"amendment_approval_date": "2021-01-13", "amendment_decision": "approve"},
    "announce_amendment": {"amendment_announced_on": "2021-01-15", "amendment_signer_name": "นายสมชาย ใจดี",
                           "amendment_signer_title": "นายกเทศมนตรีตำบลกระดังงา"},
    "post_amendment": {"amendment_posted_on": "2021-02-03", "amendment_posting_places": ["บอร์ดประชาสัมพันธ์"]},
    "late_posting": {"amendment_late_order": "ให้ปิดประกาศการแก้ไขทันที", "amendment_late_ordered_on": "2021-02-02"},
    "certify_posting": {"amendment_certified_by": "นางสาวสมศรี ประกาศ", "amendment_certified_on": "2021-03-08"},
    "record_extension": {"amendment_extended_to": "2021-02-26", "amendment_extension_reason": "รอมติคณะกรรมการ"},
}
ROLE_OF = {
    "collect_changes": "support_committee", "draft_amendment": "support_committee",
    "consider_amendment": "development_committee", "approve_amendment": "executive",
    "announce_amendment": "executive", "late_posting": "executive", "record_extension": "executive",
    "post_amendment": "planning_office", "certify_posting": "planning_office",
}


class Amendment(Procedure):
    samples, roles = SAMPLES, ROLE_OF

    def start(self, fiscal_year=2564, role="support_committee", expect=201, **start):
        body = {"organization": self.org.code, "fiscal_year": fiscal_year, "process": "amendment",
                **(start or CAUSE)}
        if expect == 201:
            self.catch_up(body)
        response = self.client.post("/api/v1/plans", headers=self.org.headers(role), json=body)
        assert response.status_code == expect, response.get_json()
        if expect == 201:
            self.latest[response.get_json()["id"]] = date.fromisoformat(body["cause_received_on"])
        return response.get_json()

    def task(self, plan_id, name):
        task = self.open_task(plan_id, name)
        return self.client.get(f"/api/v1/tasks/{task['id']}", headers=self.org.headers(ROLE_OF[name])).get_json()

    def start_data(self, plan_id):
        events = self.client.get(f"/api/v1/plans/{plan_id}/history", headers=self.org.headers("auditor"))
        first = events.get_json()["events"][0]
        assert first["kind"] == "plan_started"
        return first["data"]


def fired_for(ctx, plan_id):
    return [names for pid, names in commands.fire_due_timers(ctx) if pid == plan_id]


def test_amendments_of_one_year_are_numbered_1_and_2_next_to_the_operational_plan(ctx, client, org, other_org,
                                                                                   clock):
    plan = Procedure(client, org).start(fiscal_year=2564)
    clock.set(bangkok(2021, 1, 6, 9, 0))
    run = Amendment(client, org)
    first = run.start()
    second = run.start(role="planning_office", amendment_cause="agency_notice", cause_received_on="2021-01-06")
    assert first["process"]["name"] == second["process"]["name"] == "amendment"
    assert first["process"]["title"] == "การแก้ไขแผนการดำเนินงาน"
    assert first["fiscal_year"] == second["fiscal_year"] == 2564
    assert [t["name"] for t in first["tasks"]] == ["collect_changes"]
    assert run.start_data(first["id"])["sequence"] == 1
    assert run.start_data(second["id"])["sequence"] == 2
    assert run.start_data(second["id"])["amendment_cause"] == "agency_notice"
    assert run.start_data(plan["id"])["sequence"] == 1  # the operational plan counts on its own

    # another year and another organization start their own count
    later = run.start(fiscal_year=2565, cause_received_on="2021-01-06", amendment_cause="other")
    assert run.start_data(later["id"])["sequence"] == 1
    theirs = Amendment(client, other_org).start()
    assert Amendment(client, other_org).start_data(theirs["id"])["sequence"] == 1
    third = run.start(role="executive")
    assert run.start_data(third["id"])["sequence"] == 3

    # the operational plan is still one per year; amendments never block it nor each other
    again = client.post("/api/v1/plans", headers=org.headers("support_committee"), json={
        "organization": org.code, "fiscal_year": 2564, "budget_announced_on": "2020-09-20"})
    assert again.status_code == 409
    listed = client.get("/api/v1/plans", headers=org.headers("support_committee")).get_json()["plans"]
    by_process = sorted((p["fiscal_year"], run.plan(p["id"])["process"]["name"]) for p in listed)
    assert by_process == [(2564, "amendment")] * 3 + [(2564, "operational_plan"), (2565, "amendment")]
    inbox = client.get("/api/v1/tasks", headers=org.headers("support_committee")).get_json()["tasks"]
    assert sorted(t["name"] for t in inbox) == ["collect_changes"] * 4 + ["collect_projects"]


def test_an_amendment_end_to_end_with_send_backs_late_posting_and_certification(ctx, client, org, clock):
    operational = Procedure(client, org).start(fiscal_year=2564)
    clock.set(bangkok(2021, 1, 6, 9, 0))
    run = Amendment(client, org)
    pid = run.start()["id"]
    limit = run.deadline(pid, "amendment_deadline")
    assert (limit["due_on"], limit["kind"], limit["state"]) == ("2021-02-04", "limit", "pending")  # 5 Jan + 30
    assert "ข้อ 27" in limit["basis"]

    task = run.task(pid, "collect_changes")
    assert task["role"] == "support_committee" and task["lane"] == "คณะกรรมการสนับสนุนการจัดทำแผนพัฒนาท้องถิ่น"
    item = task["form"]["schema"]["properties"]["added_projects"]["items"]
    assert "reason" in item["required"] and set(item["properties"]) >= {"plan_program", "months", "source"}
    run.complete(pid, "collect_changes", {"added_projects": [], "changed_projects": []}, expect=422)
    run.complete(pid, "collect_changes", {"added_projects": [{**PROJECT}]}, expect=422)  # no reason
    run.complete(pid, "collect_changes")
    run.complete(pid, "draft_amendment")
    run.complete(pid, "consider_amendment", {"amendment_meeting_date": "2021-01-11", "amendment_resolution": "revise",
                                             "amendment_review_comments": "ทบทวนงบประมาณโครงการรางระบายน้ำ"})
    assert run.open_names(pid) == ["collect_changes"]
    prefill = run.task(pid, "collect_changes")["data"]
    assert prefill["removed_projects"] == SAMPLES["collect_changes"]["removed_projects"]
    run.complete(pid, "collect_changes")
    run.complete(pid, "draft_amendment")
    run.complete(pid, "consider_amendment")
    run.complete(pid, "approve_amendment", {"amendment_approval_date": "2021-01-13", "amendment_decision": "return",
                                            "amendment_approval_comments": "ให้ตรวจสอบราคากลาง"})
    assert run.open_names(pid) == ["consider_amendment"]
    run.complete(pid, "consider_amendment")
    run.complete(pid, "approve_amendment")
    announce = run.task(pid, "announce_amendment")
    assert "แก้ไขครั้งที่ {sequence}/{fiscal_year}" in announce["instructions"]
    run.complete(pid, "announce_amendment", role="planning_office", expect=403)
    run.complete(pid, "announce_amendment")

    assert run.deadline(pid, "amendment_deadline")["state"] == "met"
    posting = run.deadline(pid, "posting_deadline")
    assert posting["due_on"] == "2021-02-01"  # 15 Jan + 15 = Sat 30 Jan: the limit moves to Mon 1 Feb
    assert run.open_names(pid) == ["post_amendment"]

    clock.set(bangkok(2021, 2, 1, 23, 59, 59))
    assert fired_for(ctx, pid) == []
    assert run.open_names(pid) == ["post_amendment"]
    clock.set(bangkok(2021, 2, 2, 0, 0, 0))
    assert fired_for(ctx, pid) == [["ครบกำหนดปิดประกาศภายใน 15 วัน"]]
    assert run.open_names(pid) == ["late_posting", "post_amendment"]
    assert run.open_task(pid, "late_posting")["role"] == "executive"
    assert run.deadline(pid, "posting_deadline")["state"] == "missed"
    run.complete(pid, "late_posting")
    clock.set(bangkok(2021, 2, 3, 9, 0))
    run.complete(pid, "post_amendment")
    late = run.deadline(pid, "posting_deadline")
    assert (late["state"], late["actual_on"]) == ("missed", "2021-02-03")
    assert run.deadline(pid, "posting_period")["due_on"] == "2021-03-05"  # 3 Feb + 30 days, a minimum: not moved

    clock.set(bangkok(2021, 3, 5, 23, 59, 59))
    assert fired_for(ctx, pid) == []
    assert run.open_names(pid) == []
    clock.set(bangkok(2021, 3, 6, 0, 0, 1))
    assert fired_for(ctx, pid) == [["ปิดประกาศครบ 30 วัน"]]
    assert run.deadline(pid, "posting_period")["state"] == "met"
    clock.set(bangkok(2021, 3, 8, 10, 0))
    run.complete(pid, "certify_posting")

    final = run.plan(pid)
    assert final["status"] == "completed" and final["tasks"] == []
    history = client.get(f"/api/v1/plans/{pid}/history", headers=org.headers("auditor")).get_json()["events"]
    steps = [(e["task"], e["role"]) for e in history if e["kind"] == "task_completed"]
    assert steps[0] == ("collect_changes", "support_committee")
    assert ("late_posting", "executive") in steps and steps[-1] == ("certify_posting", "planning_office")
    assert history[-1]["data"] == SAMPLES["certify_posting"]
    assert run.plan(operational["id"])["status"] == "running"  # the operational plan is untouched


def test_the_executive_extends_an_amendment_after_day_30_of_its_cause(ctx, client, org, clock):
    clock.set(bangkok(2021, 1, 6, 9, 0))
    run = Amendment(client, org)
    pid = run.start()["id"]
    run.complete(pid, "collect_changes")
    clock.set(bangkok(2021, 2, 4, 23, 59))
    assert fired_for(ctx, pid) == []
    clock.set(bangkok(2021, 2, 5, 0, 0))
    assert fired_for(ctx, pid) == [["ครบ 30 วันนับแต่วันที่เกิดเหตุให้แก้ไข (ข้อ 27)"]]
    assert run.open_names(pid) == ["draft_amendment", "record_extension"]
    assert run.deadline(pid, "amendment_deadline")["state"] == "missed"
    run.complete(pid, "record_extension")
    extended = run.deadline(pid, "amendment_deadline")
    assert (extended["extended_to"], extended["due_on"], extended["state"]) == ("2021-02-26", "2021-02-26", "pending")


def test_bad_start_data_is_refused_with_the_fields(ctx, client, org, clock):
    clock.set(bangkok(2021, 1, 6, 9, 0))

    def start(**body):
        return client.post("/api/v1/plans", headers=org.headers("support_committee"),
                           json={"organization": org.code, "fiscal_year": 2564, "process": "amendment", **body})

    missing = start(amendment_cause="supplementary_budget")
    assert missing.status_code == 422
    assert [e["field"] for e in missing.get_json()["errors"]] == ["/cause_received_on"]
    for body, field in (({**CAUSE, "amendment_cause": "whim"}, "/amendment_cause"),
                        ({**CAUSE, "cause_received_on": "5 ม.ค. 2564"}, "/cause_received_on"),
                        ({**CAUSE, "budget_announced_on": "2021-01-05"}, "/budget_announced_on"),
                        ({**CAUSE, "sequence": 7}, "/sequence")):
        response = start(**body)
        assert response.status_code == 422, body
        assert field in [e["field"] for e in response.get_json()["errors"]]
    assert start(**CAUSE, fiscal_year_extra=1).status_code == 422
    forbidden = client.post("/api/v1/plans", headers=org.headers("development_committee"),
                            json={"organization": org.code, "fiscal_year": 2564, "process": "amendment", **CAUSE})
    assert forbidden.status_code == 403
    assert client.get("/api/v1/plans", headers=org.headers("support_committee")).get_json()["plans"] == []
