"""Designer code compiled and run with RestrictedPython in the calling process: the rules the code
must pass (check), the builtins it sees and the time limit a trace function keeps. The sandbox's
child process runs code with this; nothing else should (see sandbox.py for why).

RestrictedPython compiles the code (no underscore attributes, guarded item and attribute
access), a lint refuses imports and dangerous builtins at load time with the line they are
on, and a trace function stops code that runs longer than its time limit. Plain ``exec``
with trimmed builtins is not a sandbox: ``().__class__.__base__.__subclasses__()`` escapes it.

The time limit cannot be switched off from inside: the trace function stops the code with an
exception the code cannot catch (no handler may name BaseException or catch everything), and
whatever a script raises reaches the caller as an ordinary error. Work done inside one C call is
not traced, so what can make one call huge from constants alone is refused before it runs: large
constant powers and repetitions, math.factorial/comb/perm and pow. This module imports nothing of
the project and no SpiffWorkflow: the child process loads it on its own.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)

#: Names a script may never call, even if a future builtins list let them through.
FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "__import__", "input", "breakpoint", "globals",
    "locals", "vars", "getattr", "setattr", "delattr", "help", "exit", "quit", "memoryview",
    "type", "object", "super", "classmethod", "staticmethod", "property", "pow",
})
#: Exceptions a handler may not name: catching them would catch the time limit too.
UNCATCHABLE = frozenset({"BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"})
MAX_CONSTANT_POWER = 64  # x ** 64 of a small number is already beyond any budget figure
MAX_CONSTANT_REPEAT = 10_000  # "-" * 10_000 is a long line; "-" * 10**9 is a gigabyte
#: math functions that run in C for as long as their arguments ask
SLOW_MATH = frozenset({"factorial", "comb", "perm", "prod", "lcm", "gcd", "isqrt", "pow"})

_ALLOWED_BUILTINS = {
    name: value for name, value in safe_builtins.items()
    if name not in FORBIDDEN_NAMES and name not in UNCATCHABLE and name not in {"__build_class__", "id", "hash"}
}
_SAFE_MATH = types.SimpleNamespace(**{name: getattr(math, name) for name in dir(math)
                                      if not name.startswith("_") and name not in SLOW_MATH})
_ALLOWED_BUILTINS.update({
    "list": list, "dict": dict, "tuple": tuple, "set": set, "frozenset": frozenset,
    "min": min, "max": max, "sum": sum, "sorted": sorted, "any": any, "all": all,
    "enumerate": enumerate, "zip": zip, "map": map, "filter": filter, "reversed": reversed,
    "math": _SAFE_MATH,
})

MAX_RANGE = 100_000
DESIGNER_FILE = "<designer code>"  # the file name designer code is compiled under: the frames the limit stops


def _limited_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise ValueError(f"range() longer than {MAX_RANGE} items is not allowed in a script")
    return result


_ALLOWED_BUILTINS["range"] = _limited_range


_INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
            "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow}


def _inplace(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


class ScriptRejected(ValueError):
    """Code that the sandbox refuses to compile; ``problems`` names each reason and line."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class ScriptTimeout(RuntimeError):
    """The code ran past its time limit (raised to the caller, outside the code)."""


class ScriptStopped(RuntimeError):
    """The code raised an exception that is not an error (SystemExit, KeyboardInterrupt ...)."""


class ScriptResourceLimit(RuntimeError):
    """The code needed more of the machine than the sandbox allows (memory, the size of a result)."""


class _Stop(BaseException):
    """Raised inside the code by the trace function: no handler the sandbox allows catches it."""


def check(source: str, mode: str = "eval") -> list[str]:
    """Every reason this code may not run in the sandbox (empty when it may)."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        return [f"line {err.lineno}: syntax error: {err.msg}"]
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            problems.append(f"line {node.lineno}: import is not allowed in a script")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(f"line {node.lineno}: '{node.id}' is not allowed in a script")
        elif isinstance(node, ast.ExceptHandler) and (
                node.type is None or {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)} & UNCATCHABLE):
            problems.append(f"line {node.lineno}: 'except' must name the errors it handles, such as ValueError")
        elif isinstance(node, ast.Attribute) and node.attr in SLOW_MATH:
            problems.append(f"line {node.lineno}: '{node.attr}' is not allowed in a script")
        elif isinstance(node, ast.BinOp) and (reason := _unbounded(node)):
            problems.append(f"line {node.lineno}: {reason}")
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source)
    problems.extend(result.errors)
    return sorted(set(problems))


def storable(value: Any, depth: int = 0) -> bool:
    """Whether a value can be kept in a plan's state (JSON), so that every later step can load it."""
    if value is None or isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        return abs(value) < 10**18  # JSON readers lose precision beyond, and Python refuses 4,300 digits
    if isinstance(value, float):
        return math.isfinite(value)
    if depth > 20:
        return False
    if isinstance(value, (list, tuple)):
        return all(storable(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and storable(v, depth + 1) for k, v in value.items())
    return False


def _unbounded(node: ast.BinOp) -> str | None:
    """Why one operation would make a huge number or text in a single C call (None: it would not)."""
    right = node.right.value if isinstance(node.right, ast.Constant) else None
    left = node.left.value if isinstance(node.left, ast.Constant) else None
    if isinstance(node.op, ast.Pow):
        if not isinstance(right, (int, float)) or isinstance(right, bool) or abs(right) > MAX_CONSTANT_POWER:
            return f"'**' needs a constant exponent of at most {MAX_CONSTANT_POWER}"
    if isinstance(node.op, ast.Mult):
        for count in (left, right):
            if isinstance(count, int) and not isinstance(count, bool) and count > MAX_CONSTANT_REPEAT:
                return f"a constant factor above {MAX_CONSTANT_REPEAT:,} in '*' is not allowed in a script"
    if isinstance(node.op, ast.LShift):
        return "'<<' is not allowed in a script"
    return None


@functools.lru_cache(maxsize=2048)
def compiled(source: str, mode: str):
    """The restricted code object of ``source``; raises ScriptRejected with every reason it may not run."""
    problems = check(source, mode)
    if problems:
        raise ScriptRejected(problems)
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    return compiler(source, DESIGNER_FILE).code


@functools.lru_cache(maxsize=2048)
def names_in(source: str, mode: str) -> frozenset[str]:
    """Every plain name the code reads or binds: nothing else of the task data can matter to it
    (the builtins that would reach the others, globals() and vars(), are refused)."""
    return frozenset(node.id for node in ast.walk(ast.parse(source, mode=mode)) if isinstance(node, ast.Name))


def environment(names: dict[str, Any]) -> dict[str, Any]:
    """The globals restricted code runs with: the allowed builtins, RestrictedPython's guards and ``names``."""
    env = {
        "__builtins__": _ALLOWED_BUILTINS,
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplace,
    }
    env.update(names)
    return env


def evaluate(expression: str, env: dict[str, Any], time_limit: float) -> Any:
    code = compiled(expression.strip(), "eval")
    return run(lambda: eval(code, env), time_limit)  # noqa: S307 - restricted code


def execute(script: str, env: dict[str, Any], time_limit: float) -> None:
    """Run a script; what it binds is left in ``env``."""
    code = compiled(script, "exec")
    run(lambda: exec(code, env), time_limit)  # noqa: S102 - restricted code


def run(call: Callable[[], Any], time_limit: float, everywhere: bool = False) -> Any:
    """``call()`` stopped after ``time_limit`` seconds; a BaseException it raises becomes ScriptStopped.

    Only designer code is stopped, opcode by opcode: the trusted code it calls (a guard, a helper
    talking to the server process) is never cut off halfway through its work. ``everywhere``: stop
    trusted code too, line by line (a helper the server runs for the child).
    """
    deadline = time.monotonic() + time_limit

    def tracer(frame, event, arg):
        if not everywhere:
            if frame.f_code.co_filename != DESIGNER_FILE:
                return None
            # every opcode, not every line: a one-line loop (while True: pass) makes no line events
            frame.f_trace_opcodes = True
        if time.monotonic() > deadline:
            raise _Stop
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return call()
    except _Stop:
        raise ScriptTimeout(f"script ran longer than {time_limit} s") from None
    except Exception:
        raise
    except BaseException as err:  # a script's SystemExit must not end the process that runs it
        raise ScriptStopped(f"the script raised {type(err).__name__}") from None
    finally:
        sys.settrace(previous)
