"""A progress report's figures (service/tracking/reports.py, given as plain data) as an .xlsx: the
summary by strategy and by plan-program, the projects with their planned and actual months, and
those not carried out. Text is never a formula; the same figures give the same bytes."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from service.thai.dates import MONTHS_SHORT

_MONEY = "#,##0.00"
_HEAD = PatternFill("solid", fgColor="DDE7F0")
_PLANNED = PatternFill("solid", fgColor="BFBFBF")
_FISCAL_MONTHS = (10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9)
_SUMMARY = (("projects", "โครงการตามแผน"), ("done", "done"), ("in_progress", "in_progress"),
            ("not_started", "not_started"), ("cancelled", "cancelled"), ("done_percent", "ร้อยละที่แล้วเสร็จ"),
            ("budget", "งบประมาณ (บาท)"), ("contracted", "วงเงินตามสัญญา (บาท)"), ("disbursed", "เบิกจ่ายแล้ว (บาท)"),
            ("disbursed_percent", "ร้อยละการเบิกจ่าย"))
_AMOUNTS = {"budget", "contracted", "disbursed"}
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def report_xlsx(figures: dict[str, Any]) -> bytes:
    book = openpyxl.Workbook()
    summary = book.active
    summary.title = "สรุปตามยุทธศาสตร์"
    _summary(summary, figures, _strategy_rows(figures), "ยุทธศาสตร์/แผนงาน")
    _summary(book.create_sheet("สรุปตามแผนงาน"), figures,
             [(f"แผนงาน{p['name']}", p, False) for p in figures["programs"]], "แผนงาน")
    _projects(book.create_sheet("รายโครงการ"), figures)
    _not_carried_out(book.create_sheet("โครงการที่ไม่ได้ดำเนินการ"), figures)
    moment = datetime.combine(figures["cutoff"], datetime.min.time())
    book.properties.created = moment  # not the time it was made: the same bytes (see _fixed_zip)
    out = io.BytesIO()
    book.save(out)
    return _fixed_zip(out.getvalue(), moment)


def _title(sheet: Worksheet, figures: dict[str, Any], width: int) -> int:
    organization = figures["organization"]
    lines = [f"{figures['title']} ประจำปีงบประมาณ พ.ศ. {figures['fiscal_year']}",
             f"{organization['name']} {organization.get('province') or ''}".strip(),
             f"ข้อมูล ณ วันที่ {_day(figures['cutoff'])} บัญชีโครงการ{figures['list_label']}"]
    for row, line in enumerate(lines, start=1):
        _text(sheet, row, 1, line).font = Font(bold=row == 1)
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    return len(lines) + 2


def _header(sheet: Worksheet, row: int, titles: Sequence[str], widths: Sequence[float]) -> None:
    for column, (title, width) in enumerate(zip(titles, widths, strict=True), start=1):
        cell = _text(sheet, row, column, title)
        cell.font, cell.fill = Font(bold=True), _HEAD
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = sheet.cell(row=row + 1, column=2)


def _strategy_rows(figures: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    rows = []
    for strategy in figures["strategies"]:
        equipment = strategy["is_equipment"]
        rows.append((strategy["name"] if equipment else f"{strategy['number']}. {strategy['name']}", strategy, True))
        rows += [(f"  {'' if equipment else strategy['number'] + '.'}{p['number']} แผนงาน{p['name']}", p, False)
                 for p in strategy["programs"]]
    return rows


def _summary(sheet: Worksheet, figures: dict[str, Any], rows: list[tuple[str, dict[str, Any], bool]],
             first: str) -> None:
    start = _title(sheet, figures, len(_SUMMARY) + 1)
    titles = [first] + [figures["statuses"].get(title, title) for _, title in _SUMMARY]
    _header(sheet, start, titles, [44] + [14] * len(_SUMMARY))
    for offset, (name, values, bold) in enumerate([*rows, ("รวมทั้งสิ้น", figures["totals"], True)], start=1):
        _text(sheet, start + offset, 1, name).font = Font(bold=bold)
        for column, (key, _) in enumerate(_SUMMARY, start=2):
            _number(sheet, start + offset, column, values[key], key in _AMOUNTS).font = Font(bold=bold)


def _projects(sheet: Worksheet, figures: dict[str, Any]) -> None:
    months = [MONTHS_SHORT[m - 1] for m in _FISCAL_MONTHS]
    titles = ["ลำดับที่", "โครงการ", "หน่วยงานรับผิดชอบหลัก", "ยุทธศาสตร์", "แผนงาน", "งบประมาณ (บาท)",
              "วงเงินตามสัญญา (บาท)", "เบิกจ่ายแล้ว (บาท)", "ร้อยละการเบิกจ่าย", "สถานะ", "วันที่เริ่มดำเนินการ",
              "วันที่แล้วเสร็จ", "เดือนตามแผน", "เดือนที่ดำเนินการจริง", *months, "หมายเหตุ"]
    start = _title(sheet, figures, len(titles))
    _header(sheet, start, titles, [10, 44, 20, 30, 24, 15, 15, 15, 10, 18, 14, 14, 20, 20, *[6] * 12, 40])
    for row, p in enumerate(figures["projects"], start=start + 1):
        values = [p["number"], p["name"], p["unit"], p["strategy"], p["plan_program"]]
        for column, value in enumerate(values, start=1):
            _text(sheet, row, column, value)
        for column, key in enumerate(("budget", "contracted", "disbursed", "disbursed_percent"), start=6):
            _number(sheet, row, column, p[key], key in _AMOUNTS)
        _text(sheet, row, 10, p["status_title"])
        _text(sheet, row, 11, _day(p["started_on"]))
        _text(sheet, row, 12, _day(p["finished_on"]))
        _text(sheet, row, 13, ", ".join(MONTHS_SHORT[m - 1] for m in p["months"]))
        _text(sheet, row, 14, ", ".join(MONTHS_SHORT[m - 1] for m in p["months_worked"]))
        for column, month in enumerate(_FISCAL_MONTHS, start=15):
            planned, worked = month in p["months"], month in p["months_worked"]
            cell = _text(sheet, row, column, "●" if worked else "")  # the actual bar; the planned one is the fill
            cell.alignment = Alignment(horizontal="center")
            if planned:
                cell.fill = _PLANNED
        _text(sheet, row, 27, p["note"])
    _text(sheet, start + len(figures["projects"]) + 2, 1,
          "เดือน: ช่องสีเทาคือเดือนที่ดำเนินการตามแผน ● คือเดือนที่ดำเนินการจริง")


def _not_carried_out(sheet: Worksheet, figures: dict[str, Any]) -> None:
    titles = ["ลำดับที่", "โครงการ", "หน่วยงานรับผิดชอบหลัก", "งบประมาณ (บาท)", "สถานะ", "เหตุผล"]
    start = _title(sheet, figures, len(titles))
    _header(sheet, start, titles, [10, 44, 20, 15, 18, 60])
    for row, p in enumerate(figures["not_carried_out"], start=start + 1):
        for column, key in enumerate(("number", "name", "unit"), start=1):
            _text(sheet, row, column, p[key])
        _number(sheet, row, 4, p["budget"], True)
        _text(sheet, row, 5, p["status_title"])
        _text(sheet, row, 6, p["reason"] or "ไม่ได้บันทึกเหตุผล")


def _text(sheet: Worksheet, row: int, column: int, value: str) -> Any:
    cell = sheet.cell(row=row, column=column, value=value)
    cell.data_type = "s"  # text is never a formula, whatever it starts with
    return cell


def _number(sheet: Worksheet, row: int, column: int, value: Any, money: bool) -> Any:
    cell = sheet.cell(row=row, column=column, value=value)
    cell.number_format = _MONEY if money else ("0.00" if not isinstance(value, int) else "0")
    return cell


def _day(value: date | str | None) -> str:
    """A day as people read it: 31/03/2564 (Buddhist Era)."""
    if not value:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return f"{day.day:02d}/{day.month:02d}/{day.year + 543}"


def _fixed_zip(data: bytes, moment: datetime) -> bytes:
    """The workbook again with every member, and its "modified" property, dated ``moment``: zip
    entries carry the time they were written and openpyxl stamps the time it saved, which would make
    each download differ."""
    out = io.BytesIO()
    stamp = rb"\g<1>" + f"{moment:%Y-%m-%dT%H:%M:%SZ}".encode() + rb"\g<2>"
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(stamp, content)
            fixed = zipfile.ZipInfo(info.filename, date_time=moment.timetuple()[:6])
            fixed.compress_type, fixed.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            target.writestr(fixed, content)
    return out.getvalue()
