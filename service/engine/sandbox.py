"""The sandbox that BPMN scripts, conditions and timer expressions run in.

RestrictedPython compiles the code (no underscore attributes, guarded item and attribute
access), a lint refuses imports and dangerous builtins at load time with the line they are
on, and a trace function stops code that runs longer than its time limit. Plain ``exec``
with trimmed builtins is not a sandbox: ``().__class__.__base__.__subclasses__()`` escapes it.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import sys
import time
from dataclasses import dataclass
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
    "type", "object", "super", "classmethod", "staticmethod", "property",
})

_ALLOWED_BUILTINS = {
    name: value for name, value in safe_builtins.items()
    if name not in FORBIDDEN_NAMES and name not in {"__build_class__", "id", "hash"}
}
_ALLOWED_BUILTINS.update({
    "list": list, "dict": dict, "tuple": tuple, "set": set, "frozenset": frozenset,
    "min": min, "max": max, "sum": sum, "sorted": sorted, "any": any, "all": all,
    "enumerate": enumerate, "zip": zip, "map": map, "filter": filter, "reversed": reversed,
    "math": math,
})

MAX_RANGE = 100_000


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
    pass


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
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(source)
    problems.extend(result.errors)
    return sorted(set(problems))


@functools.lru_cache(maxsize=2048)
def _compile(source: str, mode: str):
    problems = check(source, mode)
    if problems:
        raise ScriptRejected(problems)
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    return compiler(source).code


@dataclass
class Sandbox:
    """Runs restricted code against a data mapping with a few trusted helper functions."""

    helpers: dict[str, Any]
    time_limit: float = 1.0

    def _globals(self, data: dict[str, Any]) -> dict[str, Any]:
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
        env.update(self.helpers)
        env.update(data)
        return env

    def evaluate(self, expression: str, data: dict[str, Any]) -> Any:
        code = _compile(expression.strip(), "eval")
        return self._run(lambda: eval(code, self._globals(data)))  # noqa: S307 - restricted code

    def execute(self, script: str, data: dict[str, Any]) -> None:
        """Run a script; the names it binds (not helpers, not functions) become task data."""
        code = _compile(script, "exec")
        env = self._globals(data)
        self._run(lambda: exec(code, env))  # noqa: S102 - restricted code
        reserved = set(self.helpers) | {"__builtins__"}
        for name, value in env.items():
            if name in reserved or name.startswith("_") or callable(value):
                continue
            data[name] = value

    def _run(self, call):
        deadline = time.monotonic() + self.time_limit

        def tracer(frame, event, arg):
            if time.monotonic() > deadline:
                raise ScriptTimeout(f"script ran longer than {self.time_limit} s")
            return tracer

        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            return call()
        finally:
            sys.settrace(previous)
