"""A real browser: an organization's admin replaces the chair of the development committee on the
committees page (ends the old term the day before the meeting, appoints the new chair from the
meeting's day), and the next rendering of the plan's record prints the new chair for that meeting.
Screenshots go to $PHAEN_TEST_OUTPUT."""

from __future__ import annotations

import subprocess

import pytest

from service.commands import admin, jobs

from ..integration.procedure import Procedure
from ..integration.test_documents import key
from .browser import PASSWORD, log_in, needs_chromium, playwright_api, serving

pytestmark = needs_chromium
OLD, NEW = "นายประธาน คนเดิม", "นางประธาน คนใหม่"


@pytest.fixture
def server(ctx, client, org):
    """A plan whose development committee met on 25 Sep 2020, chaired (as kept) by OLD."""
    admin.add_user(ctx, "orgadmin", org.code, ["admin"], PASSWORD, "นางดูแล องค์กร")
    run = Procedure(client, org)
    plan_id = run.start()["id"]
    for step in ("collect_projects", "draft_plan", "propose_draft", "consider_draft"):
        run.complete(plan_id, step)
    answer = client.post(f"/api/v1/organizations/{org.code}/committees", headers=org.headers("admin"), json={
        "committee": "development_committee", "name": OLD, "seat": "chair", "starts_on": "2019-01-01"})
    assert answer.status_code == 201
    with serving(ctx) as base:
        yield base, plan_id, answer.get_json()["id"]


def record_text(page, base: str, plan_id: int, ctx, path) -> str:
    """The plan's record as the signed-in browser downloads it, once a worker has rendered it."""
    jobs.work(ctx, "test-worker")
    answer = page.request.get(f"{base}/plans/{plan_id}/record.pdf")
    assert answer.status == 200 and answer.body().startswith(b"%PDF")
    path.write_bytes(answer.body())
    return key(subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                              check=True).stdout.decode())


def pick_day(page, prefix: str, day: str, month: str, year: str) -> None:
    page.locator(f"#{prefix}-d").select_option(day)
    page.locator(f"#{prefix}-m").select_option(label=month)
    page.locator(f"#{prefix}-y").fill(year)


def test_an_organization_admin_replaces_the_chair_and_the_record_prints_the_new_name(server, shots, browser, ctx,
                                                                                      tmp_path):
    base, plan_id, seat_id = server
    expect = playwright_api.expect
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="th-TH")
    log_in(page, base, "orgadmin")
    assert key(OLD) in record_text(page, base, plan_id, ctx, tmp_path / "before.pdf")

    page.goto(f"{base}/admin")
    page.get_by_role("link", name="คณะกรรมการและผู้ดำรงตำแหน่ง").click()
    expect(page.get_by_role("heading", name="คณะกรรมการพัฒนาท้องถิ่น")).to_be_visible()
    row = page.locator(f"#seat-{seat_id}")
    expect(row).to_contain_text("ดำรงตำแหน่ง")
    page.screenshot(path=shots / "committees-01-page.png", full_page=True)

    # the old chair's term ends the day before the meeting
    row.locator("summary", has_text="สิ้นสุดวาระ").click()
    pick_day(page, f"end-{seat_id}", "24", "กันยายน", "2563")
    page.screenshot(path=shots / "committees-02-ending.png", full_page=True)
    row.get_by_role("button", name="บันทึกการสิ้นสุดวาระ").click()
    expect(page.locator(".notice-success")).to_contain_text("บันทึกการสิ้นสุดวาระแล้ว")
    expect(page.locator(f"#seat-{seat_id}")).to_contain_text("สิ้นสุดวาระแล้ว")

    def appoint(day: str) -> None:
        page.locator("#add-committee").select_option(label="คณะกรรมการพัฒนาท้องถิ่น")
        page.locator("#add-name").fill(NEW)
        page.locator("#add-seat").select_option("chair")
        pick_day(page, "add-start", day, "กันยายน", "2563")
        page.get_by_role("button", name="บันทึกการแต่งตั้ง", exact=True).click()

    # a second chair from the same day would overlap: refused on the page, in Thai, nothing stored
    appoint("24")
    expect(page.locator("#committee-refused")).to_contain_text("มีประธานกรรมการอยู่แล้ว")
    page.screenshot(path=shots / "committees-03-refused.png", full_page=True)

    # the new chair from the meeting's day
    appoint("25")
    expect(page.locator(".notice-success")).to_contain_text("บันทึกการแต่งตั้งแล้ว")
    table = page.locator("section", has=page.get_by_role("heading", name="คณะกรรมการพัฒนาท้องถิ่น"))
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text(NEW)
    page.screenshot(path=shots / "committees-04-replaced.png", full_page=True)

    text = record_text(page, base, plan_id, ctx, tmp_path / "after.pdf")
    assert key(NEW) in text and key(OLD) not in text
