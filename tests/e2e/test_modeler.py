"""A real browser against a real server: a process designer opens the operational plan in the
modeler, renames a task, saves a draft, validates it, breaks a timer and sees the Thai finding
with its line, mends it and publishes version 2 through the check → diff → confirm pages.
Screenshots go to $PHAEN_TEST_OUTPUT (default: the test's temporary folder)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from service.bundles import catalog
from service.clock import FixedClock
from service.commands import admin
from service.config import Settings
from service.context import Context
from service.models import Draft, ProcessVersion
from service.web import designer as designer_web

from ..conftest import bangkok
from .browser import PASSWORD, log_in, needs_chromium, playwright_api, serving

pytestmark = [
    needs_chromium,
    pytest.mark.skipif(not (designer_web.BPMN_JS_DIST / "bpmn-modeler.production.min.js").is_file(),
                       reason="bpmn-js is not installed (make setup runs npm ci)"),
]


@pytest.fixture
def server(tmp_path):
    settings = Settings.from_env({}, instance_path=tmp_path / "instance",
                                 database_url=f"sqlite:///{tmp_path / 'phaen.sqlite3'}")
    ctx = Context.create(settings, FixedClock(bangkok(2020, 9, 21, 9, 0)))
    ctx.db.migrate()
    with ctx.db.write() as session:  # the operational plan alone, whatever else processes/ holds
        catalog.publish(session, catalog.read_bundle(settings.processes_dir / "operational_plan", settings.forms_dir),
                        "system", ctx.clock.now())
    admin.add_user(ctx, "designer", None, ["designer"], PASSWORD, "ผู้ออกแบบกระบวนงาน")
    with serving(ctx) as base:
        yield base, ctx
    ctx.db.dispose()


def test_designer_edits_validates_and_publishes_in_the_modeler(server, shots, browser):
    base, ctx = server
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="th-TH")
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    log_in(page, base, "designer")
    page.get_by_role("link", name="ออกแบบกระบวนงาน").click()
    page.get_by_role("link", name="แก้ไขฉบับแรกในโปรแกรมออกแบบ").click()
    expect(page.locator("#modeler.ready")).to_be_attached()
    task = page.locator('.djs-element[data-element-id="collect_projects"]')
    expect(task).to_be_visible()
    page.screenshot(path=str(shots / "modeler-1-opened.png"))

    task.click()
    expect(page.locator("#el-id")).to_have_text("collect_projects")
    expect(page.locator("#el-form")).to_have_value("collect_projects.schema.json")
    page.locator("#el-name").fill("รวบรวมโครงการและกิจกรรมพัฒนา")
    page.locator("#el-name").press("Enter")
    expect(task).to_contain_text("รวบรวมโครงการและกิจกรรมพัฒนา")
    page.get_by_role("button", name="บันทึกร่าง").click()
    expect(page.locator("#modeler-status")).to_have_text(re.compile(r"บันทึกร่างที่ \d+ แล้ว"))
    assert "draft=" in page.url
    with ctx.db.read() as session:
        draft = session.scalars(select(Draft)).one()
        assert draft.saved_by == "designer" and draft.based_on_version == 1
        assert "รวบรวมโครงการและกิจกรรมพัฒนา" in draft.files["operational_plan.bpmn"]

    page.get_by_role("button", name="ตรวจสอบ").click()
    findings = page.locator("#modeler-findings")
    expect(findings).to_contain_text("ผ่านการตรวจสอบ", timeout=30_000)
    expect(findings).to_contain_text("งาน แก้ไข: รวบรวมโครงการและกิจกรรมพัฒนา (collect_projects)")
    page.screenshot(path=str(shots / "modeler-2-renamed-valid.png"))

    timer = page.locator('.djs-element[data-element-id="posting_deadline"]')
    timer.click(force=True)
    expect(page.locator("#el-timer")).to_have_value("legal_deadline(announced_on, 15)")
    page.locator("#el-timer").fill("P15D")
    page.locator("#el-timer").press("Enter")
    page.get_by_role("button", name="ตรวจสอบ").click()
    expect(findings).to_contain_text("ไม่ผ่านการตรวจสอบ", timeout=30_000)
    problem = findings.locator(".problems li").filter(has_text='เขียน "P15D" แทน P15D')
    expect(problem).to_have_count(1)
    where = problem.locator(".where").inner_text()
    assert re.fullmatch(r"operational_plan\.bpmn:\d+", where), where
    page.locator("body").click(position={"x": 5, "y": 5})
    problem.locator(".where").click()  # takes the designer to the element on that line
    expect(page.locator("#el-id")).to_have_text("posting_deadline")
    page.screenshot(path=str(shots / "modeler-3-unquoted-timer.png"))

    page.locator("#el-timer").fill("legal_deadline(announced_on, 10)")
    page.locator("#el-timer").press("Enter")
    edit_json(page, "collect_projects.schema.json", lambda form: {**form, "description": "ตามระเบียบฯ ข้อ 26 (1)"})
    edit_json(page, "process.json", lambda meta: {**meta, "change_note": "ปิดประกาศภายใน 10 วัน"})
    page.get_by_role("button", name="เผยแพร่…").click()
    expect(page.get_by_role("heading", name="การจัดทำแผนการดำเนินงาน: ผ่านการตรวจสอบ")).to_be_visible(timeout=30_000)
    diff = page.locator("table.diff")
    expect(diff).to_contain_text("legal_deadline(announced_on, 10)")
    expect(diff.locator("tr").filter(has_text="แบบฟอร์ม")).to_contain_text("collect_projects.schema.json")
    page.screenshot(path=str(shots / "modeler-4-publish-diff.png"), full_page=True)
    page.get_by_role("button", name="ยืนยันเผยแพร่เป็นฉบับใหม่").click()
    expect(page.get_by_text("เผยแพร่กระบวนงานการจัดทำแผนการดำเนินงาน ฉบับแก้ไขครั้งที่ 1 แล้ว")).to_be_visible()
    expect(page.locator("table.list tbody tr").first).to_contain_text("ปิดประกาศภายใน 10 วัน")
    page.screenshot(path=str(shots / "modeler-5-published.png"))
    with ctx.db.read() as session:
        assert session.scalar(select(ProcessVersion.version).order_by(ProcessVersion.version.desc())) == 2
    assert errors == []


def edit_json(page, filename: str, change) -> None:
    """Edit a JSON file of the bundle in the text area beside the diagram."""
    page.locator("#json-file").select_option(filename)
    text = page.locator("#json-text")
    text.fill(json.dumps(change(json.loads(text.input_value())), ensure_ascii=False, indent=2))
    playwright_api.expect(page.locator("#json-state")).to_have_text("")  # the JSON parses
