"""The dry run: a version simulated from start to end before it is published, once with the first
choices, once more for each other value of every field a gateway reads, once for each boundary
timer let run out; with the findings that refuse it (a run that cannot finish) and warnings."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from service import engine
from service.bundles import samples
from service.bundles.catalog import START_FORM_KEY, Bundle
from service.bundles.elements import NS
from service.bundles.findings import Finding, finding
from service.bundles.lint import Checked
from service.engine import safexml
from service.taskforms import rules
from service.thai import legaldays

MAX_DRY_RUN_STEPS = 300


@dataclass
class Run:
    """One simulated plan: what was chosen, the steps it took, and whether it finished."""

    label_th: str
    label_en: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    transitions: set[tuple[str, str]] = field(default_factory=set)
    fired: set[str] = field(default_factory=set)

    def as_dict(self, lang: str = "th") -> dict[str, Any]:
        return {"label": self.label_th if lang == "th" else self.label_en, "finished": self.finished,
                "steps": self.steps}


@dataclass
class _Variant:
    label_th: str
    label_en: str
    offsets: dict[str, int] = field(default_factory=dict)  # decision field -> first choice
    early_timer: str | None = None  # a boundary timer let fire before its task is done


def dry_run(checked: Checked, start: datetime) -> tuple[list[Run], list[Finding]]:
    """Simulate the version from start to end: once with the first choices, once more for each
    other value of every field a gateway reads, once for each boundary timer let run out.
    The problems are those that refuse the version (a run that cannot finish) and warnings."""
    bundle = checked.bundle
    decisions = decision_fields(bundle)
    variants = [_Variant("เส้นทางหลัก", "main path")]
    for name, values in decisions.items():
        variants += [_Variant(_path_in_thai(bundle.forms, name, values[k]), f"{name} = {values[k]!r}", {name: k})
                     for k in range(1, len(values))]
    for key, timer in checked.outline.timers.items():
        if timer["attached_to"]:
            label = timer["name"] or key
            variants.append(_Variant(f"ปล่อยให้ครบกำหนด {label}", f"let {label} run out", early_timer=key))
    bpmn_file = next(iter(bundle.bpmn_files))
    runs, problems = [], []
    for variant in variants:
        run = _simulate(checked, variant, decisions, start)
        runs.append(run)
        if not run.finished:
            last = run.steps[-1]["name"] if run.steps else "-"
            problem = run.steps[-1].get("problem") if run.steps else None
            if problem:
                problems.append(finding(bpmn_file, None, "dry_run_failed", run=variant.label_th, where=last,
                                        detail=problem))
            elif len(run.steps) >= MAX_DRY_RUN_STEPS:
                problems.append(finding(bpmn_file, None, "dry_run_endless", run=variant.label_th,
                                        steps=MAX_DRY_RUN_STEPS, where=last))
            else:
                problems.append(finding(bpmn_file, None, "dry_run_stuck", run=variant.label_th, where=last))
    taken = set().union(*(r.transitions for r in runs))
    fired = set().union(*(r.fired for r in runs))
    names = {**{k: v["name"] or k for k, v in checked.outline.tasks.items()}}
    warnings = [finding(bpmn_file, None, "branch_not_taken", warning=True, where=gateway,
                        target=names.get(target, target))
                for gateway, target in checked.outline.branches if (gateway, target) not in taken]
    warnings += [finding(bpmn_file, None, "timer_not_fired", warning=True, where=t["name"] or key)
                 for key, t in checked.outline.timers.items() if key not in fired]
    return runs, problems + warnings


def _simulate(checked: Checked, variant: _Variant, decisions: dict[str, list[Any]], start: datetime) -> Run:
    bundle, model = checked.bundle, checked.model
    run = Run(variant.label_th, variant.label_en)
    helpers = legaldays.timer_helpers(())
    now = start
    visits: dict[str, int] = {}

    def data_for(form_name: str | None, task_name: str) -> dict[str, Any]:
        schema = bundle.forms.get(form_name or "", {"type": "object", "properties": {}})
        visit = visits.get(task_name, 0)
        choose = {field_name: values[(variant.offsets.get(field_name, 0) + visit) % len(values)]
                  for field_name, values in decisions.items()}
        return samples.sample(schema, now, choose)

    start_data = {**samples.START_DATA, **data_for(bundle.meta.get(START_FORM_KEY), "(start)")}
    acting = "เริ่มกระบวนงาน"  # what the run was doing: named when a script fails and the engine does not say
    try:
        instance = engine.Instance.start(model, start_data, now, helpers)
        while len(run.steps) < MAX_DRY_RUN_STEPS:
            if instance.completed:
                run.finished = True
                run.steps.append({"kind": "end", "name": "จบกระบวนงาน", "at": now.isoformat()})
                break
            waiting = instance.waiting_timers()
            early = [t for t in waiting if t[0] == variant.early_timer and t[2] is not None]
            open_tasks = instance.open_tasks()
            due = [t[2] for t in (early or ([] if open_tasks else waiting)) if t[2] is not None]
            if due:
                now = max(now, min(due) + timedelta(seconds=1))
                acting = ", ".join(t[1] for t in waiting if t[2] is not None and t[2] < now) or "กำหนดเวลา"
                names = instance.fire_due_timers(now)
                fired = {t[0] for t in waiting} - {t[0] for t in instance.waiting_timers()}
                run.fired.update(fired)
                if variant.early_timer in fired:  # once is enough: later visits are done in time
                    variant = _Variant(variant.label_th, variant.label_en, variant.offsets)
                run.steps.append({"kind": "timer", "name": ", ".join(names) or "-", "at": now.isoformat()})
                continue
            if not open_tasks:
                break
            task = open_tasks[0]
            form_name = task.properties.get(engine.FORM_PROPERTY)
            data = data_for(form_name, task.spec_name)
            visits[task.spec_name] = visits.get(task.spec_name, 0) + 1
            acting = task.title or task.spec_name
            broken = rules.failures(bundle.forms.get(form_name or "", {}), data, task.data, legaldays.day_of(now),
                                    helpers)
            if broken:
                raise engine.ScriptFailed(f"กฎตรวจข้อมูลของแบบฟอร์ม {form_name} ทำงานไม่ได้: {broken[0]}", acting)
            instance.complete(task.id, data, now)
            run.steps.append({"kind": "task", "id": task.spec_name, "name": task.title, "lane": task.lane,
                              "role": bundle.lane_roles.get(task.lane or ""), "at": now.isoformat()})
            now += timedelta(hours=1)
    except engine.ScriptFailed as err:
        run.steps.append({"kind": "error", "name": err.step or acting, "problem": str(err)})
        return run
    run.transitions = instance.transitions()
    return run


def _path_in_thai(forms: dict[str, Any], name: str, value: Any) -> str:
    """The path a decision takes, as its form words it: เส้นทางที่ “มติที่ประชุม” เป็น “ให้แก้ไขร่าง”."""
    for schema in forms.values():
        field_schema = (schema.get("properties") or {}).get(name) if isinstance(schema, dict) else None
        if not isinstance(field_schema, dict):
            continue
        title = field_schema.get("title") or name
        shown = {True: "ใช่", False: "ไม่ใช่"}.get(value, value) if isinstance(value, bool) else value
        choices, titles = field_schema.get("enum") or [], field_schema.get("x-enumTitles") or []
        if value in choices and choices.index(value) < len(titles):
            shown = titles[choices.index(value)]
        return f"เส้นทางที่ “{title}” เป็น “{shown}”"
    return f"เส้นทางที่ {name} = {value!r}"


def decision_fields(bundle: Bundle) -> dict[str, list[Any]]:
    """Closed-list form fields that some gateway condition reads: the dry run tries each value."""
    enums = samples.enums(bundle.forms)
    names: set[str] = set()
    for text in bundle.bpmn_files.values():
        tree = safexml.parse(text.encode("utf-8"))
        for expression in tree.iterfind(".//bpmn:conditionExpression", NS):
            try:
                names.update(n.id for n in ast.walk(ast.parse((expression.text or "").strip(), mode="eval"))
                             if isinstance(n, ast.Name))
            except SyntaxError:
                continue
    return {name: values for name, values in enums.items() if name in names and len(values) > 1}

