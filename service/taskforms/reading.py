"""Reading an uploaded .xlsx or .csv into a form's list, in the layout of columns.py, with Thai
errors by row and column. Uploads are hostile until proven otherwise: sizes are bounded before
parsing, formulas are never evaluated (only the values Excel saved are read), and nothing here
raises on a bad file: every problem becomes a sentence in the preview."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter

from service.engine import safexml
from service.errors import Invalid
from service.taskforms import fields, validation
from service.taskforms.columns import FORMULA_START, MAX_ROWS, ROW_NUMBER_HEADERS, Column, choices, is_month, readable
from service.thai.dates import BE_OFFSET

MAX_BYTES = 5 * 1024 * 1024
MAX_COLUMNS = 60
MAX_UNZIPPED = 50 * 1024 * 1024  # an .xlsx of 5 MB holding more than this is a zip bomb
MAX_RATIO = 200  # compression ratio above which a large member is a zip bomb
MAX_MEMBERS = 500
HEADER_SEARCH = 15  # the header row is looked for in the first rows (titles may stand above it)
BLANK_RUN_END = 1000  # this many empty rows in a row end the table
NO_WORDS = {"ไม่", "ไม่ใช่", "no", "n", "false", "0", "-", "—", "✗"}


@dataclass
class Problem:
    message: str
    row: int | None = None  # the row number in the file
    column: str = ""  # the column letter(s) in the file, e.g. "D" or "L–W"
    header: str = ""

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"แถวที่ {self.row}")
        if self.column:
            where.append(f"คอลัมน์ {self.column}" + (f" “{self.header}”" if self.header else ""))
        return f"{' '.join(where)}: {self.message}" if where else self.message


@dataclass
class Row:
    number: int
    cells: list[str]  # as the file shows them, one per recognised column
    errors: list[Problem] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)  # indices of the cells in error


@dataclass
class Preview:
    """What a file holds, row by row, with every problem; ``items`` are the rows as form data."""

    filename: str
    headers: list[tuple[str, str]] = field(default_factory=list)  # (column letter, header), in file order
    keys: list[str] = field(default_factory=list)  # the field each of those columns fills ("" for the row number)
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # about the whole file or its header
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows) and not any(row.errors for row in self.rows)

    @property
    def error_count(self) -> int:
        return len(self.problems) + sum(len(row.errors) for row in self.rows)


class _Unreadable(Exception):
    """The file cannot be read as a table; the message says why, in Thai."""


def read(content: bytes, filename: str, table_schema: Mapping[str, Any], fiscal_year: int | None = None) -> Preview:
    """Read an uploaded .xlsx or .csv into the rows of ``table_schema`` (an array of objects).
    With ``fiscal_year`` (B.E.), a year written in a month's header must be that month's year."""
    preview = Preview(filename)
    try:
        known = readable(table_schema.get("items", {}))
        _fill(preview, _grid(content, filename, known), known, table_schema, fiscal_year)
    except _Unreadable as err:
        preview.problems.append(Problem(str(err)))
    return preview


@dataclass
class _Grid:
    rows: list[tuple[int, list[Any]]]  # (row number, cell values), empty rows left out
    formulas_without_value: set[tuple[int, int]] = field(default_factory=set)  # (row, column index)


def _grid(content: bytes, filename: str, known: list[Column]) -> _Grid:
    if not content:
        raise _Unreadable("ไฟล์ว่างเปล่า ไม่มีข้อมูล")
    if len(content) > MAX_BYTES:
        raise _Unreadable(f"ไฟล์มีขนาด {len(content) / 1024 / 1024:,.1f} MB เกินขนาดที่รับได้ "
                          f"({MAX_BYTES // 1024 // 1024} MB) กรุณาแบ่งเป็นหลายไฟล์หรือลบรูปภาพและแผ่นงานที่ไม่ใช้")
    name = filename.lower()
    if content.startswith(b"PK\x03\x04"):
        return _xlsx_grid(content, known)
    if content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") or name.endswith(".xls"):
        raise _Unreadable("ไฟล์ .xls (Excel 97–2003) ระบบอ่านไม่ได้ กรุณาเปิดใน Excel แล้วบันทึกเป็น "
                          "“Excel Workbook (.xlsx)” หรือ “CSV UTF-8” แล้วนำเข้าอีกครั้ง")
    if name.endswith((".xlsx", ".xlsm")):
        raise _Unreadable("ไฟล์นี้ไม่ใช่ไฟล์ Excel (.xlsx) ที่ถูกต้อง อาจเสียหายหรือเปลี่ยนนามสกุลมาจากไฟล์ชนิดอื่น")
    return _csv_grid(content)


def _xlsx_grid(content: bytes, known: list[Column]) -> _Grid:
    _check_zip(content)
    try:
        values = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception as err:  # noqa: BLE001 - any failure of a hostile file is "cannot be read"
        raise _Unreadable("เปิดไฟล์ Excel นี้ไม่ได้ ไฟล์อาจเสียหาย หรือไม่ใช่ไฟล์ .xlsx "
                          "กรุณาเปิดใน Excel แล้วบันทึกใหม่เป็น .xlsx") from err
    try:
        first: list[tuple[int, list[Any]]] = []
        for index, sheet in enumerate(values.worksheets[:20]):
            rows = _table_rows(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True))
            if index == 0:
                first = rows
            if not rows or _find_header(rows, known) is None:
                continue
            # formula cells whose value Excel never saved read as empty: say so rather than guess
            in_formula = {(cell.row, cell.column - 1)
                          for row in formulas.worksheets[index].iter_rows(max_row=rows[-1][0], max_col=MAX_COLUMNS)
                          for cell in row if getattr(cell, "data_type", None) == "f"}
            empty = {(number, i) for number, cells in rows for i, value in enumerate(cells) if value is None}
            return _Grid(rows, in_formula & empty)
        return _Grid(first)  # no sheet has the header: the first sheet's rows, to say so
    except _Unreadable:
        raise
    except Exception as err:  # noqa: BLE001
        raise _Unreadable("อ่านข้อมูลในไฟล์ Excel นี้ไม่ได้ ไฟล์อาจเสียหาย กรุณาเปิดใน Excel แล้วบันทึกใหม่") from err
    finally:
        values.close()
        formulas.close()


def _check_zip(content: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise _Unreadable("ไฟล์นี้ไม่ใช่ไฟล์ Excel (.xlsx) ที่ถูกต้อง อาจเสียหายหรือดาวน์โหลดมาไม่ครบ") from err
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        if "mimetype" in names or "content.xml" in names:
            raise _Unreadable("ไฟล์นี้เป็นไฟล์ OpenDocument (.ods) กรุณาบันทึกเป็น .xlsx หรือ .csv แล้วนำเข้าอีกครั้ง")
        if "word/document.xml" in names:
            raise _Unreadable("ไฟล์นี้เป็นเอกสาร Word ไม่ใช่ตาราง กรุณาใช้ไฟล์ Excel (.xlsx) หรือ .csv")
        raise _Unreadable("ไฟล์นี้เป็นไฟล์บีบอัด (zip) แต่ไม่ใช่ไฟล์ Excel (.xlsx)")
    too_big = "ไฟล์ Excel นี้เมื่อคลายการบีบอัดแล้วมีขนาดใหญ่ผิดปกติ ระบบจึงไม่เปิดอ่าน กรุณาตรวจสอบไฟล์"
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNZIPPED:
        raise _Unreadable(too_big)
    if any(m.file_size > 1024 * 1024 and m.file_size > MAX_RATIO * max(m.compress_size, 1) for m in members):
        raise _Unreadable(too_big)
    for member in members:
        if member.filename.endswith((".xml", ".rels")) and _declares_doctype(archive, member):
            raise _Unreadable("ไฟล์ Excel นี้มีโครงสร้างที่ไม่ปลอดภัย (มีการประกาศ DOCTYPE) ระบบจึงไม่เปิดอ่าน")


def _declares_doctype(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """A DOCTYPE could define entities that expand without end; Excel never writes one."""
    try:
        with archive.open(member) as stream:
            return safexml.stream_declares(stream)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as err:
        raise _Unreadable("ไฟล์ Excel นี้เสียหาย อ่านไม่ได้ทั้งไฟล์") from err


def _csv_grid(content: bytes) -> _Grid:
    text = _decode(content)
    if any(ch in text for ch in "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10\x1a\x1b"):
        raise _Unreadable("ไฟล์นี้ไม่ใช่ไฟล์ตาราง ระบบรับเฉพาะไฟล์ Excel (.xlsx) หรือไฟล์ CSV")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(("\t", ";", ","), key=lambda d: (first.count(d), d == ","))
    try:
        return _Grid(_table_rows(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)))
    except csv.Error as err:
        raise _Unreadable(f"อ่านไฟล์ CSV ไม่ได้: มีเครื่องหมายคำพูดหรือข้อความในช่องที่ผิดรูปแบบ ({err})") from err


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or Windows-874 (TIS-620), as Thai Excel saves."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if content.startswith(bom):
            try:
                return content[len(bom):].decode(encoding)
            except UnicodeDecodeError as err:
                raise _Unreadable("ไฟล์ CSV นี้เข้ารหัสตัวอักษรไม่ถูกต้อง กรุณาบันทึกใหม่เป็น “CSV UTF-8”") from err
    for encoding in ("utf-8", "cp874"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _Unreadable("ไฟล์นี้ไม่ใช่ไฟล์ตาราง หรือเข้ารหัสตัวอักษรแบบที่ระบบไม่รู้จัก "
                      "ระบบรับไฟล์ Excel (.xlsx) และไฟล์ CSV (UTF-8 หรือ Windows-874/TIS-620)")


def _table_rows(rows: Iterable[Iterable[Any]]) -> list[tuple[int, list[Any]]]:
    """The non-empty rows, numbered. Stops one row past the limit (the caller says the limit was
    passed) or at a long run of empty rows (the end of the table)."""
    found: list[tuple[int, list[Any]]] = []
    blanks = 0
    for number, cells in enumerate(rows, start=1):
        cells = list(cells)[:MAX_COLUMNS]
        if all(_blank(v) for v in cells):
            blanks += 1
            if blanks >= BLANK_RUN_END and found:
                break
            continue
        blanks = 0
        found.append((number, cells))
        if len(found) > MAX_ROWS + HEADER_SEARCH + 1:
            break
    return found


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- Header ---------------------------------------------------------------------------
def _norm(text: Any) -> str:
    text = unicodedata.normalize("NFC", str(text)).replace("\u200b", "").replace("\ufeff", "")
    return re.sub(r"\s+", " ", text).strip().casefold()


def _loose(text: Any) -> str:
    """A header as compared: no spaces, dots, digits or "พ.ศ." ("ต.ค. 63" is "ต.ค.")."""
    text = _norm(text).replace("พ.ศ.", "").replace("พ.ศ", "")
    return re.sub(r"[\s.\d๐-๙]", "", text)


def _match_header(text: Any, known: list[Column]) -> Column | None:
    wanted = _loose(text)
    if not wanted:
        return None
    if wanted in {_loose(h) for h in ROW_NUMBER_HEADERS}:
        return known[0]
    exact = [c for c in known if _loose(c.header) == wanted]
    if exact:
        return exact[0]
    starts = [c for c in known
              if c.kind != "number_of_row" and len(wanted) >= 3 and _loose(c.header).startswith(wanted)]
    if len(starts) == 1:
        return starts[0]  # "งบประมาณ" for "งบประมาณ (บาท)", "ครุภัณฑ์" for a longer title
    longer = [c for c in known if c.kind not in ("number_of_row", "option") and wanted.startswith(_loose(c.header))]
    return max(longer, key=lambda c: len(_loose(c.header))) if longer else None  # "โครงการ/กิจกรรม"


def _recognised(cells: list[Any], known: list[Column]) -> dict[int, Column]:
    return {i: c for i, v in enumerate(cells) if not _blank(v) and (c := _match_header(v, known))}


def _find_header(rows: list[tuple[int, list[Any]]], known: list[Column]) -> int | None:
    """The position of the first row near the top naming at least two known columns."""
    return next((position for position, (_, cells) in enumerate(rows[:HEADER_SEARCH])
                 if len(_recognised(cells, known)) >= 2), None)


def _header(grid: _Grid, known: list[Column]) -> tuple[int, dict[int, Column], dict[int, str], list[Problem]]:
    """Where the data starts, the recognised columns by index, the header texts, and header problems.
    A second header row (the month row under a year band, as ผด.02 prints it) is merged in."""
    position = _find_header(grid.rows, known)
    if position is not None:
        number, cells = grid.rows[position]
        matched = _recognised(cells, known)
        texts = {i: str(v).strip() for i, v in enumerate(cells) if not _blank(v)}
        start = position + 1
        if start < len(grid.rows) and grid.rows[start][0] == number + 1:
            below = grid.rows[start][1]
            more = _recognised(below, known)
            if more and not (set(more) & set(matched)):
                matched.update(more)
                texts.update({i: str(below[i]).strip() for i in more})
                texts.update({i: str(v).strip() for i, v in enumerate(below) if not _blank(v) and i not in texts})
                start += 1
        problems = []
        for i, text in texts.items():
            if i not in matched and not _band(text, matched, i):
                problems.append(Problem(f"ไม่รู้จักคอลัมน์ “{text}” กรุณาแก้ชื่อให้ตรงกับแม่แบบ หรือลบคอลัมน์นี้ออก "
                                        f"(ชื่อคอลัมน์ที่ใช้ได้: {', '.join(_names(known))})",
                                        number, get_column_letter(i + 1)))
        return start, matched, texts, problems
    raise _Unreadable("ไม่พบแถวหัวตารางในไฟล์ แถวหัวตารางต้องอยู่ในช่วง 15 แถวแรก และใช้ชื่อคอลัมน์ตามแม่แบบ ได้แก่ "
                      + ", ".join(_names(known)) + " กรุณาดาวน์โหลดแม่แบบไปกรอก")


def _band(text: str, matched: dict[int, Column], index: int) -> bool:
    """A year band such as "พ.ศ. 2563" or a group title above choice columns is not a column."""
    return any(c.kind == "option" for c in matched.values()) and (
        re.fullmatch(r"(พ\.?\s*ศ\.?)?\s*[\d๐-๙]{2,4}", text.strip()) is not None
        or any(c.kind == "option" and _loose(c.group) == _loose(text) for c in matched.values()))


def _names(known: list[Column]) -> list[str]:
    return [c.header for c in known if c.kind not in ("choices",)]


def _header_problems(matched: dict[int, Column], texts: dict[int, str], known: list[Column], row: int,
                     item_schema: Mapping[str, Any], fiscal_year: int | None) -> list[Problem]:
    problems = []
    seen: dict[tuple[str, Any], int] = {}
    modes: dict[str, str] = {}  # a multiple choice is read from option columns or one list column
    for i, column in sorted(matched.items()):
        if column.kind == "number_of_row":
            continue
        identity = (column.key, column.option if column.kind == "option" else None)
        mode = "option" if column.kind == "option" else "single"
        if identity in seen or modes.setdefault(column.key, mode) != mode:
            first = seen.get(identity, min(j for j, c in matched.items() if c.key == column.key))
            problems.append(Problem(f"คอลัมน์ “{texts[i]}” ซ้ำกับคอลัมน์ {get_column_letter(first + 1)} "
                                    "กรุณาเหลือไว้คอลัมน์เดียว", row, get_column_letter(i + 1)))
        seen.setdefault(identity, i)
        if fiscal_year and is_month(column):
            year = _header_year(texts[i])
            expected = fiscal_year - 1 if column.option >= 10 else fiscal_year
            if year is not None and year != expected:
                problems.append(Problem(
                    f"คอลัมน์ “{texts[i]}” เป็นเดือนนอกปีงบประมาณ พ.ศ. {fiscal_year} "
                    f"({column.header} ของปีงบประมาณนี้คือ {column.header} {expected})", row, get_column_letter(i + 1)))
    present = {c.key for c in matched.values()}
    for key in item_schema.get("required", []):
        sub = item_schema.get("properties", {}).get(key, {})
        if key not in present and "default" not in sub and any(c.key == key for c in known):
            problems.append(Problem(f"ไม่พบคอลัมน์ “{sub.get('x-column') or sub.get('title', key)}” ซึ่งต้องมี", row))
    return problems


def _header_year(text: str) -> int | None:
    digits = re.findall(r"[\d๐-๙]+", text.translate(fields.THAI_DIGITS))
    if not digits:
        return None
    year = int(digits[-1])
    if year < 100:
        return 2500 + year
    return year + BE_OFFSET if year < 2400 else year


# --- Rows -----------------------------------------------------------------------------
def _fill(preview: Preview, grid: _Grid, known: list[Column], table_schema: Mapping[str, Any],
          fiscal_year: int | None) -> None:
    item_schema = table_schema.get("items", {})
    start, matched, texts, problems = _header(grid, known)
    header_row = grid.rows[start - 1][0]
    problems += _header_problems(matched, texts, known, header_row, item_schema, fiscal_year)
    order = sorted(matched)
    preview.headers = [(get_column_letter(i + 1), texts[i]) for i in order]
    preview.keys = [matched[i].key for i in order]
    preview.problems += problems
    data_rows = grid.rows[start:]
    if len(data_rows) > MAX_ROWS:
        preview.problems.append(Problem(f"ไฟล์มีข้อมูลเกิน {MAX_ROWS:,} แถว กรุณาแบ่งเป็นหลายไฟล์"))
        data_rows = data_rows[:MAX_ROWS]
    for number, cells in data_rows:
        values = {i: _strip_guard(cells[i]) if i < len(cells) else None for i in order}
        row = Row(number, [_shown(values[i]) for i in order])
        preview.rows.append(row)
        for i in order:
            if (number, i) in grid.formulas_without_value:
                _flag(row, order, i, Problem("เป็นสูตรที่ไม่มีค่าผลลัพธ์บันทึกไว้ (ระบบไม่คำนวณสูตร) กรุณาเปิดไฟล์ใน Excel "
                                             "แล้วบันทึกใหม่ หรือพิมพ์เป็นค่า", number, get_column_letter(i + 1), texts[i]))
        if problems:
            continue  # with a wrong header every row would repeat the same error
        item, row_problems = _item(values, matched, item_schema)
        found: dict[str, tuple[int, Problem]] = {}  # message -> (column position, problem), in file order
        for pointer, message in row_problems:
            key = pointer.strip("/").split("/")[0]
            where = [i for i in order if matched[i].key == key]
            title = item_schema.get("properties", {}).get(key, {}).get("title", key)
            if message == f"กรุณากรอก{key}":  # the validator's words for a field it found no title for
                message = f"กรุณากรอก{title}"
            if not where:
                found.setdefault(message, (len(order), Problem(f"{message} (ไฟล์ไม่มีคอลัมน์ “{title}”)", number)))
                continue
            letters = get_column_letter(where[0] + 1)
            if len(where) > 1:
                letters = f"{letters}–{get_column_letter(where[-1] + 1)}"
            header = matched[where[0]].group or texts[where[0]]
            found.setdefault(message, (order.index(where[0]), Problem(message, number, letters, header)))
            row.bad.update(order.index(i) for i in where)
        row.errors += [problem for _, problem in sorted(found.values(), key=lambda pair: pair[0])]
        preview.items.append(item)
    if not preview.rows and not preview.problems:
        preview.problems.append(Problem("ไม่พบข้อมูลใต้แถวหัวตาราง ไฟล์นี้ยังไม่มีรายการใดเลย"))
    if preview.ok:
        try:
            validation.validate({"type": "object", "properties": {"rows": table_schema}}, {"rows": preview.items})
        except Invalid as err:
            preview.problems += [Problem(e["message"]) for e in err.errors]


def _flag(row: Row, order: list[int], index: int, problem: Problem) -> None:
    row.errors.append(problem)
    row.bad.add(order.index(index))


class _Cells(dict):
    """One row as formrender reads a submitted form (pointer -> text; several values for choices)."""

    def get(self, key, default=None):
        value = super().get(key, default)
        return value[0] if isinstance(value, list) else value

    def getlist(self, key):
        value = super().get(key)
        return list(value) if isinstance(value, list) else [] if value is None else [value]


def _item(values: dict[int, Any], matched: dict[int, Column], item_schema: Mapping[str, Any]):
    """The row as form data, and (pointer, message) for each problem, ours before the validator's."""
    cells = _Cells()
    ours: list[tuple[str, str]] = []
    for i, value in values.items():
        column = matched[i]
        pointer = "/" + column.key.replace("~", "~0").replace("/", "~1")
        if column.kind == "number_of_row" or _blank(value):
            continue
        if column.kind == "option":
            cells.setdefault(pointer, []).append(str(column.option))
        elif column.kind == "choices":
            wanted = [part for part in re.split(r"[,;/\n]+|\s{2,}", str(value)) if part.strip()]
            for part in wanted:
                picked = _pick(part, column.schema.get("items", {}))
                if picked is None:
                    ours.append((pointer, f"“{part.strip()}” ไม่ใช่{column.header}ที่เลือกได้"))
                else:
                    cells.setdefault(pointer, []).append(picked)
        elif column.kind == "choice":
            picked = _pick(value, column.schema)
            if picked is None:
                allowed = ", ".join(label for _, label in choices(column.schema))
                ours.append((pointer, f"{column.header} “{_shown(value)}” ไม่มีในรายการ เลือกได้เฉพาะ: {allowed}"))
            else:
                cells[pointer] = picked
        elif column.kind == "flag":
            if _norm(value) not in NO_WORDS and value is not False:
                cells[pointer] = "true"
        elif column.kind == "number":
            if isinstance(value, bool) or isinstance(value, (date, datetime)):
                ours.append((pointer, f"{column.header} ต้องเป็นตัวเลข เช่น 1,250,000.50"))
            else:
                cells[pointer] = re.sub(r"[\s\u00a0฿]|บาท", "", str(value))
        elif column.kind == "date":
            cells.update(_date_parts(pointer, value))
        else:
            cells[pointer] = _shown(value)
    for key, sub in item_schema.get("properties", {}).items():
        pointer = "/" + key.replace("~", "~0").replace("/", "~1")
        if isinstance(sub, dict) and isinstance(sub.get("default"), str) and pointer not in cells:
            cells[pointer] = sub["default"]  # a blank cell (or no column) is the form's select left as it came
    item, problems = fields.parse(item_schema, cells)
    unreadable = {pointer for pointer, _ in ours} | {p["field"] for p in problems}
    errors = ours + [(p["field"], p["message"]) for p in problems]
    try:
        validation.validate(item_schema, item)
    except Invalid as err:
        errors += [(e["field"], e["message"]) for e in err.errors if e["field"] not in unreadable]
    return item, errors


def _pick(value: Any, schema: Mapping[str, Any]) -> str | None:
    """The submitted text of the choice a cell names, by its value or its Thai title."""
    wanted = _norm(value)
    for choice, label in choices(schema):
        if wanted in (_norm(choice), _norm(label)) or _loose(value) and _loose(value) == _loose(label):
            return "true" if choice is True else "false" if choice is False else str(choice)
    return None


def _date_parts(pointer: str, value: Any) -> dict[str, str]:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return {f"{pointer}#d": str(value.day), f"{pointer}#m": str(value.month),
                f"{pointer}#y": str(value.year + BE_OFFSET)}
    text = str(value).strip().translate(fields.THAI_DIGITS)
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        year = int(m.group(1))
        return {f"{pointer}#d": m.group(3), f"{pointer}#m": m.group(2),
                f"{pointer}#y": str(year + BE_OFFSET if year < 2400 else year)}
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    parts = m.groups() if m else (text, "", "")
    return {f"{pointer}#d": parts[0], f"{pointer}#m": parts[1], f"{pointer}#y": parts[2]}


def _strip_guard(value: Any) -> Any:
    """Undo the apostrophe an export puts before text that Excel would take for a formula."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
        return value[1:]
    return value


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def iter_problems(preview: Preview) -> Iterator[Problem]:
    yield from preview.problems
    for row in preview.rows:
        yield from row.errors
