import pytest

from service.engine import sandbox


@pytest.mark.parametrize("code, mode, reason", [
    ("import os", "exec", "import is not allowed"),
    ("from os import path", "exec", "import is not allowed"),
    ("open('/etc/passwd').read()", "eval", "'open' is not allowed"),
    ("().__class__.__base__.__subclasses__()", "eval", "__class__"),
    ("__import__('os')", "eval", "__import__"),
    ("getattr(x, 'y')", "eval", "'getattr' is not allowed"),
    ("x = (", "exec", "syntax error"),
])
def test_dangerous_code_is_refused_with_its_reason(code, mode, reason):
    problems = sandbox.check(code, mode)
    assert any(reason in p for p in problems), problems
    with pytest.raises(sandbox.ScriptRejected):
        sandbox.Sandbox({}).execute(code, {}) if mode == "exec" else sandbox.Sandbox({}).evaluate(code, {})


def test_conditions_and_helpers_work_on_task_data():
    box = sandbox.Sandbox({"double": lambda n: n * 2})
    assert box.evaluate('review_resolution == "revise"', {"review_resolution": "revise"}) is True
    assert box.evaluate("double(len(projects)) + sum(p['budget'] for p in projects)",
                        {"projects": [{"budget": 1}, {"budget": 2}]}) == 7


def test_scripts_write_their_variables_back_but_not_helpers_or_functions():
    data = {"projects": [{"budget": 10}, {"budget": 5}]}
    sandbox.Sandbox({"helper": min}).execute("total = sum(p['budget'] for p in projects)\ncount = len(projects)", data)
    assert data["total"] == 15 and data["count"] == 2 and "helper" not in data


def test_a_script_that_runs_too_long_is_stopped():
    with pytest.raises(sandbox.ScriptTimeout):
        sandbox.Sandbox({}, time_limit=0.2).execute("x = 0\nwhile True:\n    x += 1", {})


def test_huge_ranges_are_refused():
    with pytest.raises(ValueError):
        sandbox.Sandbox({}).evaluate("len(range(10**9))", {})
