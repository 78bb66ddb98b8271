"""A project's progress evidence in a real browser: a unit official opens its project's progress
form, types a note, attaches a photo, sees it listed with what was typed still in the form, then saves
and finds the photo under the project on the progress page; a program renamed .jpg is refused beside
the field. The form at a phone's width, checked with axe-core. Screenshots go to $PHAEN_TEST_OUTPUT."""

from __future__ import annotations

from pathlib import Path

from ..integration.procedure import PROJECT
from ..integration.test_attachments import EXECUTABLE, JPEG
from .browser import log_in, needs_chromium, playwright_api, serving
from .test_browser_progress import announced, unit_official
from .test_browser_public import serious

pytestmark = needs_chromium


def test_a_unit_official_attaches_a_photo_to_its_project_and_sees_it_listed(ctx, client, org, clock, browser, shots):
    plan_id = announced(client, org, [PROJECT])
    unit_official(ctx, org, clock)
    expect = playwright_api.expect
    with serving(ctx) as base:
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="th-TH")
        page = context.new_page()
        log_in(page, base, "somchai")
        page.goto(f"{base}/plans/{plan_id}/progress/1.1.1")
        evidence = page.locator("section.attachments")
        expect(evidence).to_contain_text("ยังไม่มีไฟล์หลักฐาน")
        page.get_by_label("หมายเหตุ").fill("ลงลูกรังแล้วครึ่งสาย")

        # a program renamed .jpg: refused beside the field, the note still typed
        page.get_by_label("เลือกไฟล์หลักฐานที่จะแนบ").set_input_files(files=[{
            "name": "ภาพ.jpg", "mimeType": "image/jpeg", "buffer": EXECUTABLE}])
        page.get_by_role("button", name="แนบไฟล์").click()
        expect(page.locator("#evidence-file-error")).to_contain_text("เนื้อไฟล์ไม่ใช่ไฟล์ JPEG, PNG, PDF")
        expect(page.get_by_label("หมายเหตุ")).to_have_value("ลงลูกรังแล้วครึ่งสาย")
        page.screenshot(path=shots / "progress-evidence-refused-phone.png", full_page=True)

        page.get_by_label("เลือกไฟล์หลักฐานที่จะแนบ").set_input_files(files=[{
            "name": "ถนนช่วงที่1.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
        page.get_by_role("button", name="แนบไฟล์").click()
        expect(page.locator(".flash, [role=status]").first).to_contain_text("แนบไฟล์ “ถนนช่วงที่1.jpg” แล้ว")
        expect(evidence.get_by_role("link", name="ถนนช่วงที่1.jpg")).to_be_visible()
        expect(page.get_by_label("หมายเหตุ")).to_have_value("ลงลูกรังแล้วครึ่งสาย")
        violations = serious(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=shots / "progress-evidence-phone.png", full_page=True)

        page.get_by_role("button", name="บันทึกผลการดำเนินงาน").click()
        expect(page.locator(".flash, [role=status]").first).to_contain_text("บันทึกผลการดำเนินงานโครงการลำดับที่ 1.1.1")
        road = page.locator("tr", has_text=PROJECT["name"]).first
        link = road.get_by_role("link", name="ถนนช่วงที่1.jpg")
        expect(link).to_be_visible()
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename == "ถนนช่วงที่1.jpg"
        assert Path(download.value.path()).read_bytes() == JPEG
        page.screenshot(path=shots / "progress-evidence-listed-phone.png", full_page=True)
        context.close()
    assert not violations, violations
    assert width <= 360, width
