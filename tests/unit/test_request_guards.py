"""The request layer's guards, without a database: integers from URLs and query strings, JSON
from outside, redirect targets."""

from __future__ import annotations

import json

import pytest

from service.errors import Invalid
from service.http import MAX_INTEGER, MAX_JSON_DEPTH, integer, local_path, parse_json


@pytest.mark.parametrize("text, expected", [
    ("0", 0), ("2564", 2564), (str(MAX_INTEGER), MAX_INTEGER), ("007", 7),
    (str(MAX_INTEGER + 1), None), ("9" * 23, None), ("9" * 4301, None), ("²", None), ("2564²", None),
    ("๒๕๖๔", None), ("٣", None), ("-1", None), ("+1", None), (" 1", None), ("1 ", None), ("1_000", None),
    ("1.0", None), ("", None), (None, None),
])
def test_integer_takes_ascii_digits_in_range_only(text, expected):
    assert integer(text) == expected


def test_integer_bounds():
    assert integer("2500", 2500, 2700) == 2500 and integer("2700", 2500, 2700) == 2700
    assert integer("2499", 2500, 2700) is None and integer("2701", 2500, 2700) is None


@pytest.mark.parametrize("target", [
    "//other.host", "///other.host", "/\\other.host", "\\\\other.host", "/%2F/other.host", "/%2f%2fother.host",
    "/%5Cother.host", "/%5c%5cother.host", "/%252F%252Fother.host", "%2F%2Fother.host", "/\t/other.host",
    "/\n/other.host", "/\r/other.host", "/\x00/other.host", "/\x7f/other.host", "/\x85/other.host",
    "/\u2028/other.host", " /plans/1", "https://other.host/", "http:/other.host", "javascript:alert(1)",
    "plans/1", "", None, "/" + "a" * 3000, "/%25252F%25252Fother.host",
])
def test_local_path_refuses_whatever_a_browser_or_proxy_may_read_as_another_host(target):
    assert local_path(target) is None


@pytest.mark.parametrize("target", ["/", "/plans/1", "/?plan=1&sort=due_desc", "/tasks/abc#form",
                                    "/designer/modeler/แผน", "/audit/plans/1?step=3"])
def test_local_path_keeps_paths_of_this_site(target):
    assert local_path(target) == target


@pytest.mark.parametrize("text, field", [
    ("[" * 50_000 + "]" * 50_000, ""),
    ('{"a": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}", "/a" + "/0" * (MAX_JSON_DEPTH - 1)),
    ('{"n": ' + "9" * 4301 + "}", "/n"),
    ('{"n": -' + "9" * 21 + "}", "/n"),
    ('{"n": 1e999}', "/n"), ('{"n": NaN}', "/n"), ('[Infinity]', "/0"),
    ('{"s": "\\ud800"}', "/s"), ('{"a/b": {"~": "\\udfff"}}', "/a~1b/~0"), ('{"\\udc00": 1}', ""),
    ("{not json", ""), ("", ""),
])
def test_parse_json_refuses_what_nothing_after_it_can_take(text, field):
    with pytest.raises(Invalid) as refused:
        parse_json(text)
    assert refused.value.status == 422
    assert [e["field"] for e in refused.value.errors] == [field]
    assert all(e["message"] for e in refused.value.errors)
    json.dumps(refused.value.errors, ensure_ascii=False).encode("utf-8")  # the answer itself encodes


def test_parse_json_refuses_bytes_that_are_not_utf8():
    for data in (b'{"a": "\xff"}', b'"\x80"'):
        with pytest.raises(Invalid):
            parse_json(data)


def test_parse_json_keeps_ordinary_data():
    data = {"projects": [{"name": "โครงการ 🌾", "budget": 123456789012.25, "months": [1, 2], "ok": True,
                          "none": None, "big": 10**19}]}
    text = json.dumps(data, ensure_ascii=False)
    assert parse_json(text) == data and parse_json(text.encode("utf-8")) == data
    nested: object = []
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = [nested]
    assert parse_json(json.dumps(nested)) == nested
