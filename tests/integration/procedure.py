"""Drives the operational-plan procedure through the JSON API, as a client program would."""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, time

from service.thai.legaldays import BANGKOK

from .documents_queue import work_freezing

PROJECT = {
    "name": "โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก หมู่ที่ 3",
    "activities": "ก่อสร้างถนน คสล. กว้าง 4 ม. ยาว 200 ม.",
    "budget": 480000.00,
    "place": "หมู่ที่ 3",
    "responsible_unit": "กองช่าง",
    "strategy": "การพัฒนาด้านโครงสร้างพื้นฐาน",
    "plan_program": "อุตสาหกรรมและการโยธา",
    "source": "lao",
    "funding": "ordinance",
    "months": [1, 2, 3],
    "is_equipment": False,
}

SAMPLES = {
    "collect_projects": {"projects": [PROJECT, {**PROJECT, "name": "โครงการจัดซื้อรถบรรทุกน้ำ", "budget": 2500000.5,
                                                "source": "central", "agency": "กรมส่งเสริมการปกครองท้องถิ่น",
                                                "funding": "other_agency", "months": [10, 11],
                                                "plan_program": "รักษาความสงบภายใน"}]},
    "draft_plan": {"draft_prepared_on": "2020-09-22"},
    "propose_draft": {"proposed_on": "2020-09-23"},
    "consider_draft": {"review_meeting_date": "2020-09-25", "review_resolution": "approve"},
    "present_to_executive": {"presented_on": "2020-09-28"},
    "approve_plan": {"approval_date": "2020-09-29", "approval_decision": "approve"},
    "announce_plan": {"announced_on": "2020-10-01", "executive_name": "นายสมชาย ใจดี",
                      "executive_title": "นายกเทศมนตรีตำบลกระดังงา"},
    "post_announcement": {"posted_on": "2020-10-02", "posting_places": ["บอร์ดประชาสัมพันธ์สำนักงานเทศบาล"]},
    "certify_posting": {"certified_by": "นางสาวสมศรี ประกาศ", "certifier_title": "ปลัดเทศบาล",
                        "certified_on": "2020-11-20"},
    "record_extension": {"extended_to": "2020-11-30", "extension_reason": "รอโครงการจากหน่วยงานส่วนภูมิภาค"},
    "late_posting": {"late_posting_order": "ให้ปิดประกาศทันที", "late_posting_ordered_on": "2020-10-20"},
}

#: fields that name a day to come rather than one that happened
FUTURE_DATES = {"extended_to", "amendment_extended_to"}


def _is_day(key, value) -> bool:
    return isinstance(value, str) and key not in FUTURE_DATES and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None

ROLE_OF = {
    "collect_projects": "support_committee", "draft_plan": "support_committee", "propose_draft": "support_committee",
    "consider_draft": "development_committee", "present_to_executive": "development_committee",
    "approve_plan": "executive", "announce_plan": "executive", "record_extension": "executive",
    "late_posting": "executive", "post_announcement": "planning_office", "certify_posting": "planning_office",
}


class Procedure:
    samples, roles = SAMPLES, ROLE_OF
    #: a worker freezes the documents a step names right after it, as the embedded one soon does
    #: (documents_queue.work_freezing); False leaves them queued
    works_freezing = True

    def __init__(self, client, org):
        self.client, self.org = client, org
        self.latest: dict[int, date] = {}  # plan -> the latest day it recorded

    def start(self, fiscal_year=2564, budget_announced_on="2020-09-20", role="support_committee"):
        self.catch_up({"budget_announced_on": budget_announced_on})
        response = self.client.post("/api/v1/plans", headers=self.org.headers(role), json={
            "organization": self.org.code, "fiscal_year": fiscal_year, "budget_announced_on": budget_announced_on})
        assert response.status_code == 201, response.get_json()
        plan = response.get_json()
        self.latest[plan["id"]] = date.fromisoformat(budget_announced_on)
        return plan

    def plan(self, plan_id):
        response = self.client.get(f"/api/v1/plans/{plan_id}", headers=self.org.headers("support_committee"))
        assert response.status_code == 200
        return response.get_json()

    def open_task(self, plan_id, name):
        tasks = [t for t in self.plan(plan_id)["tasks"] if t["name"] == name]
        assert tasks, f"{name} is not open; open: {[t['name'] for t in self.plan(plan_id)['tasks']]}"
        return tasks[0]

    def open_names(self, plan_id):
        return sorted(t["name"] for t in self.plan(plan_id)["tasks"])

    def complete(self, plan_id, name, data=None, role=None, expect=200):
        """Complete a step with ``data``, or with its sample dated no earlier than what the plan
        recorded last (a re-draft after a meeting is dated after the meeting), as officials do."""
        task = self.open_task(plan_id, name)
        data = self.sample(plan_id, name) if data is None else data
        if expect == 200:
            self.catch_up(data, plan_id)
        response = self.client.post(f"/api/v1/tasks/{task['id']}/complete",
                                    headers=self.org.headers(role or self.roles[name]), json=data)
        assert response.status_code == expect, response.get_json()
        if self.works_freezing and expect == 200:
            work_freezing(self.client)
        return response.get_json()

    def sample(self, plan_id, name):
        floor = self.latest.get(plan_id)
        return {key: max(value, floor.isoformat()) if floor and _is_day(key, value) else value
                for key, value in self.samples[name].items()}

    def catch_up(self, data, plan_id=None):
        """Officials record what happened by today: a test clock behind the days a step records
        (no meeting or posting is dated in the future) moves on to 09:00 of the latest such day.
        A deadline's date (extended_to) is not a day something happened and does not count."""
        latest = max((date.fromisoformat(v) for k, v in data.items() if _is_day(k, v)), default=None)
        if latest is None:
            return
        if plan_id is not None:
            self.latest[plan_id] = max(latest, self.latest.get(plan_id, latest))
        clock = self.client.application.extensions["phaen"].clock
        if hasattr(clock, "set") and clock.now().astimezone(BANGKOK).date() < latest:
            clock.set(datetime.combine(latest, time(9, 0), BANGKOK))

    def through_announcement(self, plan_id):
        for name in ("collect_projects", "draft_plan", "propose_draft", "consider_draft", "present_to_executive",
                     "approve_plan", "announce_plan"):
            self.complete(plan_id, name)

    def deadline(self, plan_id, key):
        found = [d for d in self.plan(plan_id)["deadlines"] if d["key"] == key]
        return found[0] if found else None


def complete_at_once(app, org, task_id: str, attempts: int, data=None) -> list[int]:
    """``attempts`` clients complete one task at the same moment (threads behind a barrier);
    the status codes they got."""
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []

    def attempt():
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/v1/tasks/{task_id}/complete", headers=org.headers("support_committee"),
                               json=SAMPLES["collect_projects"] if data is None else data)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses
