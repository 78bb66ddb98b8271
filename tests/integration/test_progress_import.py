"""Progress from a spreadsheet (issue 15): one row per tracked project keyed by the plan's numbering,
checked row by row with Thai errors by row and column, previewed without writing, applied all or
none with one event per changed project; the template holds a unit's own projects only."""

from __future__ import annotations

import html
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from service.auth import actor_of
from service.commands import progress
from service.models import User
from service.taskforms import reading

from ..conftest import bangkok
from .test_progress import ROAD, WATER_TRUCK, Units, announced, events_of, listing  # noqa: F401 - fixtures
from .web import add_person, csrf_token, log_in, post_form

HEADER = ["เลขที่โครงการ", "โครงการ", "สถานะ", "วันที่เริ่มดำเนินการ", "วันที่แล้วเสร็จ", "เดือนที่ดำเนินการจริง",
          "วงเงินตามสัญญา/ก่อหนี้ผูกพัน (บาท)", "เบิกจ่ายแล้ว (บาท)", "เหตุที่ยกเลิกหรือไม่ได้ดำเนินการ"]
ROAD_ROW = ["1.2.1", ROAD["name"], "อยู่ระหว่างดำเนินการ", "11/01/2564", "", "ม.ค., ก.พ.", "475,000", "200000.25", ""]
TRUCK_ROW = ["1.1.1", WATER_TRUCK["name"], "ยกเลิก", "", "", "", "", "", "ได้รับรถจากหน่วยงานอื่นแล้ว"]
ROAD_RECORDED = {"status": "in_progress", "started_on": "2021-01-11", "months_worked": [1, 2], "contracted": 475000,
                 "disbursed": 200000.25}


def csv_of(*rows, header=HEADER) -> bytes:
    lines = [",".join(f'"{cell}"' for cell in row) for row in (header, *rows)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def send(client, headers, plan_id, content, filename="progress.csv", preview=False):
    """A multipart body built as bytes: the test client would spool a big one to a temporary file
    that it leaves open."""
    body = (f'--b\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n--b--\r\n"
    return client.post(f"/api/v1/plans/{plan_id}/progress/import", headers=headers,
                       query_string={"preview": "1"} if preview else {}, data=body,
                       content_type="multipart/form-data; boundary=b")


def actor(ctx, username):
    with ctx.db.read() as session:
        return actor_of(session.scalars(select(User).where(User.username == username)).one())


def recorded(ctx, plan_id):
    return [data for kind, data in events_of(ctx, plan_id) if kind == "progress_recorded"]


@pytest.fixture
def plan(ctx, client, org, clock, announced):  # noqa: F811 - the fixture of test_progress
    run, plan_id = announced
    run.complete(plan_id, "announce_plan")
    clock.set(bangkok(2021, 2, 15, 10, 0))
    return plan_id


def test_a_clean_file_is_previewed_without_writing_then_applied_all_in_one(ctx, client, org, plan):
    headers = org.headers("planning_office")
    before = events_of(ctx, plan)
    preview = send(client, headers, plan, csv_of(ROAD_ROW, TRUCK_ROW), preview=True)
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["ok"] and not body["applied"] and body["rows"] == 2 and body["unchanged"] == 0
    assert [(c["number"], c["row"]) for c in body["changed"]] == [("1.2.1", 2), ("1.1.1", 3)]
    assert body["changed"][0]["progress"] == ROAD_RECORDED
    assert events_of(ctx, plan) == before  # the preview wrote nothing

    applied = send(client, headers, plan, csv_of(ROAD_ROW, TRUCK_ROW))
    assert applied.status_code == 200 and applied.get_json()["applied"], applied.get_json()
    assert recorded(ctx, plan) == [
        {"project": "1.2.1", "progress": ROAD_RECORDED, "list_version": 0},
        {"project": "1.1.1", "progress": {"status": "cancelled", "reason": "ได้รับรถจากหน่วยงานอื่นแล้ว"},
         "list_version": 0}]
    assert listing(client, org, plan)["summary"]["by_status"]["cancelled"] == 1

    # the same rows again (months in another order too) change nothing
    again = send(client, headers, plan, csv_of([*ROAD_ROW[:5], "ก.พ., ม.ค.", *ROAD_ROW[6:]], TRUCK_ROW))
    assert again.status_code == 200 and again.get_json()["changed"] == [] and again.get_json()["unchanged"] == 2
    assert len(recorded(ctx, plan)) == 2


def test_the_template_lists_the_plans_projects_a_unit_its_own_only_and_reads_back_unchanged(ctx, client, org, plan):
    units = Units(ctx, org)
    office = actor(ctx, f"{org.code}-planning_office")
    assert progress.record(ctx, office, plan, "1.2.1", ROAD_RECORDED)["status"] == "in_progress"
    add_person(ctx, "somchai", org.code, ["unit"], "นายสมชาย ช่างดี")
    progress.assign_unit(ctx, "somchai", org.code, "กองช่าง")
    office, unit = client.application.test_client(), client.application.test_client()
    add_person(ctx, "planner", org.code, ["planning_office"])
    log_in(office, "planner")
    log_in(unit, "somchai")
    whole = office.get(f"/plans/{plan}/progress/template.xlsx")
    assert whole.status_code == 200 and whole.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(whole.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("ที่", "เลขที่โครงการ", "โครงการ", "หน่วยงานรับผิดชอบหลัก")
    assert [row[1:4] for row in rows[1:]] == [("1.1.1", WATER_TRUCK["name"], "สำนักปลัด"),
                                              ("1.2.1", ROAD["name"], "กองช่าง")]
    own = openpyxl.load_workbook(io.BytesIO(unit.get(f"/plans/{plan}/progress/template.xlsx").data)).active
    assert [row[1] for row in own.iter_rows(min_row=2, values_only=True)] == ["1.2.1"]

    # the template as downloaded, with what is recorded, changes nothing when sent back
    back = send(client, units.headers("กองช่าง"), plan, unit.get(f"/plans/{plan}/progress/template.xlsx").data,
                "template.xlsx")
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["changed"] == [] and back.get_json()["unchanged"] == 1


BAD = [  # (row, the words of its error, the column letter)
    (["9.9.9", "", "ยังไม่ได้ดำเนินการ", "", "", "", "", "", ""], "ไม่มีโครงการลำดับที่ 9.9.9", "A"),
    ([*ROAD_ROW[:7], "สองแสนบาท", ""], "เบิกจ่ายแล้ว", "H"),  # text in an amount cell
    ([*ROAD_ROW[:7], "500000", ""], "เบิกจ่ายเกินวงเงินตามสัญญา", "H"),
    (["1.2.1", "", "อยู่ระหว่างดำเนินการ", "", "", "", "", "", ""], "ต้องระบุวันที่เริ่มดำเนินการ", "C"),
    (["1.2.1", "", "อยู่ระหว่างดำเนินการ", "30/09/2563", "", "", "", "", ""], "ต้องอยู่ในปีงบประมาณ", "D"),
    (["1.2.1", "", "อยู่ระหว่างดำเนินการ", "16/02/2564", "", "", "", "", ""], "ต้องไม่เป็นวันในอนาคต", "D"),
    (["1.2.1", "", "ดำเนินการแล้วเสร็จ", "11/01/2564", "", "", "", "", ""], "ต้องระบุวันที่แล้วเสร็จ", "C"),
    (["1.2.1", "", "ดำเนินการแล้วเสร็จ", "11/01/2564", "10/01/2564", "", "", "", ""], "ไม่ก่อนวันที่เริ่ม", "E"),
    (["1.2.1", "", "ยกเลิก", "", "", "", "", "", ""], "ต้องระบุเหตุที่ยกเลิก", "C"),
    (["1.2.1", "", "อยู่ระหว่างดำเนินการ", "11/01/2564", "", "", "480000.01", "", ""], "เกินงบประมาณ", "G"),
    (["1.2.1", "", "อยู่ระหว่างดำเนินการ", "11/01/2564", "", "", "", "480001", ""], "เกินงบประมาณ", "H"),
    (["1.2.1", "", "เสร็จแล้วจ้า", "", "", "", "", "", ""], "ไม่มีในรายการ", "C"),
    (["1.2.1", "", "ยังไม่ได้ดำเนินการ", "", "", "ธันวา", "", "", ""], "ไม่ใช่เดือนที่ดำเนินการจริง", "F"),
    (["1.2.1", "", "ยังไม่ได้ดำเนินการ", "", "", "", "", "1000", ""], "การเบิกจ่าย", "C"),
]


@pytest.mark.parametrize(("row", "words", "column"), BAD, ids=[words for _, words, _ in BAD])
def test_a_bad_row_is_refused_by_row_and_column_and_nothing_is_recorded(ctx, client, org, plan, row, words, column):
    before = events_of(ctx, plan)
    for preview in (True, False):
        response = send(client, org.headers("planning_office"), plan, csv_of(TRUCK_ROW, row), preview=preview)
        assert response.status_code == 422, response.get_json()
        messages = [e["message"] for e in response.get_json()["errors"]]
        assert any(m.startswith(f"แถวที่ 3 คอลัมน์ {column}") and words in m for m in messages), messages
        assert all("{" not in m for m in messages)
    assert events_of(ctx, plan) == before  # not even the good row


def test_duplicate_rows_withdrawn_and_other_units_projects_are_refused_by_row(ctx, client, org, plan):
    units = Units(ctx, org)
    duplicate = send(client, org.headers("planning_office"), plan, csv_of(ROAD_ROW, TRUCK_ROW, ROAD_ROW))
    assert duplicate.status_code == 422
    assert [e["message"] for e in duplicate.get_json()["errors"]] == [
        "แถวที่ 4 คอลัมน์ A “เลขที่โครงการ”: เลขที่โครงการ 1.2.1 ซ้ำกับแถวที่ 2 โครงการหนึ่งบันทึกได้แถวเดียว "
        "กรุณาลบแถวที่ซ้ำ"]
    theirs = send(client, units.headers("กองช่าง"), plan, csv_of(ROAD_ROW, TRUCK_ROW))
    assert theirs.status_code == 422
    assert [e["message"] for e in theirs.get_json()["errors"]] == [
        "แถวที่ 3 คอลัมน์ A “เลขที่โครงการ”: โครงการนี้เป็นของสำนักปลัด ท่านบันทึกผลได้เฉพาะโครงการของหน่วยงานของท่าน"]
    own = send(client, units.headers("กองช่าง"), plan, csv_of(ROAD_ROW))
    assert own.status_code == 200 and own.get_json()["changed"][0]["number"] == "1.2.1"
    assert recorded(ctx, plan) == [{"project": "1.2.1", "progress": ROAD_RECORDED, "list_version": 0}]
    auditor = send(client, org.headers("auditor"), plan, csv_of(ROAD_ROW), preview=True)
    assert auditor.status_code == 422 and "เฉพาะโครงการของหน่วยงานของท่าน" in auditor.get_json()["errors"][0]["message"]


def test_a_file_of_fifty_thousand_rows_is_refused_by_the_row_limit(ctx, client, org, plan):
    rows = [[f"1.2.{n}", "", "ยังไม่ได้ดำเนินการ", "", "", "", "", "", ""] for n in range(50_000)]
    content = csv_of(*rows)
    assert len(content) < reading.MAX_BYTES
    response = send(client, org.headers("planning_office"), plan, content)
    assert response.status_code == 422
    messages = [e["message"] for e in response.get_json()["errors"]]
    assert messages == ["ไฟล์มีข้อมูลเกิน 2,000 แถว กรุณาแบ่งเป็นหลายไฟล์"]
    book = openpyxl.Workbook()  # as Excel saves it, with the sheet's dimension first
    book.active.append(HEADER[:3])
    for row in rows:
        book.active.append(row[:3])
    out = io.BytesIO()
    book.save(out)
    response = send(client, org.headers("planning_office"), plan, out.getvalue(), "progress.xlsx")
    assert [e["message"] for e in response.get_json()["errors"]] == messages
    assert recorded(ctx, plan) == []


def test_hostile_and_empty_files_unknown_plans_and_plans_not_announced(ctx, client, org, other_org, clock,
                                                                      announced):  # noqa: F811
    run, plan_id = announced
    headers = org.headers("planning_office")
    assert send(client, headers, plan_id, csv_of(ROAD_ROW)).status_code == 409  # not announced yet
    run.complete(plan_id, "announce_plan")
    assert send(client, other_org.headers("planning_office"), plan_id, csv_of(ROAD_ROW)).status_code == 404
    assert send(client, headers, 999999, csv_of(ROAD_ROW)).status_code == 404
    for content, filename, words in [(b"", "a.csv", "ไฟล์ว่างเปล่า"), (b"PK\x03\x04junk", "a.xlsx", "ไม่ใช่ไฟล์ Excel"),
                                     (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a.xls", ".xls"),
                                     (csv_of(header=["สิ่งใด", "อื่น"]), "a.csv", "ไม่พบแถวหัวตาราง"),
                                     (csv_of(header=HEADER[1:]), "a.csv", "ไม่พบคอลัมน์ “เลขที่โครงการ”"),
                                     (csv_of(), "a.csv", "ไม่พบข้อมูล")]:
        response = send(client, headers, plan_id, content, filename)
        assert response.status_code == 422, (filename, response.get_json())
        assert any(words in e["message"] for e in response.get_json()["errors"]), (words, response.get_json())
    no_file = client.post(f"/api/v1/plans/{plan_id}/progress/import", headers=headers)
    assert no_file.status_code == 422
    assert recorded(ctx, plan_id) == []


def test_apply_checks_again_and_records_all_or_none(ctx, client, org, plan):
    from service.commands import progress_import
    from service.errors import Invalid

    office = actor(ctx, f"{org.code}-planning_office")
    checked = progress_import.check(ctx, office, plan, csv_of(ROAD_ROW, TRUCK_ROW), "p.csv")
    assert checked.ok and len(checked.changes) == 2
    entries = checked.entries()
    entries[1] = {**entries[1], "reason": None}  # changed after the preview: refused, and so is the first
    entries[1].pop("reason")
    with pytest.raises(Invalid) as refused:
        progress_import.apply(ctx, office, plan, entries)
    assert [e["field"] for e in refused.value.errors] == ["/1/status"]
    for bad in ([], None, [1], [{"number": "1.2.1"}] * 2):
        with pytest.raises(Invalid):
            progress_import.apply(ctx, office, plan, bad)
    assert recorded(ctx, plan) == []
    assert progress_import.apply(ctx, office, plan, checked.entries())["changed"] == ["1.2.1", "1.1.1"]
    assert len(recorded(ctx, plan)) == 2


def test_a_unit_imports_on_its_progress_page_through_the_preview(ctx, client, org, plan):
    add_person(ctx, "somchai", org.code, ["unit"], "นายสมชาย ช่างดี")
    progress.assign_unit(ctx, "somchai", org.code, "กองช่าง")
    log_in(client, "somchai")
    page = client.get(f"/plans/{plan}/progress").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and f"/plans/{plan}/progress/template.xlsx" in page

    def upload(content):
        token = csrf_token(client, f"/plans/{plan}/progress")
        return client.post(f"/plans/{plan}/progress/import", data={"csrf_token": token, "file": (
            io.BytesIO(content), "progress.csv")}, content_type="multipart/form-data")

    bad = upload(csv_of(ROAD_ROW, TRUCK_ROW))
    shown = html.unescape(bad.get_data(as_text=True))
    assert bad.status_code == 422 and "โครงการนี้เป็นของสำนักปลัด" in shown and "แถวที่ 3" in shown
    good = upload(csv_of(ROAD_ROW))
    shown = html.unescape(good.get_data(as_text=True))
    assert good.status_code == 200 and "บันทึกผลการดำเนินงาน 1 โครงการ" in shown, shown
    assert recorded(ctx, plan) == []
    entries = re.search(r'name="entries" value="([^"]*)"', good.get_data(as_text=True)).group(1)
    applied = post_form(client, f"/plans/{plan}/progress/import/apply", {"entries": html.unescape(entries)},
                        page=f"/plans/{plan}/progress")
    assert applied.status_code == 302
    assert recorded(ctx, plan) == [{"project": "1.2.1", "progress": ROAD_RECORDED, "list_version": 0}]
    assert post_form(client, f"/plans/{plan}/progress/import/apply", {"entries": "not json"},
                     page=f"/plans/{plan}/progress").status_code == 422
