"""The sandbox's child process (issue 12, item 2): limits that hold whatever the code does inside one
C call, a child that comes back after it died, helpers called back in the server, and only the task
data the code uses sent to it."""

from __future__ import annotations

import ast
import os
import signal
import threading
from datetime import date
from pathlib import Path

import pytest

from service.engine import sandbox
from service.thai import legaldays

ENGINE = Path(sandbox.__file__).parent


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def child_pid() -> int:
    sandbox.Sandbox({}).evaluate("1", {})  # started if it was not
    assert sandbox.CHILD.pid is not None
    return sandbox.CHILD.pid


@pytest.mark.parametrize("mode, code, n", [
    ("eval", "len('x' * n)", 10**9),  # one C call asking for a gigabyte
    ("exec", "rows = [[0] * 10000 for i in range(n)]", 10_000),  # 80 kB a row, 800 MB in all
])
def test_a_data_sized_memory_hog_gets_a_clear_error_and_the_next_call_works(mode, code, n):
    box = sandbox.Sandbox({}, time_limit=60)  # filling 512 MiB page by page takes seconds on a busy machine
    data = {"n": n}
    with pytest.raises(sandbox.ScriptResourceLimit, match="script used more memory than allowed"):
        box.evaluate(code, data) if mode == "eval" else box.execute(code, data)
    assert "rows" not in data
    assert box.evaluate("n + 1", {"n": 1}) == 2


def test_a_c_call_that_outlasts_the_wall_clock_is_killed_and_the_child_restarts(monkeypatch):
    monkeypatch.setattr(sandbox, "GRACE", 0.2)
    before = child_pid()
    box = sandbox.Sandbox({}, time_limit=0.05)
    # one multiplication of a 55-million-bit number: over a minute in C, where no trace function reaches
    with pytest.raises(sandbox.ScriptTimeout, match="longer than 0.05 s"):
        box.evaluate("n ** 64", {"n": 10 ** 262_144})
    assert gone(before), "the child was killed and waited for"
    assert box.evaluate("n * 2", {"n": 21}) == 42
    assert sandbox.CHILD.pid != before


def test_the_kernel_stops_a_c_call_when_the_wall_clock_does_not(monkeypatch):
    """The CPU-time limit is the backstop should the server stop watching (a stuck or dead server)."""
    monkeypatch.setattr(sandbox, "GRACE", 120)
    with pytest.raises(sandbox.ScriptTimeout, match="more CPU time than allowed"):
        sandbox.Sandbox({}, time_limit=0.05).evaluate("n ** 64", {"n": 10 ** 262_144})
    assert sandbox.Sandbox({}).evaluate("1 + 1", {}) == 2


def test_a_killed_child_is_restarted_without_the_caller_noticing():
    before = child_pid()
    os.kill(before, signal.SIGKILL)
    assert sandbox.Sandbox({}).evaluate("x * 2", {"x": 4}) == 8
    assert sandbox.CHILD.pid != before and gone(before)


def test_helpers_are_called_back_in_the_server_with_its_holidays():
    holidays = [date(2020, 10, 13), date(2020, 10, 23)]
    box = sandbox.Sandbox(legaldays.timer_helpers(holidays))
    data = {"budget_announced_on": "2020-10-01"}
    assert box.evaluate("legal_deadline(budget_announced_on, 30)", data) == \
        legaldays.timer_helpers(holidays)["legal_deadline"]("2020-10-01", 30)
    assert box.evaluate("end_of('2020-10-01') < legal_minimum('2020-10-01', 1)", {}) is True


def test_a_helper_error_can_be_handled_by_the_script_or_reaches_the_caller_as_it_was():
    class Closed(ValueError):
        pass

    def closed(day):
        raise Closed(f"{day} is closed")

    box = sandbox.Sandbox({**legaldays.timer_helpers(()), "closed": closed})
    data: dict = {}
    box.execute("try:\n    due = legal_deadline('2020-10-01', -1)\nexcept ValueError:\n    due = 'none'", data)
    assert data == {"due": "none"}
    with pytest.raises(Closed, match="2020-10-01 is closed"):
        box.evaluate("closed('2020-10-01')", {})


def test_a_helper_given_what_is_not_a_plain_value_is_refused_clearly():
    box = sandbox.Sandbox(legaldays.timer_helpers(()))
    with pytest.raises(TypeError, match="legal_deadline\\(\\) was given a generator"):
        box.evaluate("legal_deadline((d for d in days), 1)", {"days": ["2020-10-01"]})


def test_a_helper_that_exits_stops_the_script_not_the_server():
    def leave():
        raise SystemExit(3)

    with pytest.raises(sandbox.ScriptStopped, match="SystemExit"):
        sandbox.Sandbox({"leave": leave}).evaluate("leave()", {})
    assert sandbox.Sandbox({}).evaluate("2 + 2", {}) == 4


@pytest.mark.parametrize("code, error", [
    ("raise SystemExit", NameError),
    ("while True: pass", sandbox.ScriptTimeout),
    ("try:\n    while True:\n        pass\nexcept Exception:\n    pass\nwhile True:\n    pass", sandbox.ScriptTimeout),
    ("x = ().__class__.__base__.__subclasses__()", sandbox.ScriptRejected),
    ("import os", sandbox.ScriptRejected),
    ("x = 10 ** 10 ** 10", sandbox.ScriptRejected),
    ("x = {}['missing']", KeyError),
])
def test_hostile_scripts_are_refused_or_stopped_and_the_child_goes_on(code, error):
    before = child_pid()
    with pytest.raises(error):
        sandbox.Sandbox({}, time_limit=0.2).execute(code, {})
    assert sandbox.Sandbox({}).evaluate("3", {}) == 3
    assert sandbox.CHILD.pid == before  # stopped inside the child: no restart was needed


def test_a_script_that_changes_a_list_from_the_data_returns_the_change_and_nothing_it_left_alone():
    untouched = {"name": "เทศบาลตำบลทดสอบ"}
    data = {"projects": [{"budget": 1}], "office": untouched, "unread": [1]}
    sandbox.Sandbox({}).execute(
        "projects.append({'budget': 2})\nprojects[0]['budget'] = 5\ntotal = sum(p['budget'] for p in projects)\n"
        "name = office['name']", data)
    assert data["projects"] == [{"budget": 5}, {"budget": 2}] and data["total"] == 7
    assert data["name"] == "เทศบาลตำบลทดสอบ" and data["office"] is untouched and data["unread"] == [1]


def test_only_the_names_the_code_uses_are_sent():
    data = {"projects": [{"name": f"โครงการที่ {n}", "budget": n} for n in range(5000)],
            "review_resolution": "revise", "fiscal_year": 2564}
    box = sandbox.Sandbox(legaldays.timer_helpers(()))
    assert box.evaluate('review_resolution == "revise"', data) is True
    assert sandbox.CHILD.received_last() == ("review_resolution",)
    box.execute("count = len(projects) + fiscal_year", data)
    assert sandbox.CHILD.received_last() == ("fiscal_year", "projects") and data["count"] == 7564
    assert box.evaluate("legal_deadline('2020-10-01', 1)", data)
    assert sandbox.CHILD.received_last() == ()  # a helper is called back, not sent


@pytest.mark.parametrize("code, kind", [("(p for p in projects)", "generator"), ("lambda: 1", "function"),
                                        ("map(str, projects)", "map")])
def test_a_result_that_cannot_leave_the_child_is_a_clear_error(code, kind):
    with pytest.raises(TypeError, match=f"result holds a {kind}, which cannot leave the sandbox"):
        sandbox.Sandbox({}).evaluate(code, {"projects": [1]})


def test_threads_share_the_child_one_request_at_a_time():
    results: dict[int, list] = {}

    def work(n):
        box = sandbox.Sandbox({"double": lambda x: 2 * x})
        results[n] = [box.evaluate("double(n) + i", {"n": n, "i": i}) for i in range(20)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: [2 * n + i for i in range(20)] for n in range(4)}


def test_a_forked_server_process_starts_a_child_of_its_own():
    before = child_pid()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the forked worker: its own child, then stopped before it leaves
        try:
            value = sandbox.Sandbox({}).evaluate("6 * 7", {})
            os.write(write, f"{value} {sandbox.CHILD.pid}".encode())
            sandbox.CHILD.stop()
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        value, its_child = answer.read().split()
    os.waitpid(pid, 0)
    assert value == "42" and int(its_child) != before
    assert sandbox.Sandbox({}).evaluate("1 + 1", {}) == 2 and sandbox.CHILD.pid == before


def test_stopping_leaves_no_process_behind():
    before = child_pid()
    sandbox.CHILD.stop()
    assert gone(before) and sandbox.CHILD.pid is None
    assert sandbox.Sandbox({}).evaluate("1", {}) == 1  # and the next call starts one again


def test_the_child_loads_nothing_of_the_server_and_no_spiffworkflow():
    for module in ("sandbox_child.py", "restricted.py"):
        tree = ast.parse((ENGINE / module).read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {f"{node.module}.{alias.name}" if node.module == "service.engine" else node.module or ""
                     for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
        service = {name for name in imported if name.startswith("service")}
        assert service <= {"service.engine.restricted"}, module
        assert not {name for name in imported if name.startswith("SpiffWorkflow")}, module
