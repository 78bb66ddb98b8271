"""A real browser: an auditor logs in, opens a plan, moves the step slider and sees the diagram
change, then verifies the plan. Screenshots go to $PHAEN_TEST_OUTPUT (default: a temporary folder)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.auth import actor_of
from service.commands import admin
from service.commands import plans as commands
from service.models import OpenTask, User

from ..integration.procedure import SAMPLES
from .browser import PASSWORD, log_in, needs_chromium, playwright_api, serving

pytestmark = needs_chromium


@pytest.fixture
def server(ctx, clock):
    """The application served over the shared test database (SQLite, or PostgreSQL in the second pass)."""
    admin.add_organization(ctx, "kradangnga", "เทศบาลตำบลกระดังงา", "สมุทรสงคราม")
    people = {"support": ["support_committee"], "council": ["development_committee"]}
    for username, roles in people.items():
        admin.add_user(ctx, username, "kradangnga", roles, PASSWORD, username)
    admin.add_user(ctx, "inspector", "kradangnga", ["auditor"], PASSWORD, "นางสาวตรวจ สอบละเอียด")
    with ctx.db.read() as session:
        actors = {u.username: actor_of(u) for u in session.query(User).all()}
    plan_id = commands.start_plan(ctx, actors["support"], {"organization": "kradangnga", "fiscal_year": 2564,
                                                           "budget_announced_on": "2020-09-20"})
    clock.set(clock.now() + timedelta(days=5))  # 26 Sep: every day the steps record has passed
    sent_back = {"review_meeting_date": "2020-09-25", "review_resolution": "revise",
                 "review_comments": "เพิ่มโครงการของหน่วยงานส่วนภูมิภาค"}
    for name, who, data in (("collect_projects", "support", SAMPLES["collect_projects"]),
                            ("draft_plan", "support", SAMPLES["draft_plan"]),
                            ("propose_draft", "support", SAMPLES["propose_draft"]),
                            ("consider_draft", "council", sent_back)):
        clock.set(clock.now() + timedelta(hours=1))
        commands.complete_task(ctx, actors[who], open_task_id(ctx, plan_id, name), data)
    with serving(ctx) as base:
        yield base, plan_id


def open_task_id(ctx, plan_id, name):
    with ctx.db.read() as session:
        return session.scalar(select(OpenTask.id).where(OpenTask.plan_id == plan_id, OpenTask.name == name))


def test_auditor_steps_through_a_plan_on_its_diagram_and_verifies_it(server, shots, browser):
    base, plan_id = server
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="th-TH")

    log_in(page, base, "inspector")
    page.goto(f"{base}/audit/")
    expect(page.get_by_text("ประวัติถูกต้องครบถ้วน")).to_be_visible()
    page.screenshot(path=str(shots / "audit-1-list.png"), full_page=True)

    page.get_by_role("link", name="แผนการดำเนินงาน ปีงบประมาณ พ.ศ. 2564").click()
    expect(page.locator("#step-number")).to_have_text("5")
    current = page.locator('g[data-bpmn-id="draft_plan"]')
    expect(current).to_have_class("current")  # sent back: open again
    page.screenshot(path=str(shots / "audit-2-plan-last-step.png"), full_page=True)

    slider = page.locator("#step")
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")  # the slider, live: 5 -> 2
    expect(page.locator("#step-number")).to_have_text("2")
    expect(page.locator(".step-event .what")).to_contain_text("รวบรวมโครงการ/กิจกรรม")
    expect(current).to_have_class("current")  # draft_plan is where the plan stood after step 2
    expect(page.locator('g[data-bpmn-id="collect_projects"]')).to_have_class("done acted")
    expect(page.locator('g[data-bpmn-id="consider_draft"]')).not_to_have_class("done")
    assert page.url.endswith(f"/audit/plans/{plan_id}?step=2#step-view")
    expect(page.get_by_text("โครงการจัดซื้อรถบรรทุกน้ำ")).to_be_visible()
    page.locator("#step-view").screenshot(path=str(shots / "audit-3-step-2.png"))

    page.get_by_role("link", name="ถัดไป ▶").click()
    expect(page.locator("#step-number")).to_have_text("3")
    expect(page.locator('g[data-bpmn-id="draft_plan"]')).to_have_class("done acted")

    page.get_by_role("button", name="ตรวจสอบความถูกต้องอีกครั้ง").click()
    expect(page.get_by_role("heading", name="ผลการตรวจสอบความถูกต้องของประวัติแผน")).to_be_visible()
    expect(page.get_by_text("ประวัติถูกต้องครบถ้วน")).to_be_visible()
    page.screenshot(path=str(shots / "audit-4-verified.png"), full_page=True)
