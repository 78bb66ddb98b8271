"""Strategies and funding as lists, not free text (issue 13, item 8): an organization keeps its
development strategies (admins only), projects pick one (API, page and spreadsheet refuse any
other), a strategy dropped from the list stays valid where a plan recorded it, a project's funding
source is a closed list with its if/then requirements, and ผด.02 shows both as real plans do."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import openpyxl
import pytest

from service.commands import admin
from service.commands import strategies as commands
from service.taskforms import validation, writing

from .documents_queue import get_document
from .procedure import PROJECT, Procedure
from .test_documents import Pdf, key
from .test_web_spreadsheets import upload
from .test_web_tasks import collect_form
from .web import add_person, errors_beside, log_in, post_form

ROADS = "การพัฒนาด้านโครงสร้างพื้นฐาน"  # PROJECT's strategy
FARMS = "การพัฒนาด้านเศรษฐกิจและการเกษตร"
PEOPLE = "ยุทธศาสตร์ที่ 3 การพัฒนาด้านสังคมและคุณภาพชีวิต"  # a name that already says "ยุทธศาสตร์"
KEPT = [{"code": "1", "name": ROADS}, {"code": "2", "name": FARMS}, PEOPLE]


def strategies_url(code: str) -> str:
    return f"/api/v1/organizations/{code}/strategies"


def keep(client, org, body, role="admin"):
    return client.put(strategies_url(org.code), headers=org.headers(role), json=body)


def names(client, org, role="support_committee") -> list[str]:
    response = client.get(strategies_url(org.code), headers=org.headers(role))
    assert response.status_code == 200, response.get_json()
    return [s["name"] for s in response.get_json()["strategies"]]


def collecting(client, org) -> tuple[Procedure, int, str]:
    run = Procedure(client, org)
    plan = run.start()
    return run, plan["id"], plan["tasks"][0]["id"]


def complete(client, org, task_id, projects, role="support_committee"):
    return client.post(f"/api/v1/tasks/{task_id}/complete", headers=org.headers(role), json={"projects": projects})


def history(client, org, plan_id) -> list[dict]:
    return client.get(f"/api/v1/plans/{plan_id}/history", headers=org.headers("auditor")).get_json()["events"]


# --- The list ------------------------------------------------------------------------------
def test_the_list_is_kept_by_the_organizations_admin_or_a_national_admin_only(ctx, client, org, other_org):
    kept = keep(client, org, KEPT)
    assert kept.status_code == 200, kept.get_json()
    body = kept.get_json()
    assert [(s["position"], s["code"], s["name"]) for s in body["strategies"]] == [
        (1, "1", ROADS), (2, "2", FARMS), (3, "", PEOPLE)]
    assert body["kept_by"] == f"{org.code}-admin"
    assert names(client, org) == [ROADS, FARMS, PEOPLE]  # a member reads it

    for role in ("support_committee", "executive", "auditor"):
        refused = keep(client, org, ["อื่น"], role)
        assert refused.status_code == 403 and "ผู้ดูแลระบบ" in refused.get_json()["detail"], role
    other_admin = client.put(strategies_url(org.code), headers=other_org.headers("admin"), json=["อื่น"])
    assert other_admin.status_code == 403
    assert client.get(strategies_url(org.code), headers=other_org.headers("admin")).status_code == 404
    assert client.get(strategies_url("nosuchorg"), headers=org.headers("admin")).status_code == 404
    assert client.put(strategies_url(org.code), json=["อื่น"]).status_code == 401
    assert names(client, org) == [ROADS, FARMS, PEOPLE]  # nothing changed by the refused

    token = admin.add_user(ctx, "national-admin", None, ["admin"], with_token=True)
    national = client.put(strategies_url(org.code), headers={"Authorization": f"Bearer {token}"},
                          json={"strategies": [ROADS, FARMS]})
    assert national.status_code == 200 and names(client, org) == [ROADS, FARMS]
    assert names(client, other_org) == []  # each organization its own


@pytest.mark.parametrize("body, where, words", [
    ([ROADS, "  "], "/strategies/1/name", "กรุณาระบุชื่อยุทธศาสตร์"),
    ([""], "/strategies/0/name", "กรุณาระบุชื่อยุทธศาสตร์"),
    ([ROADS, FARMS, f" {ROADS} "], "/strategies/2/name", "ซ้ำกับลำดับที่ 1"),
    ([f"ยุทธศาสตร์ {i}" for i in range(5000)], "/strategies", "ไม่เกิน 100"),
    (["ก" * 2000], "/strategies/0/name", "ไม่เกิน 300 ตัวอักษร"),
    ("การพัฒนาด้านโครงสร้างพื้นฐาน", "/strategies", "ต้องเป็นรายการ"),
    ({"strategies": {"name": ROADS}}, "/strategies", "ต้องเป็นรายการ"),
    (None, "/strategies", "ต้องเป็นรายการ"),
    ([42], "/strategies/0/name", "กรุณาระบุชื่อยุทธศาสตร์"),
    ([{"name": ROADS, "colour": "red"}], "/strategies/0", "เฉพาะ name และ code"),
    ([{"name": ROADS, "code": "x" * 50}], "/strategies/0/code", "ไม่เกิน 20"),
    (["ถนน\nน้ำ"], "/strategies/0/name", "ข้อความบรรทัดเดียว"),
])
def test_bad_input_to_the_list_is_refused_in_thai_and_changes_nothing(client, org, body, where, words):
    assert keep(client, org, KEPT).status_code == 200
    response = keep(client, org, body)
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert any(e["field"] == where and words in e["message"] for e in problem["errors"]), problem
    assert names(client, org) == [ROADS, FARMS, PEOPLE]


def test_the_command_line_reads_a_text_file_one_strategy_a_line():
    assert commands.lines("1\tการพัฒนาด้านถนน\n\n2 | การพัฒนาด้านน้ำ\nการพัฒนาด้านคน\n") == [
        {"code": "1", "name": "การพัฒนาด้านถนน"}, {"code": "2", "name": "การพัฒนาด้านน้ำ"}, {"name": "การพัฒนาด้านคน"}]


# --- Projects pick one -----------------------------------------------------------------------
def test_a_project_picks_its_strategy_from_the_list_through_the_api(client, org):
    assert keep(client, org, KEPT).status_code == 200
    run, plan_id, task_id = collecting(client, org)
    schema = client.get(f"/api/v1/tasks/{task_id}", headers=org.headers("support_committee")).get_json()
    field = schema["form"]["schema"]["properties"]["projects"]["items"]["properties"]["strategy"]
    assert field["enum"] == [ROADS, FARMS, PEOPLE]  # the form as this organization fills it

    before = history(client, org, plan_id)
    typo = complete(client, org, task_id, [PROJECT, {**PROJECT, "strategy": "การพัฒนาด้านโครงสร้างพื้นฐาร"}])
    assert typo.status_code == 422
    errors = typo.get_json()["errors"]
    assert [e["field"] for e in errors] == ["/projects/1/strategy"]
    assert "ไม่อยู่ในรายการยุทธศาสตร์ที่องค์กรกำหนด" in errors[0]["message"]
    assert history(client, org, plan_id) == before  # nothing stored
    assert run.open_names(plan_id) == ["collect_projects"]

    assert complete(client, org, task_id, [PROJECT, {**PROJECT, "strategy": PEOPLE}]).status_code == 200


def test_a_strategy_dropped_from_the_list_stays_valid_where_the_plan_recorded_it(client, org):
    assert keep(client, org, KEPT).status_code == 200
    run, plan_id, task_id = collecting(client, org)
    assert complete(client, org, task_id, [{**PROJECT, "strategy": FARMS}]).status_code == 200
    assert keep(client, org, [ROADS]).status_code == 200  # the development plan changed

    draft = run.open_task(plan_id, "draft_plan")
    form = client.get(f"/api/v1/tasks/{draft['id']}", headers=org.headers("support_committee")).get_json()
    assert form["form"]["schema"]["properties"]["projects"]["items"]["properties"]["strategy"]["enum"] == [ROADS, FARMS]
    recorded = history(client, org, plan_id)[-1]["data"]["projects"]
    assert recorded[0]["strategy"] == FARMS  # never rewritten
    new_one = {**PROJECT, "name": "โครงการใหม่", "strategy": PEOPLE}  # dropped before this plan used it
    refused = client.post(f"/api/v1/tasks/{draft['id']}/complete", headers=org.headers("support_committee"),
                          json={"draft_prepared_on": "2020-09-22", "projects": [*recorded, new_one]})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "/projects/1/strategy"
    run.complete(plan_id, "draft_plan", {"draft_prepared_on": "2020-09-22", "projects": recorded})


def test_an_amendment_keeps_a_strategy_its_years_plan_recorded_after_the_list_dropped_it(client, org):
    """The announced plan's projects stay valid in its amendments; the list still bounds anything else."""
    from .test_amendment import SAMPLES as AMENDING
    from .test_amendment import Amendment

    assert keep(client, org, KEPT).status_code == 200
    _, _, task_id = collecting(client, org)
    assert complete(client, org, task_id, [{**PROJECT, "strategy": FARMS}]).status_code == 200
    assert keep(client, org, [ROADS]).status_code == 200  # the development plan changed

    amending = Amendment(client, org)
    this_year, next_year = amending.start()["id"], amending.start(fiscal_year=2565)["id"]
    sample = AMENDING["collect_changes"]
    changes = {**sample, "changed_projects": [{**sample["changed_projects"][0], "strategy": FARMS}]}
    task = amending.task(this_year, "collect_changes")
    strategy = task["form"]["schema"]["properties"]["changed_projects"]["items"]["properties"]["strategy"]
    assert strategy["enum"] == [ROADS, FARMS]
    elsewhere = {**changes, "added_projects": [{**changes["added_projects"][0], "strategy": PEOPLE}]}
    refused = amending.complete(this_year, "collect_changes", elsewhere, expect=422)  # never recorded this year
    assert [e["field"] for e in refused["errors"]] == ["/added_projects/0/strategy"]
    refused = amending.complete(next_year, "collect_changes", changes, expect=422)  # another year's plan
    assert [e["field"] for e in refused["errors"]] == ["/changed_projects/0/strategy"]
    amending.complete(this_year, "collect_changes", changes)


def test_an_organization_that_keeps_no_list_takes_the_strategy_as_typed(client, org):
    """Until its admin enters the list, the field is the form's free text (deployments keep working)."""
    _, _, task_id = collecting(client, org)
    form = client.get(f"/api/v1/tasks/{task_id}", headers=org.headers("support_committee")).get_json()
    assert "enum" not in form["form"]["schema"]["properties"]["projects"]["items"]["properties"]["strategy"]
    assert complete(client, org, task_id, [{**PROJECT, "strategy": "ยุทธศาสตร์ใดก็ได้"}]).status_code == 200


def test_the_task_page_offers_the_list_and_refuses_another_value_beside_the_field(ctx, app, client, org):
    assert keep(client, org, KEPT).status_code == 200
    add_person(ctx, "support1", org.code, ["support_committee"])
    _, plan_id, task_id = collecting(client, org)
    page_client = app.test_client()
    assert log_in(page_client, "support1").status_code == 302
    page = html.unescape(page_client.get(f"/tasks/{task_id}").get_data(as_text=True))
    assert '<select' in page and f'<option value="{FARMS}"' in page and f'<option value="{PEOPLE}"' in page

    before = history(client, org, plan_id)
    response = post_form(page_client, f"/tasks/{task_id}", collect_form([{**PROJECT, "strategy": "ถนนหนทาง"}]))
    assert response.status_code == 422
    beside = errors_beside(html.unescape(response.get_data(as_text=True)))
    assert "ไม่อยู่ในรายการยุทธศาสตร์ที่องค์กรกำหนด" in beside["f-projects-0-strategy"]
    assert history(client, org, plan_id) == before


def test_the_spreadsheet_template_offers_the_list_and_an_import_refuses_other_values(ctx, app, client, org):
    assert keep(client, org, KEPT).status_code == 200
    add_person(ctx, "support1", org.code, ["support_committee"])
    _, plan_id, task_id = collecting(client, org)
    one = app.test_client()
    assert log_in(one, "support1").status_code == 302
    template = one.get(f"/tasks/{task_id}/spreadsheet/projects/template.xlsx")
    assert template.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(template.data))
    sheet = book.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    column = openpyxl.utils.get_column_letter(headers.index("ยุทธศาสตร์") + 1)
    checks = [dv for dv in sheet.data_validations.dataValidation if any(
        str(r).startswith(f"{column}2") for r in dv.sqref.ranges)]
    assert checks, "the strategy column has a drop-down"
    assert checks[0].formula1 == '"' + ",".join([ROADS, FARMS, PEOPLE]) + '"'
    # a development plan's longer list (past Excel's 255 characters, names with commas) goes to a hidden sheet
    many = [f"การพัฒนาด้านที่ {i}, ตามแผนพัฒนาท้องถิ่น" for i in range(30)]
    items = {"type": "object", "properties": {"strategy": {"type": "string", "title": "ยุทธศาสตร์", "enum": many}}}
    long = openpyxl.load_workbook(io.BytesIO(writing.write_xlsx(items, [], guide=True)))
    listed = long[writing.CHOICES_SHEET]
    assert listed.sheet_state == "hidden"
    source = long.worksheets[0].data_validations.dataValidation[0].formula1
    assert source.startswith(f"'{writing.CHOICES_SHEET}'!")
    assert [c.value for row in listed[source.split("!")[1].replace("$", "")] for c in row] == many

    row = {"ที่": 1, "โครงการ": "โครงการซ่อมถนน", "งบประมาณ (บาท)": 100000, "สถานที่ดำเนินการ": "หมู่ที่ 1",
           "หน่วยงานรับผิดชอบหลัก": "กองช่าง", "ยุทธศาสตร์": "ยุทธศาสตร์ถนน", "แผนงาน": "อุตสาหกรรมและการโยธา",
           "แหล่งที่มา": "องค์กรปกครองส่วนท้องถิ่น", "ม.ค.": "✓"}
    for name, value in row.items():
        sheet.cell(row=2, column=headers.index(name) + 1, value=value)
    out = io.BytesIO()
    book.save(out)
    preview = upload(one, f"/tasks/{task_id}", out.getvalue())
    assert preview.status_code == 422
    text = html.unescape(preview.get_data(as_text=True))
    assert f"แถวที่ 2 คอลัมน์ {column} “ยุทธศาสตร์”" in text and "“ยุทธศาสตร์ถนน” ไม่มีในรายการ" in text

    sheet.cell(row=2, column=headers.index("ยุทธศาสตร์") + 1, value=FARMS)
    out = io.BytesIO()
    book.save(out)
    assert upload(one, f"/tasks/{task_id}", out.getvalue()).status_code == 200


# --- Funding -------------------------------------------------------------------------------------
@pytest.mark.parametrize("project, field, words", [
    ({**PROJECT, "funding": "transfer"}, "/projects/0/transfer_number", "กรุณากรอกครั้งที่โอนงบประมาณ"),
    ({**PROJECT, "funding": "transfer", "transfer_number": "   "}, "/projects/0/transfer_number",
     "กรุณากรอกครั้งที่โอนงบประมาณ"),
    ({**PROJECT, "funding": "other_agency"}, "/projects/0/agency", "กรุณากรอกชื่อหน่วยงานเจ้าของโครงการ"),
    ({**PROJECT, "funding": "loan"}, "/projects/0/funding", "แหล่งงบประมาณ ต้องเลือกจากรายการที่กำหนด"),
    ({**PROJECT, "funding": "transfer", "transfer_number": "1" * 51}, "/projects/0/transfer_number", "ไม่เกิน 50"),
    ({k: v for k, v in PROJECT.items() if k != "funding"}, "/projects/0/funding", "แหล่งงบประมาณ"),  # required
])
def test_funding_requires_what_its_kind_names(client, org, project, field, words):
    run, plan_id, task_id = collecting(client, org)
    response = complete(client, org, task_id, [project])
    assert response.status_code == 422
    found = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert field in found and words in found[field], found
    assert run.open_names(plan_id) == ["collect_projects"]


def test_the_plans_ผด02_shows_strategy_groups_and_funding(client, org, tmp_path):
    assert keep(client, org, KEPT).status_code == 200
    run, plan_id, task_id = collecting(client, org)
    projects = [
        {**PROJECT, "funding": "transfer", "transfer_number": "13/2567"},
        {**PROJECT, "name": "โครงการส่งเสริมอาชีพเกษตรกร", "strategy": FARMS, "funding": "accumulated_funds",
         "plan_program": "การเกษตร", "budget": 150000},
        {**PROJECT, "name": "โครงการเสริมผิวถนนลาดยาง", "strategy": PEOPLE, "source": "regional",
         "funding": "other_agency", "agency": "อบจ.พะเยา", "budget": 900000},
        {**PROJECT, "name": "โครงการอาหารกลางวัน", "strategy": PEOPLE, "funding": "subsidy", "budget": 30000},
        {**PROJECT, "name": "โครงการขุดลอกคลอง"},  # the municipality's own ordinance
    ]
    assert complete(client, org, task_id, projects).status_code == 200
    response = get_document(client, f"/api/v1/plans/{plan_id}/documents/plan.pdf", headers=org.headers("auditor"))
    assert response.status_code == 200
    text = Pdf(response.data, tmp_path / "plan.pdf").text
    for line in (f"ยุทธศาสตร์ที่ ๑ {ROADS}", f"ยุทธศาสตร์ที่ ๒ {FARMS}", "ยุทธศาสตร์ที่ ๓ การพัฒนาด้านสังคมและคุณภาพชีวิต",
                 f"๑. ยุทธศาสตร์{ROADS}",  # ผด.01
                 "(เทศบัญญัติงบประมาณ)", "(โอนงบครั้งที่ 13/2567)", "(จ่ายขาดเงินสะสม)", "(งบ อบจ.พะเยา)",
                 "(เงินอุดหนุน)"):
        assert key(line) in text, line
    assert key("ยุทธศาสตร์ยุทธศาสตร์") not in text and key("ยุทธศาสตร์ที่ ๓ ยุทธศาสตร์") not in text
    assert text.index(key(ROADS)) < text.index(key(FARMS)) < text.index(key("การพัฒนาด้านสังคม"))


def test_the_demo_organization_keeps_its_strategies_and_the_shipped_forms_pick_from_them(ctx):
    demo = json.loads((Path(__file__).parents[2] / "processes" / "demo.json").read_text("utf-8"))
    admin.load_demo(ctx, demo)
    kept = commands.listing(ctx, None, demo["organization"]["code"])["strategies"]
    assert [s["name"] for s in kept] == [s["name"] for s in demo["strategies"]] and ROADS == kept[0]["name"]
    for form in ("collect_projects", "draft_plan", "amendment_changes"):
        schema = json.loads((Path(__file__).parents[2] / "forms" / f"{form}.schema.json").read_text("utf-8"))
        assert validation.schema_problems(schema) == [], form
    wrong = {"type": "object", "properties": {"colour": {"type": "string", "x-choices": "colours"}}}
    assert "x-choices" in validation.schema_problems(wrong)[0]  # the designers' checks name what is wrong
