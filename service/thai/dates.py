"""Dates as Thai people read them: Buddhist Era, Thai month names, Bangkok time."""

from __future__ import annotations

from datetime import date, datetime

from service.thai.legaldays import BANGKOK

MONTHS = ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม",
          "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม")
MONTHS_SHORT = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.",
                "ต.ค.", "พ.ย.", "ธ.ค.")
THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
BE_OFFSET = 543


def to_thai_digits(text: object) -> str:
    return str(text).translate(THAI_DIGITS)


def short(value: date | datetime | str | None) -> str:
    """"16 ต.ค. 2563"; datetimes are shown on their Bangkok day."""
    if value is None or value == "":
        return ""
    day = _day(value)
    return f"{day.day} {MONTHS_SHORT[day.month - 1]} {day.year + BE_OFFSET}"


def long(value: date | datetime | str, thai_digits: bool = False) -> str:
    """"25 กันยายน พ.ศ. 2561" (or with Thai digits for prose)."""
    day = _day(value)
    text = f"{day.day} {MONTHS[day.month - 1]} พ.ศ. {day.year + BE_OFFSET}"
    return to_thai_digits(text) if thai_digits else text


def short_datetime(value: datetime) -> str:
    local = value.astimezone(BANGKOK)
    return f"{short(local.date())} {local:%H:%M} น."


def _day(value: date | datetime | str) -> date:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(BANGKOK).date()
    return value


def fiscal_year_of(day: date) -> int:
    """The fiscal year (พ.ศ.) a day falls in: 1 October starts the next one (1 Oct 2568 is in 2569)."""
    return day.year + BE_OFFSET + (1 if day.month >= 10 else 0)


def fiscal_months(fiscal_year: int) -> list[tuple[int, str, int]]:
    """The twelve months of fiscal year พ.ศ. N as (month, short name, BE year): ต.ค. N−1 … ก.ย. N."""
    months = [*range(10, 13), *range(1, 10)]
    return [(m, MONTHS_SHORT[m - 1], fiscal_year - 1 if m >= 10 else fiscal_year) for m in months]
