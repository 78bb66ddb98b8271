"""A form's list written as a spreadsheet in the layout of columns.py: the .xlsx template (with a
sheet explaining each column and drop-downs for choices) and exports as .xlsx or CSV, text
guarded so that Excel never runs it as a formula."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from service.taskforms.columns import FORMULA_START, MARK, MAX_ROWS, Column, choices, columns

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def write_xlsx(item_schema: Mapping[str, Any], items: Sequence[Mapping[str, Any]], sheet_title: str = "รายการ",
               guide: bool = False) -> bytes:
    """The rows as an .xlsx in the layout of ``columns``; with ``guide``, a second sheet explains
    each column and choice columns get a drop-down (the template)."""
    layout = columns(item_schema)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = _sheet_name(sheet_title)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F0")
    for index, column in enumerate(layout, start=1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = _width(column)
    sheet.freeze_panes = "C2"
    for row_index, item in enumerate(items, start=2):
        for index, column in enumerate(layout, start=1):
            value = row_index - 1 if column.kind == "number_of_row" else _cell_value(column, item)
            cell = sheet.cell(row=row_index, column=index, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text is never a formula, whatever it starts with
            if column.kind == "number" and column.schema.get("multipleOf") == 0.01:
                cell.number_format = "#,##0.00"
            elif column.kind == "date":
                cell.number_format = "dd/mm/yyyy"
            if column.kind in ("option", "flag", "number_of_row"):
                cell.alignment = Alignment(horizontal="center", vertical="top")
            elif column.kind == "text":
                cell.alignment = Alignment(vertical="top", wrap_text=True)
    if guide:
        _add_guide(book, sheet, layout, item_schema)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_csv(item_schema: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> bytes:
    """The rows as CSV in UTF-8 with a BOM (so Excel shows Thai), text guarded against formulas."""
    layout = columns(item_schema)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in layout])
    for number, item in enumerate(items, start=1):
        row = []
        for column in layout:
            value = number if column.kind == "number_of_row" else _cell_value(column, item)
            if isinstance(value, str) and value.startswith(FORMULA_START):
                value = "'" + value
            elif isinstance(value, float) and column.schema.get("multipleOf") == 0.01:
                value = f"{value:.2f}"
            row.append("" if value is None else value.isoformat() if isinstance(value, date) else value)
        writer.writerow(row)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def _cell_value(column: Column, item: Mapping[str, Any]) -> Any:
    value = item.get(column.key)
    if column.kind == "option":
        return MARK if isinstance(value, list) and column.option in value else None
    if column.kind == "flag":
        return MARK if value is True else None
    if value is None:
        return None
    if column.kind == "choice":
        return dict(choices(column.schema)).get(value, str(value))
    if column.kind == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
    if column.kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return str(value)


def _width(column: Column) -> float:
    if column.kind in ("option", "number_of_row"):
        return 6
    if column.kind in ("number", "date", "flag"):
        return 16
    return 18 if len(column.header) < 12 else 30


def _sheet_name(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "รายการ"


def _add_guide(book, sheet, layout: list[Column], item_schema: Mapping[str, Any]) -> None:
    required = set(item_schema.get("required", []))
    guide = book.create_sheet("คำอธิบาย")
    guide.append(["คอลัมน์", "ต้องกรอก", "คำอธิบาย", "ค่าที่ใช้ได้"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    described: set[str] = set()
    for index, column in enumerate(layout, start=1):
        letter = get_column_letter(index)
        if column.kind == "number_of_row":
            guide.append([f"{letter}: {column.header}", "", "ลำดับที่ของรายการ ระบบไม่นำเข้า", ""])
            continue
        if column.kind == "option":
            if column.key in described:
                continue
            described.add(column.key)
            letters = [get_column_letter(i) for i, c in enumerate(layout, start=1) if c.key == column.key]
            guide.append([f"{letters[0]}–{letters[-1]}: {column.group}", "ใช่" if column.key in required else "",
                          column.schema.get("description", ""), "ใส่เครื่องหมายใดก็ได้ (เช่น ✓) ในช่องที่เลือก"])
            continue
        allowed = ""
        if column.kind == "choice":
            labels = [label for _, label in choices(column.schema)]
            allowed = ", ".join(labels)
            formula = '"' + ",".join(labels) + '"'
            if len(formula) > 255 or any("," in label or '"' in label for label in labels):
                formula = _listed(book, labels)  # too long to write inline (e.g. an organization's strategies)
            check = DataValidation(type="list", formula1=formula, allow_blank=True)
            check.error, check.errorTitle = f"กรุณาเลือก{column.header}จากรายการ", column.header
            check.showErrorMessage = True
            sheet.add_data_validation(check)
            check.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        elif column.kind == "flag":
            allowed = "ใส่เครื่องหมาย (เช่น ✓) เมื่อใช่ เว้นว่างเมื่อไม่ใช่"
        elif column.kind == "number":
            allowed = "ตัวเลข เช่น 1,250,000.50"
        elif column.kind == "date":
            allowed = "วันที่ เช่น 25/09/2563"
        guide.append([f"{letter}: {column.header}", "ใช่" if column.key in required else "",
                      column.schema.get("description", ""), allowed])
    for letter, width in zip("ABCD", (36, 10, 70, 60), strict=True):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)


CHOICES_SHEET = "ตัวเลือก"


def _listed(book, labels: list[str]) -> str:
    """A drop-down's choices written in a column of a hidden sheet; the range that names them."""
    if CHOICES_SHEET in book.sheetnames:
        sheet = book[CHOICES_SHEET]
    else:
        sheet = book.create_sheet(CHOICES_SHEET)
        sheet.sheet_state = "hidden"
    letter = get_column_letter(sheet.max_column + (1 if sheet.max_row > 1 or sheet["A1"].value is not None else 0))
    for row, label in enumerate(labels, start=1):
        cell = sheet[f"{letter}{row}"]
        cell.value = label
        cell.data_type = "s"  # a choice is never a formula
    return f"'{CHOICES_SHEET}'!${letter}$1:${letter}${max(len(labels), 1)}"
