"""What process designers do without a developer: check a bundle, simulate it, compare it with the
version in force, publish it as a new immutable version; and what an administrator does with
it: move a running plan to the newer version when nothing it has done changes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from service import engine, oplog
from service.auth import Actor, actor_of
from service.bundles import catalog, lint
from service.bundles.lint import BundleRejected, Finding, finding
from service.commands import plans
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import Draft, Plan, ProcessVersion, User
from service.thai import legaldays

DESIGNER = "designer"
MAX_DRY_RUN_STEPS = 300


def require_designer(actor: Actor) -> None:
    if not any(role == DESIGNER for _, role in actor.memberships):
        raise Forbidden("เฉพาะผู้ออกแบบกระบวนงาน (บทบาท designer) เท่านั้นที่ตรวจและเผยแพร่กระบวนงานได้")


def actor_named(ctx: Context, username: str) -> Actor:
    """The actor a command-line user acts as. :raise NotFound: no such active user."""
    with ctx.db.read() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.is_active:
            raise NotFound(f"ไม่พบผู้ใช้ {username}")
        return actor_of(user)


# --- Dry run ------------------------------------------------------------------------------
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


def dry_run(checked: lint.Checked, start: datetime) -> tuple[list[Run], list[Finding]]:
    """Simulate the version from start to end: once with the first choices, once more for each
    other value of every field a gateway reads, once for each boundary timer let run out.
    The problems are those that refuse the version (a run that cannot finish) and warnings."""
    bundle = checked.bundle
    decisions = lint.decision_fields(bundle)
    variants = [_Variant("เส้นทางหลัก", "main path")]
    for name, values in decisions.items():
        variants += [_Variant(f"{name} = {values[k]!r}", f"{name} = {values[k]!r}", {name: k})
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


def _simulate(checked: lint.Checked, variant: _Variant, decisions: dict[str, list[Any]], start: datetime) -> Run:
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
        return lint.sample(schema, now, choose)

    start_data = {**lint.START_DATA, **data_for(bundle.meta.get("start_form"), "(start)")}
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
            data = data_for(task.properties.get(engine.FORM_PROPERTY), task.spec_name)
            visits[task.spec_name] = visits.get(task.spec_name, 0) + 1
            instance.complete(task.id, data, now)
            run.steps.append({"kind": "task", "id": task.spec_name, "name": task.title, "lane": task.lane,
                              "role": bundle.lane_roles.get(task.lane or ""), "at": now.isoformat()})
            now += timedelta(hours=1)
    except engine.ScriptFailed as err:
        run.steps.append({"kind": "error", "name": run.steps[-1]["name"] if run.steps else "เริ่มกระบวนงาน",
                          "problem": str(err)})
        return run
    run.transitions = instance.transitions()
    return run


# --- Validate, diff, publish -----------------------------------------------------------------
@dataclass
class Report:
    """What a designer sees before (or after) publishing a bundle."""

    name: str
    ok: bool
    problems: list[Finding]
    warnings: list[Finding] = field(default_factory=list)
    diff: dict[str, list[dict[str, Any]]] | None = None
    against: int | None = None  # the version the diff compares with
    runs: list[Run] = field(default_factory=list)
    version: int | None = None
    published: bool = False

    def as_dict(self, lang: str = "th") -> dict[str, Any]:
        return {
            "name": self.name, "ok": self.ok, "version": self.version, "published": self.published,
            "problems": [p.as_dict(lang) for p in self.problems],
            "warnings": [w.as_dict(lang) for w in self.warnings],
            "diff": {"against_version": self.against, "changes": self.diff} if self.diff is not None else None,
            "dry_run": [r.as_dict(lang) for r in self.runs],
        }


def validate(ctx: Context, files: dict[str, bytes], default_name: str | None = None) -> tuple[Report, lint.Checked | None]:
    """Every check and the dry run, and the diff against the latest version; stores nothing."""
    try:
        checked = lint.check(files, default_name)
    except BundleRejected as err:
        return Report(default_name or "", False, err.findings), None
    runs, findings = dry_run(checked, ctx.clock.now())
    problems = [f for f in findings if not f.warning]
    warnings = [f for f in findings if f.warning]
    with ctx.db.read() as session:
        current = catalog.latest(session, checked.bundle.name)
        old = lint.outline(_bundle_of(current)) if current is not None else None
        against = current.version if current is not None else None
    return Report(checked.bundle.name, not problems, problems, warnings, lint.diff(old, checked.outline), against,
                  runs), checked


def deploy(ctx: Context, actor: Actor, files: dict[str, bytes], default_name: str | None = None,
           expected_version: int | None = None) -> Report:
    """Validate and, if nothing is wrong, publish as the next version. ``expected_version`` is the
    version the designer saw the diff against: if another was published meanwhile, refuse."""
    require_designer(actor)
    started = time.perf_counter()
    report, checked = validate(ctx, files, default_name)
    if not report.ok:
        return report
    with ctx.db.write() as session:
        current = catalog.latest(session, checked.bundle.name)
        if expected_version is not None and (current.version if current else 0) != expected_version:
            raise Conflict("มีผู้เผยแพร่กระบวนงานนี้ฉบับใหม่ไปก่อนแล้ว กรุณาตรวจความแตกต่างอีกครั้ง")
        version, created = catalog.publish(session, checked.bundle, actor.username, ctx.clock.now())
        report.version, report.published = version.version, created
    oplog.command("process_published", started, process=report.name, version=report.version, user=actor.username)
    return report


def _bundle_of(version: ProcessVersion) -> catalog.Bundle:
    return catalog.Bundle(version.name, version.bpmn_files, version.forms, version.lane_roles, version.meta)


def files_of_folder(folder: Path, forms_dir: Path | None = None) -> dict[str, bytes]:
    """A bundle folder's .bpmn and .json files, plus the referenced forms it lacks from forms_dir."""
    if not folder.is_dir():
        raise Invalid(f"ไม่พบโฟลเดอร์ {folder}")
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in (".bpmn", ".json")}
    if forms_dir is not None and forms_dir.is_dir():
        wanted = catalog._referenced_forms({k: v.decode("utf-8", "replace") for k, v in files.items()
                                            if k.endswith(".bpmn")})
        try:
            start_form = lint.json.loads(files.get(catalog.META_FILE, b"{}")).get("start_form")
        except (ValueError, AttributeError):
            start_form = None
        for name in wanted | ({start_form} if isinstance(start_form, str) else set()):
            if name not in files and (forms_dir / name).is_file():
                files[name] = (forms_dir / name).read_bytes()
    return files


def processes(ctx: Context) -> list[dict[str, Any]]:
    """Every process with its versions, newest first."""
    with ctx.db.read() as session:
        rows = session.execute(select(ProcessVersion.id, ProcessVersion.name, ProcessVersion.version,
                                      ProcessVersion.title, ProcessVersion.meta, ProcessVersion.published_at,
                                      ProcessVersion.published_by)
                               .order_by(ProcessVersion.name, ProcessVersion.version.desc())).all()
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = result.setdefault(row.name, {"name": row.name, "title": row.title, "latest": row.version,
                                             "versions": []})
        entry["versions"].append({
            "version": row.version, "title": row.title, "published_at": row.published_at.isoformat(),
            "published_by": row.published_by, "regulation": row.meta.get("regulation"),
            "effective_on": row.meta.get("effective_on"), "change_note": row.meta.get("change_note"),
        })
    return list(result.values())


def version_files(ctx: Context, name: str, number: int | None = None) -> dict[str, str]:
    """The files of a published version (the latest when ``number`` is None), as text."""
    with ctx.db.read() as session:
        query = select(ProcessVersion).where(ProcessVersion.name == name)
        row = session.scalars(query.where(ProcessVersion.version == number) if number else
                              query.order_by(ProcessVersion.version.desc()).limit(1)).first()
        if row is None:
            raise NotFound(f"ไม่พบกระบวนงาน {name}" + (f" ฉบับที่ {number}" if number else ""))
        files = dict(row.bpmn_files)
        files.update({form: lint.json.dumps(schema, ensure_ascii=False, indent=2) for form, schema in row.forms.items()})
        files[catalog.ROLE_MAP_FILE] = lint.json.dumps({"lanes": row.lane_roles}, ensure_ascii=False, indent=2)
        files[catalog.META_FILE] = lint.json.dumps(row.meta, ensure_ascii=False, indent=2)
        return files


# --- Migration ------------------------------------------------------------------------------
_STATES = {"completed": "ทำเสร็จแล้ว", "started": "กำลังดำเนินการ", "ready": "รอดำเนินการ", "waiting": "กำลังนับเวลา",
           "cancelled": "ยกเลิกแล้ว", "error": "ผิดพลาด"}
_CHANGES = {"changed": "ถูกแก้ไข", "removed": "ถูกลบ"}


def migrate_plan(ctx: Context, actor: Actor, plan_id: int, to_version: int | None = None) -> dict[str, Any]:
    """Move a running plan to a newer version of its process (the latest by default), recorded in
    its event log. :raise Conflict: when a step the plan has reached or passed was changed."""
    started, now = time.perf_counter(), ctx.clock.now()
    with ctx.db.write() as session:
        plan = session.get(Plan, plan_id)
        if plan is None or not actor.can_see(plan.organization_id):
            raise NotFound("ไม่พบแผนนี้")
        if plans.ADMIN not in actor.roles_in(plan.organization_id):
            raise Forbidden("การย้ายแผนไปใช้กระบวนงานฉบับใหม่ทำได้เฉพาะผู้ดูแลระบบขององค์กร")
        if plan.status != "running":
            raise Conflict("แผนนี้เสร็จสิ้นกระบวนงานแล้ว จึงย้ายฉบับไม่ได้")
        current = ctx.models.published(session, plan.process_version_id)
        query = select(ProcessVersion).where(ProcessVersion.name == current.name)
        target = session.scalars(query.where(ProcessVersion.version == to_version) if to_version else
                                 query.order_by(ProcessVersion.version.desc()).limit(1)).first()
        if target is None:
            raise NotFound(f"ไม่พบกระบวนงาน {current.name} ฉบับที่ {to_version}")
        if target.version <= current.version:
            raise Conflict(f"แผนนี้ใช้กระบวนงานฉบับที่ {current.version} อยู่แล้ว ย้ายได้เฉพาะไปฉบับที่ใหม่กว่า")
        published = ctx.models.published(session, target.id)
        instance = engine.Instance.restore(current.model, plan.state_json, ctx.timer_helpers(session, now))
        try:
            instance.migrate(published.model, now)
        except engine.MigrationRefused as err:
            reasons = [{"field": b.bpmn_id, "message": f"ขั้นตอน «{b.name or b.bpmn_id}» ซึ่ง{_STATES.get(b.state, b.state)}"
                        f" {_CHANGES[b.change]}ในฉบับที่ {target.version}"} for b in err.blockers]
            raise Conflict(f"ย้ายแผนไปฉบับที่ {target.version} ไม่ได้: ฉบับใหม่แก้ไขขั้นตอนที่แผนดำเนินการถึงหรือผ่านมาแล้ว",
                           reasons) from err
        except engine.ScriptFailed as err:
            raise Conflict(f"ย้ายแผนไปฉบับที่ {target.version} ไม่ได้: {err}") from err
        plan.process_version_id = target.id
        data = {"from_version": current.version, "to_version": target.version,
                "from_version_id": current.id, "to_version_id": target.id}
        plans.record(session, plan, instance, published, now, actor, role=plans.ADMIN, kind="version_migrated",
                        data=data)
    oplog.command("version_migrated", started, plan=plan_id, user=actor.username, **data)
    return data


# --- Drafts (the in-browser modeler) ------------------------------------------------------
def save_draft(ctx: Context, actor: Actor, name: str, files: dict[str, str], based_on: int | None = None) -> dict[str, Any]:
    """Keep the modeler's files as a new draft of process ``name``. A draft may still have problems
    (validate and publish check it); only its file names and sizes are held to the limits here.
    :raise Invalid: a bad process name, file name or size."""
    require_designer(actor)
    if not lint.NAME_PATTERN.match(name):
        raise Invalid(lint.MESSAGES["bad_name"][0].format(name=name), [{"field": "name", "message": "ชื่อกระบวนงานใช้ไม่ได้"}])
    problems = lint._check_files({filename: text.encode("utf-8") for filename, text in files.items()})
    if problems:
        raise Invalid("บันทึกร่างไม่ได้: " + " ".join(p.message() for p in problems),
                      [{"field": p.file, "message": p.message()} for p in problems])
    with ctx.db.write() as session:
        draft = Draft(name=name, based_on_version=based_on, files=files, saved_by=actor.username,
                      saved_at=ctx.clock.now())
        session.add(draft)
        session.flush()
        return _draft_dict(draft)


def draft(ctx: Context, actor: Actor, draft_id: int) -> dict[str, Any]:
    """A saved draft with its files. :raise NotFound: no such draft."""
    require_designer(actor)
    with ctx.db.read() as session:
        row = session.get(Draft, draft_id)
        if row is None:
            raise NotFound(f"ไม่พบร่างที่ {draft_id}")
        return {**_draft_dict(row), "files": dict(row.files)}


def drafts(ctx: Context, per_process: int = 5) -> dict[str, list[dict[str, Any]]]:
    """The latest drafts of each process, newest first (without their files)."""
    with ctx.db.read() as session:
        rows = session.execute(select(Draft.id, Draft.name, Draft.based_on_version, Draft.saved_by, Draft.saved_at)
                               .order_by(Draft.name, Draft.id.desc())).all()
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        listed = result.setdefault(row.name, [])
        if len(listed) < per_process:
            listed.append(_draft_dict(row))
    return result


def _draft_dict(row) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "based_on_version": row.based_on_version, "saved_by": row.saved_by,
            "saved_at": row.saved_at.isoformat()}
