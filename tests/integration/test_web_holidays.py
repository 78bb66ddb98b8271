"""The national admins' holidays page: the holidays of a year in พ.ศ., one added or removed at a time
by the dated rules of the CLI and the API (a change counts a minute after it is made, a removed
holiday ends and stays on record), and its refusals: no one else, no CSRF token, a bad day, a day
already kept, a day not kept."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import select

from service.commands import holidays
from service.models import Holiday

from .test_wording import findings, visible_text
from .web import add_person, errors_beside, log_in, post_form


@pytest.fixture
def app(ctx):
    from service.app import create_app

    return create_app(context=ctx, test_config={"TESTING": True, "WTF_CSRF_ENABLED": True})


@pytest.fixture
def national_admin(ctx, app):
    add_person(ctx, "national-admin", None, ["admin"], "นายดูแล ระบบ")
    client = app.test_client()
    assert log_in(client, "national-admin").status_code == 302
    return client


def add(client, d="31", m="12", y="2563", name="วันสิ้นปี"):
    return post_form(client, "/admin/holidays", {"d": d, "m": m, "y": y, "name": name}, page="/admin/holidays")


def rows(ctx) -> list[tuple[date, str, bool, str, str | None]]:
    with ctx.db.read() as session:
        return [(h.day, h.name, h.ended_at is None, h.added_by, h.removed_by)
                for h in session.scalars(select(Holiday).order_by(Holiday.id))]


def test_the_page_lists_the_years_holidays_in_buddhist_era_and_thai_dates(ctx, national_admin):
    holidays.keep(ctx, "operator", date(2020, 12, 10), "วันรัฐธรรมนูญ")
    holidays.keep(ctx, "operator", date(2021, 1, 1), "วันขึ้นปีใหม่")
    page = national_admin.get("/admin/holidays")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "วันหยุดราชการ พ.ศ. 2563" in html  # the fixed clock is in 2020
    assert "วันรัฐธรรมนูญ" in html and "10 ธ.ค. 2563" in html and "วันขึ้นปีใหม่" not in html
    assert 'href="/admin/holidays">วันหยุดราชการ</a>' in national_admin.get("/").get_data(as_text=True)
    assert not [f for f in findings("/admin/holidays", "holidays", visible_text(html), 2563)
                if f.rule in ("ISO date", "Gregorian year", "Python repr")]
    next_year = national_admin.get("/admin/holidays?year=2564").get_data(as_text=True)
    assert "วันขึ้นปีใหม่" in next_year and "1 ม.ค. 2564" in next_year and "วันรัฐธรรมนูญ" not in next_year
    assert national_admin.get("/admin/holidays?year=2020").status_code == 422  # a year in ค.ศ.: not one in พ.ศ.
    assert national_admin.get("/admin/holidays?year=abc").status_code == 422


def test_adding_a_holiday_keeps_it_dated_from_a_minute_after_now(ctx, national_admin, clock):
    answer = add(national_admin)
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/holidays?year=2563"
    html = national_admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "เพิ่มวันหยุด “วันสิ้นปี” วันที่ 31 ธ.ค. 2563 แล้ว" in html and "21 ก.ย. 2563 09:01 น." in html
    assert rows(ctx) == [(date(2020, 12, 31), "วันสิ้นปี", True, "national-admin", None)]
    kept = holidays.listing(ctx, 2020)[0]
    assert kept["counts_from"] == (clock.now() + timedelta(minutes=1)).astimezone(UTC).isoformat()
    # as the API and the CLI read it
    assert [h["day"] for h in holidays.listing(ctx, 2020)] == ["2020-12-31"]


def test_thai_digits_are_read_as_the_form_reads_them(ctx, national_admin):
    assert add(national_admin, d="๕", m="12", y="๒๕๖๓", name="วันพ่อแห่งชาติ").status_code == 302
    assert rows(ctx)[0][:2] == (date(2020, 12, 5), "วันพ่อแห่งชาติ")


@pytest.mark.parametrize(("typed", "message"), [
    ({"d": "30", "m": "2", "y": "2564"}, "ไม่มีวันที่นี้ในปฏิทิน"),
    ({"d": "31", "m": "12", "y": "2020"}, "กรุณากรอกปีเป็นปี พ.ศ. 2543–2743 เช่น 2563"),
    ({"d": "31", "m": "12", "y": ""}, "กรุณาเลือกวัน เดือน และปี พ.ศ. ให้ครบ"),
    ({"d": "x", "m": "12", "y": "2563"}, "วัน เดือน และปีต้องเป็นตัวเลข"),
    ({"d": "31", "m": "13", "y": "2563"}, "ไม่มีวันที่นี้ในปฏิทิน"),
])
def test_a_bad_day_is_refused_beside_the_field_and_nothing_is_kept(ctx, national_admin, typed, message):
    answer = add(national_admin, **typed)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and errors_beside(html)["day"] == message
    assert "วันที่ไม่ถูกต้อง ยังไม่ได้เพิ่มวันหยุด" in html and 'value="วันสิ้นปี"' in html  # what was typed stays
    assert rows(ctx) == []


def test_a_holiday_needs_a_name(ctx, national_admin):
    answer = add(national_admin, name="   ")
    assert answer.status_code == 422 and "กรุณาระบุชื่อวันหยุด" in errors_beside(answer.get_data(as_text=True))["name"]
    assert rows(ctx) == []


def test_a_day_already_kept_is_refused_and_its_name_stays(ctx, national_admin):
    assert add(national_admin).status_code == 302
    answer = add(national_admin, name="ชื่อใหม่")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409 and errors_beside(html)["day"] == "วันนี้เป็นวันหยุด “วันสิ้นปี” อยู่แล้ว"
    assert rows(ctx) == [(date(2020, 12, 31), "วันสิ้นปี", True, "national-admin", None)]


def test_removing_a_holiday_ends_it_a_minute_after_now_and_keeps_the_record(ctx, national_admin, clock):
    holidays.keep(ctx, "operator", date(2020, 12, 31), "วันสิ้นปี")
    clock.advance(hours=1)
    answer = post_form(national_admin, "/admin/holidays/2020-12-31/remove", {}, page="/admin/holidays")
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/holidays?year=2563"
    html = national_admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "นำวันหยุด “วันสิ้นปี” วันที่ 31 ธ.ค. 2563 ออกแล้ว" in html and "นับถึง 21 ก.ย. 2563 10:01 น." in html
    assert "นำออกโดย national-admin" in html and ">นำออก</button>" not in html
    assert rows(ctx) == [(date(2020, 12, 31), "วันสิ้นปี", False, "operator", "national-admin")]
    # removed, it may be kept again: a new row, the old one stays as it was
    clock.advance(minutes=2)
    assert add(national_admin, name="วันสิ้นปี (อีกครั้ง)").status_code == 302
    assert [r[:3] for r in rows(ctx)] == [(date(2020, 12, 31), "วันสิ้นปี", False),
                                          (date(2020, 12, 31), "วันสิ้นปี (อีกครั้ง)", True)]


@pytest.mark.parametrize("day", ["2020-12-30", "2020-02-30", "not-a-day", "1999-01-01"])
def test_removing_a_day_that_is_not_kept_is_a_404_and_changes_nothing(ctx, national_admin, day):
    holidays.keep(ctx, "operator", date(2020, 12, 31), "วันสิ้นปี")
    answer = post_form(national_admin, f"/admin/holidays/{day}/remove", {}, page="/admin/holidays")
    assert answer.status_code == 404 and "จึงไม่ได้นำออก" in answer.get_data(as_text=True)
    assert rows(ctx) == [(date(2020, 12, 31), "วันสิ้นปี", True, "operator", None)]


def test_a_form_without_the_csrf_token_is_refused(ctx, national_admin):
    holidays.keep(ctx, "operator", date(2020, 12, 31), "วันสิ้นปี")
    assert national_admin.post("/admin/holidays", data={"d": "1", "m": "1", "y": "2564", "name": "x"}).status_code \
        == 400
    assert national_admin.post("/admin/holidays/2020-12-31/remove").status_code == 400
    assert rows(ctx) == [(date(2020, 12, 31), "วันสิ้นปี", True, "operator", None)]


@pytest.mark.parametrize("roles", [["admin"], ["support_committee"], ["auditor"]])
def test_no_one_but_a_national_admin_sees_or_changes_the_holidays(ctx, app, org, roles):
    holidays.keep(ctx, "operator", date(2020, 12, 31), "วันสิ้นปี")
    add_person(ctx, "someone", org.code, roles)  # an organization's own admin included
    client = app.test_client()
    log_in(client, "someone")
    page = client.get("/admin/holidays")
    assert page.status_code == 403 and "เฉพาะผู้ดูแลระบบระดับประเทศ" in page.get_data(as_text=True)
    assert "/admin/holidays" not in client.get("/").get_data(as_text=True)  # no link to it either
    assert post_form(client, "/admin/holidays", {"d": "1", "m": "1", "y": "2564", "name": "x"},
                     page="/account").status_code == 403
    assert post_form(client, "/admin/holidays/2020-12-31/remove", {}, page="/account").status_code == 403
    assert rows(ctx) == [(date(2020, 12, 31), "วันสิ้นปี", True, "operator", None)]


def test_not_signed_in_is_sent_to_the_log_in(client):
    answer = client.get("/admin/holidays")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
