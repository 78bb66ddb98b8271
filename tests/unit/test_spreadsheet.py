"""service.taskforms (columns, reading, writing): columns from the schema, reading .xlsx/.csv with Thai errors,
hostile files, templates and exports. Big and hostile files are generated here, not stored."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest

from service.taskforms import columns, reading, writing

SCHEMA = json.loads((Path(__file__).parents[2] / "forms" / "collect_projects.schema.json").read_text("utf-8"))
TABLE = SCHEMA["properties"]["projects"]
ITEMS = TABLE["items"]
PROJECT = {"name": "โครงการก่อสร้างถนน คสล. หมู่ที่ 3", "activities": "กว้าง 4 ม. ยาว 200 ม.", "budget": 480000,
           "place": "หมู่ที่ 3", "responsible_unit": "กองช่าง", "strategy": "โครงสร้างพื้นฐาน",
           "plan_program": "อุตสาหกรรมและการโยธา", "source": "lao",
           "funding": "ordinance", "months": [1, 2, 3], "is_equipment": False}
CENTRAL = {**PROJECT, "name": "=HYPERLINK(\"http://evil\")", "source": "central", "agency": "กรมทางหลวงชนบท",
           "budget": 1250000.5, "months": [10, 11], "is_equipment": True, "equipment_category": "ค่าครุภัณฑ์"}
HEADER = ["ที่", "โครงการ", "งบประมาณ (บาท)", "สถานที่ดำเนินการ", "หน่วยงานรับผิดชอบหลัก", "ยุทธศาสตร์", "แผนงาน",
          "แหล่งที่มา", "ต.ค.", "พ.ย.", "ม.ค."]


def xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def row(name="ถนน", budget="480,000", place="หมู่ 1", program="การศึกษา", source="องค์กรปกครองส่วนท้องถิ่น",
        months=("", "", "x")):
    return ["1", name, budget, place, "กองช่าง", "โครงสร้างพื้นฐาน", program, source, *months]


def messages(preview) -> list[str]:
    return [str(p) for p in reading.iter_problems(preview)]


def test_columns_come_from_the_schema_so_a_new_field_gets_one():
    headers = [c.header for c in columns.columns(ITEMS)]
    assert headers[:6] == ["ที่", "โครงการ", "รายละเอียดของกิจกรรมที่เกิดขึ้นจากโครงการ", "งบประมาณ (บาท)",
                           "สถานที่ดำเนินการ", "หน่วยงานรับผิดชอบหลัก"]
    assert headers[headers.index("ต.ค."):headers.index("ก.ย.") + 1] == [
        "ต.ค.", "พ.ย.", "ธ.ค.", "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย."]
    assert {"ยุทธศาสตร์", "แผนงาน", "แหล่งที่มา", "ชื่อหน่วยงานเจ้าของโครงการ", "หมวด", "ประเภท"} <= set(headers)
    table = copy.deepcopy(TABLE)
    table["items"]["properties"]["indicator"] = {"type": "string", "title": "ตัวชี้วัด"}
    assert "ตัวชี้วัด" in [c.header for c in columns.columns(table["items"])]
    content = writing.write_xlsx(table["items"], [{**PROJECT, "indicator": "ถนนยาว 200 ม."}])
    assert reading.read(content, "a.xlsx", table).items[0]["indicator"] == "ถนนยาว 200 ม."
    assert columns.tables(SCHEMA) == [("projects", "โครงการ/กิจกรรม")]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_an_export_reads_back_as_the_same_rows(kind):
    write = writing.write_xlsx if kind == "xlsx" else writing.write_csv
    preview = reading.read(write(ITEMS, [PROJECT, CENTRAL]), f"a.{kind}", TABLE, 2564)
    assert preview.ok, messages(preview)
    assert preview.items == [PROJECT, CENTRAL]


def test_exports_never_carry_a_formula():
    book = openpyxl.load_workbook(io.BytesIO(writing.write_xlsx(ITEMS, [CENTRAL])))
    cell = book.active["B2"]
    assert cell.value == CENTRAL["name"] and cell.data_type == "s"
    csv_text = writing.write_csv(ITEMS, [CENTRAL]).decode("utf-8-sig")
    assert "\"'=HYPERLINK(" in csv_text and writing.write_csv(ITEMS, []).startswith(b"\xef\xbb\xbf")


def test_thai_digits_separators_labels_and_header_variants_are_read():
    content = xlsx([["บัญชีโครงการ/กิจกรรม/งบประมาณ"], [],
                    ["ลำดับ", "โครงการ/กิจกรรม", "งบประมาณ", "สถานที่ดำเนินการ", "หน่วยงานรับผิดชอบหลัก", "ยุทธศาสตร์",
                     "แผนงาน", "แหล่งที่มา", "ต.ค.63", "พ.ย. 2563", "ม.ค.๖๔", "ครุภัณฑ์"],
                    ["๑", "ถนน", "๑,๒๕๐,๐๐๐.๕๐", "หมู่ 1", "กองช่าง", "ส1", " การศึกษา ", "หน่วยงานราชการส่วนภูมิภาค", "✓",
                     "", "", "x"]])
    preview = reading.read(content, "a.xlsx", TABLE, 2564)
    assert messages(preview) == ["แถวที่ 4: กรุณากรอกชื่อหน่วยงานเจ้าของโครงการ (ไฟล์ไม่มีคอลัมน์ “ชื่อหน่วยงานเจ้าของโครงการ”)"]
    item = preview.items[0]
    assert item["budget"] == 1250000.5 and item["months"] == [10] and item["source"] == "regional"
    assert item["plan_program"] == "การศึกษา" and item["is_equipment"] is True


def test_the_two_row_header_of_the_printed_form_is_read():
    content = xlsx([["ที่", "โครงการ", "งบประมาณ (บาท)", "สถานที่ดำเนินการ", "หน่วยงานรับผิดชอบหลัก", "ยุทธศาสตร์",
                     "แผนงาน", "แหล่งที่มา", "พ.ศ. 2563", None, "พ.ศ. 2564"],
                    [None] * 8 + ["ต.ค.", "พ.ย.", "ม.ค."],
                    row()])
    preview = reading.read(content, "a.xlsx", TABLE, 2564)
    assert preview.ok, messages(preview)
    assert preview.items[0]["months"] == [1] and preview.rows[0].number == 3


def test_a_file_without_the_funding_column_or_with_a_blank_cell_takes_the_forms_default():
    """A select the form shows already chosen (its "default") is what a blank cell means; a value is still checked."""
    with_column = HEADER[:8] + ["แหล่งงบประมาณ"] + HEADER[8:]
    blank = row()[:8] + [None] + row()[8:]
    chosen = row()[:8] + ["จ่ายขาดเงินสะสม"] + row()[8:]
    wrong = row()[:8] + ["เงินกู้"] + row()[8:]
    assert reading.read(xlsx([HEADER, row()]), "a.xlsx", TABLE, 2564).items[0]["funding"] == "ordinance"
    preview = reading.read(xlsx([with_column, blank, chosen]), "a.xlsx", TABLE, 2564)
    assert preview.ok, messages(preview)
    assert [item["funding"] for item in preview.items] == ["ordinance", "accumulated_funds"]
    refused = reading.read(xlsx([with_column, wrong]), "a.xlsx", TABLE, 2564)
    assert not refused.ok and any("“เงินกู้” ไม่มีในรายการ" in m for m in messages(refused))


def test_errors_name_the_row_and_the_column():
    content = xlsx([HEADER, row(program="การท่องเที่ยว"), row(budget="สองล้าน", place=""),
                    row(budget=-5, months=("", "", "")), row(source="central")])
    preview = reading.read(content, "a.xlsx", TABLE, 2564)
    assert not preview.ok and preview.items
    found = messages(preview)
    assert found[0].startswith("แถวที่ 2 คอลัมน์ G “แผนงาน”: แผนงาน “การท่องเที่ยว” ไม่มีในรายการ เลือกได้เฉพาะ: บริหารงานทั่วไป")
    assert "แถวที่ 3 คอลัมน์ C “งบประมาณ (บาท)”: งบประมาณ (บาท) ต้องเป็นตัวเลข เช่น 1,250,000.50" in found
    assert "แถวที่ 3 คอลัมน์ D “สถานที่ดำเนินการ”: กรุณากรอกสถานที่ดำเนินการ" in found
    assert "แถวที่ 4 คอลัมน์ C “งบประมาณ (บาท)”: งบประมาณ (บาท) ต้องไม่น้อยกว่า 0" in found
    assert "แถวที่ 4 คอลัมน์ I–K “เดือนที่ดำเนินการ”: เดือนที่ดำเนินการ ต้องมีอย่างน้อย 1 รายการ" in found
    assert any(m.startswith("แถวที่ 5: กรุณากรอกชื่อหน่วยงานเจ้าของโครงการ") for m in found)
    assert preview.rows[0].bad == {6} and preview.rows[2].bad == {2, 8, 9, 10}


def test_header_problems_are_reported_once_not_on_every_row():
    wrong = [*HEADER[:5], "กลยุทธ์", *HEADER[6:8], "ต.ค.64", "พ.ย.", "พ.ย."]
    preview = reading.read(xlsx([wrong, row(), row()]), "a.xlsx", TABLE, 2564)
    found = messages(preview)
    assert len(found) == 4 and not any(r.errors for r in preview.rows)
    assert found[0].startswith("แถวที่ 1 คอลัมน์ F: ไม่รู้จักคอลัมน์ “กลยุทธ์”")
    assert "แถวที่ 1 คอลัมน์ I: คอลัมน์ “ต.ค.64” เป็นเดือนนอกปีงบประมาณ พ.ศ. 2564 (ต.ค. ของปีงบประมาณนี้คือ ต.ค. 2563)" in found
    assert "แถวที่ 1 คอลัมน์ K: คอลัมน์ “พ.ย.” ซ้ำกับคอลัมน์ J กรุณาเหลือไว้คอลัมน์เดียว" in found
    assert "แถวที่ 1: ไม่พบคอลัมน์ “ยุทธศาสตร์” ซึ่งต้องมี" in found


def test_months_in_one_column_are_read_too():
    content = xlsx([[*HEADER[:8], "เดือนที่ดำเนินการ"], [*row()[:8], "ต.ค., พ.ย., ก.ย."], [*row()[:8], "ต.ค., มกรา"]])
    preview = reading.read(content, "a.xlsx", TABLE)
    assert preview.items[0]["months"] == [10, 11, 9]
    assert messages(preview) == ["แถวที่ 3 คอลัมน์ I “เดือนที่ดำเนินการ”: “มกรา” ไม่ใช่เดือนที่ดำเนินการที่เลือกได้"]


def test_formulas_are_never_evaluated_only_their_saved_values_read():
    content = xlsx([HEADER, row(budget="=1000+250"), row(budget="=1000+250")])
    with zipfile.ZipFile(io.BytesIO(content)) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(b"<f>1000+250</f><v></v>", b"<f>1000+250</f><v>1250</v>", 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    preview = reading.read(out.getvalue(), "a.xlsx", TABLE)
    assert preview.items[0]["budget"] == 1250  # the value Excel saved
    assert messages(preview)[0].startswith("แถวที่ 3 คอลัมน์ C “งบประมาณ (บาท)”: เป็นสูตรที่ไม่มีค่าผลลัพธ์บันทึกไว้")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp874", "tis-620", "utf-16"])
def test_csv_in_the_encodings_thai_excel_saves(encoding):
    text = "\r\n".join(",".join(cells) for cells in [HEADER, row(budget="\"1,250,000.50\"", months=("x", "", ""))])
    preview = reading.read(text.encode(encoding), "a.csv", TABLE)
    assert preview.ok, messages(preview)
    assert preview.items[0]["budget"] == 1250000.5 and preview.items[0]["plan_program"] == "การศึกษา"


def test_semicolon_and_tab_separated_files_are_read():
    for separator in (";", "\t"):
        text = "\n".join(separator.join(cells) for cells in [HEADER, row()])
        assert reading.read(text.encode(), "a.csv", TABLE).ok


def zip_with(extra: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx([HEADER, row()]))) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, extra.pop(info.filename, None) or source.read(info))
        for name, data in extra.items():
            target.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(("content", "message"), [
    (lambda: zip_with({"xl/media/bomb.bin": b"\0" * (60 * 1024 * 1024)}), "ใหญ่ผิดปกติ"),
    (lambda: zip_with({"xl/media/dense.bin": b"\0" * (3 * 1024 * 1024)}), "ใหญ่ผิดปกติ"),  # ratio alone
    (lambda: zip_with({"xl/sharedStrings.xml": b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]><sst/>'}),
     "DOCTYPE"),
    (lambda: zip_with({"xl/workbook.xml": b"<not xml"}), "เปิดไฟล์ Excel นี้ไม่ได้"),
    (lambda: b"PK\x03\x04" + b"\0" * 200, "ไม่ใช่ไฟล์ Excel (.xlsx) ที่ถูกต้อง"),
    (lambda: xlsx([["a", "b"], [1, 2]]), "ไม่พบแถวหัวตาราง"),
    (lambda: xlsx([HEADER]), "ไม่พบข้อมูลใต้แถวหัวตาราง"),
    (lambda: b"", "ไฟล์ว่างเปล่า"),
    (lambda: b"%PDF-1.7\n\x00\x01\x02binary", "ไม่ใช่ไฟล์ตาราง"),
    (lambda: bytes(range(128, 256)) * 4, "ไม่ใช่ไฟล์ตาราง"),
    (lambda: b"a" * (reading.MAX_BYTES + 1), "เกินขนาดที่รับได้"),
])
def test_hostile_and_wrong_files_get_one_thai_sentence(content, message):
    preview = reading.read(content(), "upload", TABLE)
    assert not preview.ok and not preview.items
    assert message in " ".join(messages(preview))


def test_a_word_or_opendocument_file_is_named_as_such():
    for member, word in (("word/document.xml", "Word"), ("content.xml", "OpenDocument")):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr(member, "<x/>")
        assert word in messages(reading.read(out.getvalue(), "a.xlsx", TABLE))[0]


def test_more_rows_than_the_limit_are_refused():
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for _ in range(columns.MAX_ROWS + 5):
        sheet.append(row())
    out = io.BytesIO()
    book.save(out)
    preview = reading.read(out.getvalue(), "a.xlsx", TABLE)
    assert "ไฟล์มีข้อมูลเกิน 2,000 แถว กรุณาแบ่งเป็นหลายไฟล์" in messages(preview)
    assert len(preview.rows) == columns.MAX_ROWS and not preview.ok


def test_a_long_run_of_empty_rows_ends_the_table():
    content = xlsx([HEADER, row()] + [[None]] * 3 + [row(name="ถนนสายสอง")])
    assert len(reading.read(content, "a.xlsx", TABLE).items) == 2
    text = "\n".join([",".join(HEADER), ",".join(row())] + [""] * (reading.BLANK_RUN_END + 1) + [",".join(row())])
    assert len(reading.read(text.encode(), "a.csv", TABLE).items) == 1


def test_the_template_explains_each_column_and_offers_the_choices():
    book = openpyxl.load_workbook(io.BytesIO(writing.write_xlsx(ITEMS, [], "โครงการ/กิจกรรม", guide=True)))
    assert book.sheetnames == ["โครงการ กิจกรรม", "คำอธิบาย"]
    guide = [[c.value for c in r] for r in book["คำอธิบาย"].iter_rows(min_row=2)]
    assert any(r[0].endswith("เดือนที่ดำเนินการ") and r[1] == "ใช่" for r in guide)
    sources = [v for v in book.worksheets[0].data_validations.dataValidation if "หน่วยงานราชการส่วนกลาง" in v.formula1]
    assert sources and "I2:I2001" in str(sources[0].sqref)
    assert reading.read(writing.write_xlsx(ITEMS, [], guide=True), "t.xlsx", TABLE).problems
