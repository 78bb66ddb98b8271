"""Amounts of baht as Thai officials write them: in words (บาทถ้วน, สตางค์) and in figures."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_DIGITS = ("ศูนย์", "หนึ่ง", "สอง", "สาม", "สี่", "ห้า", "หก", "เจ็ด", "แปด", "เก้า")
_PLACES = ("", "สิบ", "ร้อย", "พัน", "หมื่น", "แสน")


def _number_words(n: int) -> str:
    """Thai words for a whole number ≥ 1 (ล้าน repeats for each six digits)."""
    if n >= 1_000_000:
        millions, rest = divmod(n, 1_000_000)
        return _number_words(millions) + "ล้าน" + (_group_words(rest, has_higher=True) if rest else "")
    return _group_words(n, has_higher=False)


def _group_words(n: int, has_higher: bool) -> str:
    words = []
    digits = str(n)
    for position, char in enumerate(digits):
        digit, place = int(char), len(digits) - position - 1
        if digit == 0:
            continue
        if place == 1 and digit == 1:
            words.append("สิบ")
        elif place == 1 and digit == 2:
            words.append("ยี่สิบ")
        elif place == 0 and digit == 1 and (has_higher or n > 9):
            words.append("เอ็ด")
        else:
            words.append(_DIGITS[digit] + _PLACES[place])
    return "".join(words)


def bahttext(amount: Decimal | int | float | str) -> str:
    """An amount of baht in Thai words: 1234 → หนึ่งพันสองร้อยสามสิบสี่บาทถ้วน."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if value < 0:
        return "ลบ" + bahttext(-value)
    baht, satang = divmod(int(value * 100), 100)
    if baht == 0 and satang == 0:
        return "ศูนย์บาทถ้วน"
    text = _number_words(baht) + "บาท" if baht else ""
    return text + (_number_words(satang) + "สตางค์" if satang else "ถ้วน")


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def percent(part: Decimal | int, whole: Decimal | int) -> str:
    return f"{Decimal(part) * 100 / Decimal(whole):.2f}" if whole else "0.00"
