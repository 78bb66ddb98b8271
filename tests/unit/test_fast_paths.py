"""The fast paths of a completion decide exactly what the slow ones decide: reading a body (orjson
before the checked parse), validating a form (jsonschema-rs before FormValidator), copying and
hashing an event's data (orjson before json), the state digest's scan for task ids, and the form's
rules judged in one round trip to the sandbox. Each is compared with its slow path on edge cases
and on seeded random data (bounded by count)."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from service import eventlog, http
from service.engine import instance, sandbox
from service.errors import Invalid
from service.models import Event
from service.taskforms import rules, validation

FORMS = Path(__file__).resolve().parents[2] / "forms"


# --- Reading a body -----------------------------------------------------------------------
def _checked_parse(body: bytes | str):
    """What parse_json answered before its fast path: the value, or the Invalid's fields."""
    try:
        value = json.loads(body, parse_int=http._json_integer, parse_float=http._json_number,
                           parse_constant=http._json_constant)
        http._check_json(value)
    except (RecursionError, UnicodeDecodeError, ValueError):
        return ("not json",)
    except Invalid as err:
        return ("invalid", err.errors)
    return ("ok", repr(value))


def _parse(body: bytes | str):
    try:
        return ("ok", repr(http.parse_json(body)))
    except Invalid as err:
        return ("not json",) if err.errors == [{"field": "", "message": "ไม่ใช่ JSON ที่ถูกต้อง"}] else (
            "invalid", err.errors)


BODIES = [b'{}', b'5', b'"x"', b'null', b'[[[[]]]]', b"[" * 32 + b"]" * 32, b"[" * 33 + b"]" * 33,
          b'{"a":' * 31 + b'1' + b'}' * 31, b'{"a":' * 33 + b'1' + b'}' * 33, b'"\\u0000"', b'{"\\u0000":1}',
          b'1e400', b'[-1e400]', b'123456789012345678901', b'18446744073709551616', b'18446744073709551615',
          b'-9223372036854775808', b'-9223372036854775809', b'1e19', b'[1e19]', b'9007199254740993',
          b'"\\ud800"', b'{"a":"\\ud800"}', b'{"\\udc00":1}', b'\xef\xbb\xbf{}', b'NaN', b'[Infinity]', b'',
          b'"\xff"', '{"a":"\ud800"}', '{"a":"x"}', b'{"a":1,"a":2}', b'[1.5, -0.0, 1E2, 0.1e-400]',
          b'{"a":[1,2,{"b":"\\u00e9\\n"}]}', b'[1,2,]', b'{"a" 1}', '{"ชื่อ":"โครงการ"}'.encode()]


@pytest.mark.parametrize("body", BODIES)
def test_a_body_reads_as_the_checked_parse_reads_it(body):
    assert _parse(body) == _checked_parse(body)


def test_the_fast_read_takes_a_project_list():
    body = json.dumps({"projects": [{"name": f"โครงการ {n}", "budget": 1000.5 + n, "months": [10, 11]}
                                    for n in range(200)]}, ensure_ascii=False).encode()
    assert http._parsed_fast(body) is not http._SLOW
    assert _parse(body) == _checked_parse(body)


# --- Validating a form ----------------------------------------------------------------------
def _slow_verdict(schema, data, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(validation, "_compiled", lambda strict: None)
        return _verdict(schema, data)


def _verdict(schema, data):
    try:
        validation.validate(schema, data)
    except Invalid as err:
        return err.detail if hasattr(err, "detail") else str(err), err.errors
    return "valid"


def _mutations(value, rng: random.Random):
    """Values a person or a program may send instead of a valid one."""
    yield from [None, "", " ", "\u3000", "x" * 301, -1, 0.015, 1234567.89, 1e12, True, "2020-02-30", "0000-01-01",
                "2563-10-01", "2020-10-01", [], {}, [value], {"x": value}, rng.choice(["lao", "ภูมิภาค", "งบกลาง"])]


@pytest.mark.parametrize("form", sorted(p.name for p in FORMS.glob("*.schema.json")))
def test_a_form_refuses_and_accepts_what_the_slow_path_does(form, monkeypatch):
    from service.bundles import samples

    schema = json.loads((FORMS / form).read_text(encoding="utf-8"))
    valid = samples.sample(schema, datetime(2020, 10, 1, tzinfo=UTC))
    rng = random.Random(form)
    cases = [valid, {**valid, "not_a_field": 1}, {}]
    for name, field in (schema.get("properties") or {}).items():
        for wrong in _mutations(valid.get(name), rng):
            cases.append({**valid, name: wrong})
        if field.get("type") == "array" and isinstance(valid.get(name), list) and valid[name]:
            item = valid[name][0]
            for key in item if isinstance(item, dict) else []:
                for wrong in _mutations(item[key], rng):
                    cases.append({**valid, name: [item, {**item, key: wrong}]})
    for data in cases:
        assert _verdict(schema, copy.deepcopy(data)) == _slow_verdict(schema, copy.deepcopy(data), monkeypatch), data


def test_the_fast_path_keeps_the_decimal_and_re2_meanings(monkeypatch):
    schema = {"type": "object", "properties": {
        "budget": {"type": "number", "title": "งบประมาณ", "multipleOf": 0.01},
        "reason": {"type": "string", "title": "เหตุผล", "pattern": validation.NOT_BLANK},
        "day": {"type": "string", "title": "วันที่", "format": "date"}}}
    assert validation.validate(schema, {"budget": 1234567.89}) == {"budget": 1234567.89}  # floats say otherwise
    for data in ({"budget": 0.015}, {"reason": "\u3000 "}, {"day": "0000-01-01"}, {"day": "2020-02-30"}):
        with pytest.raises(Invalid) as found:
            validation.validate(schema, data)
        assert _slow_verdict(schema, data, monkeypatch) == (str(found.value), found.value.errors)
    assert validation._compiled({"properties": {"x": {"$ref": "https://example.org/x"}}}) is None  # reaches nothing


def test_data_that_is_not_json_is_judged_by_the_slow_path(monkeypatch):
    schema = {"type": "object", "properties": {"rows": {"type": "array", "title": "รายการ"}}}
    with pytest.raises(Invalid) as found:
        validation.validate(schema, {"rows": (1, 2)})  # jsonschema-rs takes a tuple for an array
    assert found.value.errors == [{"field": "/rows", "message": "รายการ ต้องเป็นรายการ"}]
    with pytest.raises(Invalid):
        validation.validate(schema, {"rows": [1] * (validation.MAX_ITEMS + 1)})


# --- An event's data and hash ---------------------------------------------------------------
def _random_value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return rng.choice([
            lambda: rng.uniform(-1e6, 1e6), lambda: rng.randint(-10**18, 10**18), lambda: None, lambda: True,
            lambda: "".join(rng.choice("ab\"\\\n\x00é😀\u2028ก") for _ in range(rng.randint(0, 8))),
            lambda: 1e-7, lambda: 1e300, lambda: 0.0, lambda: -0.0, lambda: 2**64 + 5, lambda: float("nan"),
            lambda: date(2020, 1, 2)])()
    if roll < 0.75:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {"".join(rng.choice("abé😀") for _ in range(rng.randint(0, 3))): _random_value(rng, depth + 1)
            for _ in range(rng.randint(0, 4))}


def _reference_jsonable(data):
    return json.loads(json.dumps(data, default=lambda v: v.isoformat() if isinstance(v, date) else str(v)))


def _reference_hash(event: Event) -> str:
    canonical = json.dumps([event.plan_id, event.seq, event.at.astimezone(UTC).isoformat(), event.actor, event.role,
                            event.kind, event.task, event.task_id, event.data, event.state_digest, event.prev_hash],
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_event_data_and_its_hash_are_what_json_makes_of_them():
    rng = random.Random(14)
    for _ in range(3000):
        data = {"x": _random_value(rng)}
        stored, alike = eventlog.checked_jsonable(data)
        assert repr(stored) == repr(_reference_jsonable(data))
        event = Event(plan_id=1, seq=2, at=datetime(2020, 1, 1, tzinfo=UTC), actor="u", role=None, kind="k",
                      task="t", task_id=None, data=stored, state_digest="d", prev_hash="p")
        assert eventlog.event_hash(event, alike) == eventlog.event_hash(event) == _reference_hash(event)
    lone = {"x": ["\ud800", 1.5]}  # json keeps a lone surrogate (orjson refuses it)
    assert eventlog.checked_jsonable(lone)[0] == _reference_jsonable(lone)


# --- The state digest -----------------------------------------------------------------------
def test_task_ids_are_found_where_the_pattern_finds_them():
    rng = random.Random(26)
    for _ in range(5000):
        parts = []
        for _ in range(rng.randint(0, 6)):
            roll = rng.random()
            if roll < 0.4:
                parts.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            elif roll < 0.7:
                parts.append("".join(rng.choice("0123456789abcdef-") for _ in range(rng.randint(1, 60))))
            else:
                parts.append("".join(rng.choice("0123456789abcdefx-\"ก") for _ in range(rng.randint(0, 20))))
        text = "".join(parts)
        assert list(instance._uuid_spans(text)) == [m.span() for m in instance._UUID.finditer(text)]


# --- A form's rules -----------------------------------------------------------------------
RULED = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "x-rules": [
    {"check": "a <= today", "field": "a", "message": "a ต้องไม่เป็นวันในอนาคต"},
    {"check": "b >= a  # comments end at the line", "field": "b", "message": "b ต้องไม่ก่อน {a}"},
    {"check": "add_days(b, 1) > b", "field": "b", "message": "ไม่ควรเกิด"}]}


def _round_trips(monkeypatch) -> list[str]:
    sent: list[str] = []
    run = sandbox._Child.run

    def counted(self, mode, source, *args):
        sent.append(source)
        return run(self, mode, source, *args)

    monkeypatch.setattr(sandbox._Child, "run", counted)
    return sent


def test_the_rules_of_a_form_are_judged_in_one_round_trip(monkeypatch):
    sent = _round_trips(monkeypatch)
    rules.enforce(RULED, {"a": "2020-10-01", "b": "2020-10-02"}, {}, date(2020, 10, 5), {})
    assert len(sent) == 1
    with pytest.raises(Invalid) as found:
        rules.enforce(RULED, {"a": "2020-10-09", "b": "2020-10-02"}, {}, date(2020, 10, 5), {})
    assert found.value.errors == [{"field": "/a", "message": "a ต้องไม่เป็นวันในอนาคต"},
                                  {"field": "/b", "message": "b ต้องไม่ก่อน 9 ตุลาคม พ.ศ. 2563"}]
    assert len(sent) == 2


def test_a_rule_that_fails_or_binds_a_name_is_judged_alone(monkeypatch):
    failing = {**RULED, "x-rules": [*RULED["x-rules"], {"check": "int(a) > 0", "field": "a", "message": "-"}]}
    sent = _round_trips(monkeypatch)
    with pytest.raises(Invalid) as found:
        rules.enforce(failing, {"a": "2020-10-01", "b": "2020-10-02"}, {}, date(2020, 10, 5), {})
    assert found.value.errors == [{"field": "/a", "message": "ตรวจข้อมูลช่องนี้ไม่ได้ เพราะกฎของแบบฟอร์มผิดพลาด "
                                                            "(ValueError) กรุณาแจ้งผู้ออกแบบกระบวนงาน"}]
    assert len(sent) == 1 + 4  # the batch, then each rule alone
    binding = {**RULED, "x-rules": [{"check": "(today := '2999-01-01') > a", "field": "a", "message": "-"},
                                    *RULED["x-rules"]]}
    sent.clear()
    rules.enforce(binding, {"a": "2020-10-01", "b": "2020-10-02"}, {}, date(2020, 10, 5), {})
    assert len(sent) == 4  # never together: the name it binds would reach the rules after it
