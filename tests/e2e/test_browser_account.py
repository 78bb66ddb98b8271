"""A real browser: a national admin changes their password on the account page (a mismatch refused
beside its field first) while a second browser of theirs is signed out, reads their sign-in history,
and keeps and removes a holiday on the holidays page. Screenshots go to $PHAEN_TEST_OUTPUT."""

from __future__ import annotations

import pytest

from service.commands import admin

from .browser import PASSWORD, log_in, needs_chromium, playwright_api, serving

pytestmark = needs_chromium
NEW_PASSWORD = "a new password 2564"


@pytest.fixture
def server(ctx):
    admin.add_user(ctx, "national", None, ["admin"], PASSWORD, "นายดูแล ระบบ")
    with serving(ctx) as base:
        yield base


def sign_in(page, base: str, password: str = PASSWORD) -> None:
    log_in(page, base, "national", password)


def test_a_national_admin_changes_their_password_and_keeps_a_holiday(server, shots, browser):
    base, expect = server, playwright_api.expect
    other = browser.new_context(locale="th-TH").new_page()
    sign_in(other, base)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="th-TH")
    sign_in(page, base)

    page.get_by_role("link", name="บัญชีของฉัน").click()
    page.get_by_label("รหัสผ่านปัจจุบัน").fill(PASSWORD)
    page.get_by_label("รหัสผ่านใหม่", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("รหัสผ่านใหม่อีกครั้ง").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="เปลี่ยนรหัสผ่าน").click()
    expect(page.locator("#confirm_password-error")).to_have_text("รหัสผ่านใหม่ที่กรอกสองครั้งไม่ตรงกัน")
    page.screenshot(path=shots / "account-01-mismatch.png", full_page=True)

    page.get_by_label("รหัสผ่านปัจจุบัน").fill(PASSWORD)
    page.get_by_label("รหัสผ่านใหม่", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("รหัสผ่านใหม่อีกครั้ง").fill(NEW_PASSWORD)
    page.get_by_role("button", name="เปลี่ยนรหัสผ่าน").click()
    expect(page.locator(".notice-success")).to_contain_text("เปลี่ยนรหัสผ่านแล้ว")
    history = page.locator("table.sign-ins tbody tr")
    expect(history.first).to_contain_text("เปลี่ยนรหัสผ่าน")
    expect(history).to_have_count(3)  # two sign-ins, then the change
    page.screenshot(path=shots / "account-02-changed.png", full_page=True)

    other.reload()
    expect(other.get_by_role("heading", name="เข้าสู่ระบบ")).to_be_visible()  # the other browser: signed out

    page.get_by_role("link", name="วันหยุดราชการ").click()
    expect(page.get_by_role("heading", name="วันหยุดราชการ พ.ศ. 2563")).to_be_visible()
    page.locator("#day-d").select_option("31")
    page.locator("#day-m").select_option(label="ธันวาคม")
    page.get_by_label("ชื่อวันหยุด").fill("วันสิ้นปี")
    page.get_by_role("button", name="เพิ่มวันหยุด").click()
    expect(page.locator(".notice-success")).to_contain_text("เพิ่มวันหยุด “วันสิ้นปี” วันที่ 31 ธ.ค. 2563 แล้ว")
    expect(page.locator("table.holidays tbody tr")).to_have_count(1)
    page.screenshot(path=shots / "holidays-01-added.png", full_page=True)

    page.get_by_role("button", name="นำวันหยุด วันสิ้นปี วันที่ 31 ธ.ค. 2563 ออก").click()
    expect(page.locator(".notice-success")).to_contain_text("ออกแล้ว")
    expect(page.locator("table.holidays tbody tr")).to_contain_text("นำออกแล้ว")
    page.screenshot(path=shots / "holidays-02-removed.png", full_page=True)
