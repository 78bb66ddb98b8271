"""The pattern that bounds every ``<int:...>`` of a route (service/http.py): exactly 0 to the limit."""

import re

import pytest

from service.http import MAX_INTEGER, decimal_at_most


@pytest.mark.parametrize("limit", [0, 7, 10, 99, 100, 305, 1000, MAX_INTEGER])
def test_the_pattern_takes_exactly_the_numbers_up_to_the_limit(limit):
    pattern = re.compile(decimal_at_most(limit) + r"\Z")
    for number in [*range(0, 1100), limit - 1, limit, limit + 1, limit * 10 + 9, 10 ** len(str(limit))]:
        if number >= 0:
            assert bool(pattern.match(str(number))) == (number <= limit), number


def test_no_leading_zeros_no_other_digits():
    pattern = re.compile(decimal_at_most(MAX_INTEGER) + r"\Z")
    assert not any(pattern.match(text) for text in ("007", "00", "", "๑", "²", "-1", "1e3"))
