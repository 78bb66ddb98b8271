"""The house's rules, kept by the suite rather than by memory: which package of service/ may import
which (arrows point down only), no import cycle (late imports inside functions count too), no
private name imported across modules, absolute imports only, and the libraries each layer owns."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[2] / "service"

#: package (or top-level module) of service/ -> what it may import besides itself. Read it top down:
#: the pages and the API call commands and queries, which call the engine, bundles, task forms and
#: Thai rules over the models; nothing below imports anything above.
ALLOWED: dict[str, set[str]] = {
    "errors": set(), "clock": set(), "config": set(), "oplog": set(), "thai": set(), "models": set(),
    "gunicorn_conf": set(),
    "db": {"models"},
    "migrations": {"models", "thai"},
    "auth": {"errors", "models"},
    "eventlog": {"models"},
    "labels": {"auth", "eventlog"},
    "deadlines": {"labels", "thai"},
    "engine": {"thai"},
    "taskforms": {"engine", "errors", "thai"},
    "bundles": {"auth", "engine", "errors", "eventlog", "models", "taskforms", "thai"},
    "evidence": {"auth", "context", "errors", "models", "taskforms"},  # attachments: their store and reads
    "context": {"bundles", "clock", "config", "db", "models", "thai"},
    "queries": {"auth", "bundles", "context", "deadlines", "engine", "errors", "eventlog", "labels", "models", "thai"},
    # the oversight dashboard's reads, and the plans' standings it reads, written with each save
    "oversight": {"auth", "bundles", "context", "deadlines", "errors", "models", "thai"},
    # the public notice board's reads: announced items only, over the documents' records
    "noticeboard": {"bundles", "context", "documents", "errors", "eventlog", "models", "thai"},
    # the plan's year: the tracked list, its replay and reads (over the documents' parsing of projects)
    "tracking": {"auth", "bundles", "context", "documents", "errors", "eventlog", "evidence", "models", "taskforms",
                 "thai"},
    "documents": {"auth", "bundles", "config", "context", "deadlines", "engine", "errors", "eventlog", "labels",
                  "models", "queries", "thai"},
    "audit": {"auth", "bundles", "context", "deadlines", "engine", "errors", "eventlog", "evidence", "labels",
              "models", "queries", "thai"},
    "channels": set(),  # the adapters notifications travel by (e-mail, LINE): the standard library only
    "commands": {"auth", "bundles", "channels", "context", "documents", "engine", "errors", "eventlog", "evidence",
                 "labels", "models", "oplog", "oversight", "queries", "taskforms", "thai", "tracking"},
    "http": {"auth", "bundles", "context", "errors", "oplog"},
    "api": {"audit", "auth", "bundles", "commands", "documents", "errors", "evidence", "http", "oversight", "queries",
            "tracking"},
    "web": {"audit", "auth", "bundles", "commands", "config", "documents", "errors", "eventlog", "evidence", "http",
            "labels", "noticeboard", "oversight", "queries", "taskforms", "thai", "tracking"},
    "app": {"api", "config", "context", "http", "oplog", "web"},
    "wsgi": {"app", "oplog"},
    "cli": {"app", "audit", "auth", "bundles", "commands", "config", "context", "engine", "errors", "oplog",
            "oversight", "queries", "thai", "tracking"},
}
#: third-party packages only some layers may touch
OWNED = {
    "SpiffWorkflow": {"engine"}, "RestrictedPython": {"engine"}, "weasyprint": {"documents"},
    "openpyxl": {"taskforms"}, "jsonschema": {"taskforms"}, "flask": {"api", "app", "http", "oplog", "web"},
    "flask_login": {"web"}, "flask_wtf": {"http", "web"}, "click": {"cli"},
    "sqlalchemy": {"audit", "auth", "bundles", "cli", "commands", "context", "db", "documents", "evidence",
                   "migrations", "models", "noticeboard", "oversight", "queries", "tracking", "wsgi"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SERVICE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


MODULES = {_module_name(path): path for path in sorted(SERVICE.rglob("*.py"))}


def _imports(path: Path) -> list[tuple[int, str, list[str], int]]:
    """(line, imported module, names taken from it, relative level) of every import, late ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, [], 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, node.module or "", [a.name for a in node.names], node.level))
    return found


def _targets(module: str, names: list[str]) -> list[str]:
    """The service modules an import statement loads: ``from service.x import y`` loads service.x.y
    when y is a module of its own, else service.x."""
    return [f"{module}.{name}" if f"{module}.{name}" in MODULES else module for name in names] or [module]


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        for _, imported, names, _ in _imports(path):
            if imported == "service" or imported.startswith("service."):
                graph[module].update(t for t in _targets(imported, names) if t != module)
    return graph


def test_every_package_is_placed_in_the_layers():
    assert {_layer(m) for m in MODULES} - {"(package)"} <= set(ALLOWED)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_only(module):
    layer = _layer(module)
    wrong = []
    for line, imported, names, level in _imports(MODULES[module]):
        if level:
            wrong.append(f"line {line}: a relative import; write service.… in full")
        elif imported == "service" or imported.startswith("service."):
            for target in _targets(imported, names):
                if _layer(target) not in ALLOWED.get(layer, set()) | {layer}:
                    wrong.append(f"line {line}: {layer} may not import {target}")
        elif imported.split(".")[0] in OWNED and layer not in OWNED[imported.split(".")[0]]:
            wrong.append(f"line {line}: {imported} belongs to {', '.join(sorted(OWNED[imported.split('.')[0]]))}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_is_taken_from_another_module(module):
    taken = [f"line {line}: {name} from {imported}" for line, imported, names, _ in _imports(MODULES[module])
             if imported.startswith("service") for name in names
             if name.startswith("_") and not name.startswith("__")]
    assert not taken, "\n".join(taken)


def test_no_import_cycle():
    graph = _edges()
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_the_rules_can_fail():
    """The checks above see what they are meant to: a made-up upward import and cycle are caught."""
    assert "web" not in ALLOWED["commands"] and "api" not in ALLOWED["web"] and "web" not in ALLOWED["api"]
    graph = _edges()
    assert "service.commands.plans" in graph["service.api.tasks"]  # edges are read at all
    assert any(t.startswith("service.engine") for t in graph["service.commands.plans"])
