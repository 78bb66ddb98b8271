"""Facts checked against each other, the law and the clock: a form's cross-field rules.

A form declares its rules as data beside its JSON Schema, under ``x-rules``::

    "x-rules": [{"check": "posted_on >= announced_on", "field": "posted_on",
                 "message": "วันที่ปิดประกาศต้องไม่ก่อนวันที่ประกาศ ({announced_on})"}]

``check`` is a sandboxed expression that must hold; it reads the plan's data as the step sees it
with the submitted values over it, ``today`` (the day in Bangkok, ISO) and the legal-day helpers
(``legal_deadline_day(start, days)``, ``legal_minimum_day(start, days)``, ``add_days(day, n)``,
each an ISO date). Dates are ISO text, so they compare as text. A rule concerns its ``field``: it
is skipped while that field is empty (``required`` says what must be given); another value it
reads that may be empty is tested for None by the rule itself (``x is None or ...``). ``message``
is Thai; ``{name}`` in it is replaced by that value (a date in Thai).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from service.engine import sandbox
from service.errors import Invalid
from service.thai import dates, legaldays

RULES_KEY = "x-rules"
RULE_KEYS = {"check", "field", "message"}
MAX_RULES = 50
MAX_CHECK = 500  # characters: a rule is one comparison or a few, not a program
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def helpers(timer_helpers: dict[str, Any]) -> dict[str, Any]:
    """The functions a rule may call, from the plan's timer helpers (the holidays in force)."""

    def legal_deadline_day(start: str, days: int) -> str:
        return str(timer_helpers["legal_deadline"](start, days))[:10]

    def legal_minimum_day(start: str, days: int) -> str:
        return str(timer_helpers["legal_minimum"](start, days))[:10]

    def add_days(day: str, count: int) -> str:
        return (legaldays.as_date(day) + timedelta(days=int(count))).isoformat()

    return {"legal_deadline_day": legal_deadline_day, "legal_minimum_day": legal_minimum_day,
            "add_days": add_days}


HELPER_NAMES = frozenset(helpers({}))
BUILT_IN_NAMES = HELPER_NAMES | {"today", "True", "False", "None"}


def problems(schema: Any) -> list[str]:
    """Why a form's rules cannot run (empty when they can): for the designer's checks."""
    if not isinstance(schema, dict) or RULES_KEY not in schema:
        return []
    rules = schema[RULES_KEY]
    if not isinstance(rules, list) or len(rules) > MAX_RULES:
        return [f'"{RULES_KEY}" must be a list of at most {MAX_RULES} rules']
    fields = set((schema.get("properties") or {}).keys())
    found = []
    for index, rule in enumerate(rules):
        where = f"{RULES_KEY}[{index}]"
        if not isinstance(rule, dict) or set(rule) != RULE_KEYS or not all(isinstance(v, str) for v in rule.values()):
            found.append(f'{where}: a rule has exactly "check", "field" and "message", each text')
            continue
        if len(rule["check"]) > MAX_CHECK:
            found.append(f"{where}: check is longer than {MAX_CHECK} characters")
            continue
        found.extend(f"{where}: {reason}" for reason in sandbox.check(rule["check"], "eval"))
        if rule["field"] not in fields:
            found.append(f'{where}: field "{rule["field"]}" is not a field of this form')
        if not rule["message"].strip():
            found.append(f"{where}: the message is empty")
    return found


def names_read(check: str) -> set[str]:
    try:
        tree = ast.parse(check, mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def enforce(schema: dict[str, Any], submitted: dict[str, Any], known: dict[str, Any], today: date,
            timer_helpers: dict[str, Any]) -> None:
    """Raise Invalid naming each broken rule beside its field; nothing when every rule holds.
    ``known``: the plan's data as the step sees it; ``submitted``: the form's values (validated)."""
    errors = []
    for rule, env, outcome in _judged(schema, submitted, known, today, timer_helpers):
        if isinstance(outcome, Exception):  # the designer's rule is wrong, not the official's data
            errors.append({"field": f"/{rule['field']}",
                           "message": f"ตรวจข้อมูลช่องนี้ไม่ได้ เพราะกฎของแบบฟอร์มผิดพลาด ({type(outcome).__name__}) "
                                      "กรุณาแจ้งผู้ออกแบบกระบวนงาน"})
        elif not outcome:
            errors.append({"field": f"/{rule['field']}", "message": _message(rule["message"], env)})
    if errors:
        raise Invalid("ข้อมูลในแบบฟอร์มขัดกับข้อมูลที่บันทึกไว้หรือระเบียบ กรุณาแก้ไขช่องที่ระบุ", errors)


def failures(schema: dict[str, Any], submitted: dict[str, Any], known: dict[str, Any], today: date,
             timer_helpers: dict[str, Any]) -> list[str]:
    """The rules that cannot run on this data (for the dry run: a rule that does not hold on
    sample data is no fault, one that raises is)."""
    return [f"{rule['check']}: {type(outcome).__name__}: {outcome}"
            for rule, _, outcome in _judged(schema, submitted, known, today, timer_helpers)
            if isinstance(outcome, Exception)]


def _judged(schema, submitted, known, today, timer_helpers) -> Iterator[tuple[dict[str, Any], dict[str, Any],
                                                                               bool | Exception]]:
    rules = schema.get(RULES_KEY) or []
    if not rules:
        return
    fields = {name: None for name in schema.get("properties") or {}}
    env = {**known, **fields, **submitted, "today": today.isoformat()}
    box = sandbox.Sandbox(helpers(timer_helpers))
    # a rule about a value not given is skipped: `required` speaks for missing values
    applicable = [rule for rule in rules if env.get(rule["field"]) not in (None, "", [])]
    batched = _batched(box, applicable, env)
    for index, rule in enumerate(applicable):
        if batched is not None:
            yield rule, env, batched[index]
            continue
        try:
            outcome: bool | Exception = bool(box.evaluate(rule["check"], _read_by(rule["check"], env)))
        except Exception as err:  # noqa: BLE001 - whatever designer code raises is reported, never ours
            outcome = err
        yield rule, env, outcome


def _read_by(check: str, env: dict[str, Any]) -> dict[str, Any]:
    """The values a check reads (only those are sent to the sandbox)."""
    read = names_read(check) - BUILT_IN_NAMES
    return {name: env[name] for name in read | {"today"} if name in env}


def _batched(box: sandbox.Sandbox, rules: list[dict[str, Any]], env: dict[str, Any]) -> list[bool] | None:
    """The outcomes of several rules from one round trip to the sandbox (one tuple of the checks), or
    None: then each rule is judged on its own, as the messages of a failing rule need. Only rules
    that compile alone and bind no name (``:=``) are put together, so each reads what it would alone."""
    if len(rules) < 2 or not all(_batchable(rule["check"]) for rule in rules):
        return None
    expression = "(" + "".join(f"\n({rule['check']}\n)," for rule in rules) + "\n)"
    values: dict[str, Any] = {}
    for rule in rules:
        values.update(_read_by(rule["check"], env))
    try:
        outcomes = box.evaluate(expression, values)
    except Exception:  # noqa: BLE001 - a rule that raises is judged alone, for its own error
        return None
    if not isinstance(outcomes, tuple) or len(outcomes) != len(rules):
        return None
    return [bool(outcome) for outcome in outcomes]


@functools.lru_cache(maxsize=1024)
def _batchable(check: str) -> bool:
    if sandbox.check(check, "eval"):
        return False
    return not any(isinstance(node, ast.NamedExpr) for node in ast.walk(ast.parse(check, mode="eval")))


def _message(template: str, env: dict[str, Any]) -> str:
    """The rule's message with ``{name}`` filled in (dates in Thai); no format-string features."""

    def fill(match: re.Match[str]) -> str:
        value = env.get(match.group(1))
        if isinstance(value, str) and _ISO_DAY.match(value):
            try:
                return dates.long(value)
            except ValueError:
                return value
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(fill, template)
