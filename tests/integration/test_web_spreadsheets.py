"""Projects from a spreadsheet on the collecting step: upload, preview with errors, take into the
form, submit; template and exports; hostile files answer in Thai and change nothing."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest

from service.taskforms import reading, writing

from .procedure import SAMPLES, Procedure
from .web import add_person, csrf_token, log_in, post_form

SCHEMA = json.loads((Path(__file__).parents[2] / "forms" / "collect_projects.schema.json").read_text("utf-8"))
ITEMS = SCHEMA["properties"]["projects"]["items"]
PROJECTS = SAMPLES["collect_projects"]["projects"]


@pytest.fixture
def people(ctx, org, other_org):
    add_person(ctx, "support1", org.code, ["support_committee"], "สมศรี หนึ่ง")
    add_person(ctx, "devcom", org.code, ["development_committee"])
    add_person(ctx, "stranger", other_org.code, ["support_committee"])


@pytest.fixture
def task(client, org, people):
    return f"/tasks/{Procedure(client, org).start()['tasks'][0]['id']}"


def as_user(app, username):
    client = app.test_client()
    assert log_in(client, username).status_code == 302
    return client


def upload(client, task, content, filename="projects.xlsx", token=True):
    """A multipart body built as bytes: the test client would spool a big one to a temporary file
    that it leaves open when the server answers 413."""
    fields = f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf_token(client, task)}\r\n' \
        if token else ""
    body = (fields + f'--b\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n--b--\r\n"
    return client.post(f"{task}/spreadsheet/projects", data=body, content_type="multipart/form-data; boundary=b")


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_clean_file_is_previewed_taken_into_the_form_and_submitted(app, client, org, task):
    one = as_user(app, "support1")
    page = text_of(one.get(task))
    assert "ดาวน์โหลดแม่แบบ (.xlsx)" in page and 'enctype="multipart/form-data"' in page

    preview = upload(one, task, writing.write_xlsx(ITEMS, PROJECTS))
    shown = text_of(preview)
    assert preview.status_code == 200 and "ไฟล์ถูกต้อง" in shown and "นำ 2 รายการเข้าแบบฟอร์ม" in shown
    assert "โครงการจัดซื้อรถบรรทุกน้ำ" in shown and "หน่วยงานราชการส่วนกลาง" in shown
    rows = re.search(r'name="rows" value="([^"]*)"', preview.get_data(as_text=True)).group(1)

    form = post_form(one, f"{task}/spreadsheet/projects/apply", {"rows": html.unescape(rows), "filename": "a.xlsx"},
                     page=task)
    filled = text_of(form)
    assert form.status_code == 200 and "เข้าแบบฟอร์มแล้ว ยังไม่ได้บันทึก" in filled
    assert 'value="โครงการจัดซื้อรถบรรทุกน้ำ"' in filled and 'value="2,500,000.50"' in filled
    history = client.get("/api/v1/plans/1/history", headers=org.headers("auditor")).get_json()
    assert [e["kind"] for e in history["events"]] == ["plan_started"]  # nothing saved yet

    # the official submits the filled form as usual: what the browser sends back is what was imported
    fields = dict(re.findall(r'name="(/projects/\d+/(?:name|budget|place|responsible_unit|strategy|agency))"'
                             r'\s+value="([^"]*)"', filled))
    fields.update(re.findall(r'name="(/projects/\d+/activities)"[^>]*>([^<]*)</textarea>', filled))
    for i, project in enumerate(PROJECTS):
        fields[f"/projects/{i}/plan_program"] = project["plan_program"]
        fields[f"/projects/{i}/source"] = project["source"]
        fields[f"/projects/{i}/funding"] = project["funding"]  # a select, as the two above
        fields[f"/projects/{i}/months"] = [str(m) for m in project["months"]]
    assert post_form(one, task, fields).status_code == 302
    history = client.get("/api/v1/plans/1/history", headers=org.headers("auditor")).get_json()
    assert history["events"][-1]["data"] == SAMPLES["collect_projects"]


def test_errors_are_listed_by_row_and_column_and_nothing_is_taken(app, task):
    one = as_user(app, "support1")
    csv_text = ("ที่,โครงการ,งบประมาณ (บาท),สถานที่ดำเนินการ,หน่วยงานรับผิดชอบหลัก,ยุทธศาสตร์,แผนงาน,แหล่งที่มา,"
                "ชื่อหน่วยงานเจ้าของโครงการ,ต.ค.63,พ.ย.63,ม.ค.64\n"
                "1,ถนนสายหนึ่ง,\"1,250,000.50\",หมู่ 1,กองช่าง,โครงสร้างพื้นฐาน,การท่องเที่ยว,องค์กรปกครองส่วนท้องถิ่น,,x,,\n"
                "๒,ถนนสายสอง,สองล้าน,,กองช่าง,โครงสร้างพื้นฐาน,การศึกษา,หน่วยงานราชการส่วนกลาง,,,x,\n"
                "3,ถนนสายสาม,๑๒๕๐,หมู่ 2,กองช่าง,โครงสร้างพื้นฐาน,การศึกษา,lao,,,,\n")
    response = upload(one, task, csv_text.encode("utf-8-sig"), "projects.csv")
    page = text_of(response)
    assert response.status_code == 422 and "ยังไม่ได้นำเข้ารายการใด" in page and 'name="rows"' not in page
    assert "แถวที่ 2 คอลัมน์ G “แผนงาน”: แผนงาน “การท่องเที่ยว” ไม่มีในรายการ" in page
    assert "แถวที่ 3 คอลัมน์ C “งบประมาณ (บาท)”: งบประมาณ (บาท) ต้องเป็นตัวเลข" in page
    assert "แถวที่ 3 คอลัมน์ D “สถานที่ดำเนินการ”: กรุณากรอกสถานที่ดำเนินการ" in page
    assert "แถวที่ 3 คอลัมน์ I “ชื่อหน่วยงานเจ้าของโครงการ”: กรุณากรอกชื่อหน่วยงานเจ้าของโครงการ" in page
    assert "แถวที่ 4 คอลัมน์ J–L “เดือนที่ดำเนินการ”: เดือนที่ดำเนินการ ต้องมีอย่างน้อย 1 รายการ" in page
    assert "แถวที่ 2" in page and page.count('class="bad"') == 7


@pytest.mark.parametrize(("content", "filename", "message"), [
    (b"", "empty.xlsx", "ไฟล์ว่างเปล่า"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv", "ไม่ใช่ไฟล์ตาราง"),
    (b"PK\x03\x04 not really a zip", "broken.xlsx", "ไม่ใช่ไฟล์ Excel (.xlsx) ที่ถูกต้อง"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "ไฟล์ .xls (Excel 97–2003)"),
    ("ชื่อ,ที่อยู่\nก,ข\n".encode(), "people.csv", "ไม่พบแถวหัวตาราง"),
    (b"x" * (reading.MAX_BYTES + 1), "big.csv", "เกินขนาดที่รับได้"),
])
def test_files_that_are_not_project_lists_get_a_thai_answer(app, task, content, filename, message):
    response = upload(as_user(app, "support1"), task, content, filename)
    assert response.status_code == 422 and message in text_of(response)


def test_no_file_and_an_oversized_request_are_answered_in_thai(app, task):
    one = as_user(app, "support1")
    response = one.post(f"{task}/spreadsheet/projects", data={"csrf_token": csrf_token(one, task)})
    assert response.status_code == 422 and "กรุณาเลือกไฟล์" in text_of(response)
    huge = upload(one, task, b"x" * (11 * 1024 * 1024), "huge.csv", token=False)
    assert huge.status_code == 413 and "ใหญ่เกินไป" in text_of(huge)


def test_only_members_of_the_role_may_upload_and_others_cannot_see_the_list(app, task):
    content = writing.write_xlsx(ITEMS, PROJECTS)
    assert upload(as_user(app, "devcom"), task, content).status_code == 403
    stranger = as_user(app, "stranger")
    assert stranger.get(f"{task}/spreadsheet/projects/export.csv").status_code == 404
    assert as_user(app, "support1").get(f"{task}/spreadsheet/nothing/template.xlsx").status_code == 404


def test_rows_that_did_not_come_from_a_checked_file_are_refused(app, task):
    one = as_user(app, "support1")
    bad = json.dumps([{"name": "x", "budget": "lots"}], ensure_ascii=False)
    assert post_form(one, f"{task}/spreadsheet/projects/apply", {"rows": bad}, page=task).status_code == 400
    assert post_form(one, f"{task}/spreadsheet/projects/apply", {"rows": "not json"}, page=task).status_code == 400


def test_template_and_exports_use_the_same_layout(app, task):
    one = as_user(app, "support1")
    template = one.get(f"{task}/spreadsheet/projects/template.xlsx")
    assert template.status_code == 200 and template.mimetype == writing.XLSX_TYPE
    assert "filename*=UTF-8''" in template.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(template.data))
    headers = [c.value for c in book.worksheets[0][1]]
    assert headers[:6] == ["ที่", "โครงการ", "รายละเอียดของกิจกรรมที่เกิดขึ้นจากโครงการ", "งบประมาณ (บาท)",
                           "สถานที่ดำเนินการ", "หน่วยงานรับผิดชอบหลัก"]
    assert "ต.ค." in headers and "ก.ย." in headers and "แหล่งที่มา" in headers and book.sheetnames[1] == "คำอธิบาย"

    # the list typed in the form (not yet saved), exported with the form's own export button
    from .test_web_tasks import collect_form

    typed = one.post(f"{task}/spreadsheet/projects/export.xlsx",
                     data={**collect_form(PROJECTS), "csrf_token": csrf_token(one, task)})
    assert typed.status_code == 200
    again = upload(one, task, typed.data)
    assert again.status_code == 200 and "นำ 2 รายการเข้าแบบฟอร์ม" in text_of(again)

    saved = one.get(f"{task}/spreadsheet/projects/export.csv")
    assert saved.data.startswith(b"\xef\xbb\xbf") and saved.mimetype == "text/csv"
    assert saved.data.decode("utf-8-sig").splitlines()[0].startswith("ที่,โครงการ,")
