"""Baht in Thai words, as written on official documents."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.thai.baht import bahttext


@pytest.mark.parametrize(("amount", "words"), [
    (0, "ศูนย์บาทถ้วน"),
    (1, "หนึ่งบาทถ้วน"),
    (10, "สิบบาทถ้วน"),
    (11, "สิบเอ็ดบาทถ้วน"),
    (21, "ยี่สิบเอ็ดบาทถ้วน"),
    (101, "หนึ่งร้อยเอ็ดบาทถ้วน"),
    (1234, "หนึ่งพันสองร้อยสามสิบสี่บาทถ้วน"),
    (480000, "สี่แสนแปดหมื่นบาทถ้วน"),
    (1_000_000, "หนึ่งล้านบาทถ้วน"),
    (1_000_001, "หนึ่งล้านเอ็ดบาทถ้วน"),
    (11_000_000, "สิบเอ็ดล้านบาทถ้วน"),
    (21_500_000, "ยี่สิบเอ็ดล้านห้าแสนบาทถ้วน"),
    (1_000_000_000_000, "หนึ่งล้านล้านบาทถ้วน"),
    (Decimal("2500000.50"), "สองล้านห้าแสนบาทห้าสิบสตางค์"),
    (Decimal("0.25"), "ยี่สิบห้าสตางค์"),
    (Decimal("0.01"), "หนึ่งสตางค์"),
    (Decimal("12.21"), "สิบสองบาทยี่สิบเอ็ดสตางค์"),
    (2980984.5, "สองล้านเก้าแสนแปดหมื่นเก้าร้อยแปดสิบสี่บาทห้าสิบสตางค์"),
])
def test_amounts_in_words(amount, words):
    assert bahttext(amount) == words


def test_satang_are_rounded_half_up():
    assert bahttext("0.005") == "หนึ่งสตางค์"
    assert bahttext("99.999") == "หนึ่งร้อยบาทถ้วน"
