"""What process designers do without a developer: check a bundle, simulate it, compare it with the
version in force, publish it as a new immutable version; and what an administrator does with
it: move a running plan to the newer version when nothing it has done changes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import engine, eventlog, labels, oplog
from service.auth import ADMIN, DESIGNER, Actor, require_designer
from service.bundles import catalog, intake, lint, outline
from service.bundles.findings import BundleRejected, Finding, finding
from service.bundles.simulate import Run, dry_run
from service.commands.recording import record
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import Draft, Plan, ProcessVersion
from service.queries import draft_summary


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


def validate(ctx: Context, files: dict[str, bytes],
             default_name: str | None = None) -> tuple[Report, lint.Checked | None]:
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
        old = outline.outline(catalog.bundle_of(current)) if current is not None else None
        against = current.version if current is not None else None
        problems += _default_taken(session, checked.bundle)
    return Report(checked.bundle.name, not problems, problems, warnings, outline.diff(old, checked.outline), against,
                  runs), checked


def deploy(ctx: Context, actor: Actor, files: dict[str, bytes], default_name: str | None = None,
           expected_version: int | None = None) -> Report:
    """Validate and, if nothing is wrong, publish as the next version. ``expected_version`` is the
    version the designer saw the diff against: if another was published meanwhile, refuse.
    A process applies to every organization, so only a national designer publishes one."""
    require_designer(actor)
    if DESIGNER not in actor.national_roles:
        raise Forbidden("กระบวนงานที่เผยแพร่ใช้กับทุกองค์กร จึงเผยแพร่ได้เฉพาะผู้ออกแบบกระบวนงานระดับประเทศ "
                        "ผู้ออกแบบขององค์กรตรวจสอบและบันทึกร่างได้")
    started = time.perf_counter()
    report, checked = validate(ctx, files, default_name)
    if not report.ok:
        return report
    assert checked is not None  # a report is ok only for a bundle that passed the checks
    with ctx.db.write() as session:
        current = catalog.latest(session, checked.bundle.name)
        if expected_version is not None and (current.version if current else 0) != expected_version:
            raise Conflict("มีผู้เผยแพร่กระบวนงานนี้ฉบับใหม่ไปก่อนแล้ว กรุณาตรวจความแตกต่างอีกครั้ง")
        taken = _default_taken(session, checked.bundle)
        if taken:  # another default was published since the check
            raise Conflict(taken[0].message())
        version, created = catalog.publish(session, checked.bundle, actor.username, ctx.clock.now(), checked.model)
        report.version, report.published = version.version, created
    oplog.command("process_published", started, process=report.name, version=report.version, user=actor.username)
    return report


def _default_taken(session: Session, bundle: catalog.Bundle) -> list[Finding]:
    """A second default process would leave starting a plan without one: every start would fail."""
    if not bundle.meta.get(catalog.DEFAULT_KEY):
        return []
    others = [v.name for v in catalog.default_versions(session) if v.name != bundle.name]
    return [finding(catalog.META_FILE, None, "default_taken", other=others[0])] if others else []


# --- Migration ------------------------------------------------------------------------------
_CHANGES = {"changed": "ถูกแก้ไข", "removed": "ถูกลบ"}
MAX_VERSION = 2**31 - 1  # the database's integer


def migrate_plan(ctx: Context, actor: Actor, plan_id: int, to_version: int | None = None) -> dict[str, Any]:
    """Move a running plan to a newer version of its process (the latest by default), recorded in
    its event log. :raise Conflict: when a step the plan has reached or passed was changed."""
    if to_version is not None and not 1 <= to_version <= MAX_VERSION:
        raise Invalid("เลขฉบับไม่ถูกต้อง", [{"field": "/version", "message": f"ต้องเป็นเลขฉบับ 1 ถึง {MAX_VERSION:,}"}])
    started, now = time.perf_counter(), ctx.clock.now()
    with ctx.db.write() as session:
        plan = session.get(Plan, plan_id)
        if plan is None or not actor.can_see(plan.organization_id):
            raise NotFound("ไม่พบแผนนี้")
        if ADMIN not in actor.roles_in(plan.organization_id):
            raise Forbidden("การย้ายแผนไปใช้กระบวนงานฉบับใหม่ทำได้เฉพาะผู้ดูแลระบบขององค์กร")
        if plan.status != "running":
            raise Conflict("แผนนี้เสร็จสิ้นกระบวนงานแล้ว จึงย้ายฉบับไม่ได้")
        current = ctx.models.published(session, plan.process_version_id)
        query = select(ProcessVersion).where(ProcessVersion.name == current.name)
        target = session.scalars(query.where(ProcessVersion.version == to_version) if to_version is not None else
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
            reasons = [{"field": b.bpmn_id,
                        "message": f"ขั้นตอน «{b.name or b.bpmn_id}» ซึ่ง{labels.STEP_STATES.get(b.state, b.state)}"
                                   f" {_CHANGES[b.change]}ในฉบับที่ {target.version}"} for b in err.blockers]
            raise Conflict(f"ย้ายแผนไปฉบับที่ {target.version} ไม่ได้: ฉบับใหม่แก้ไขขั้นตอนที่แผนดำเนินการถึงหรือผ่านมาแล้ว",
                           reasons) from err
        except engine.ScriptFailed as err:
            raise Conflict(f"ย้ายแผนไปฉบับที่ {target.version} ไม่ได้: {err}") from err
        plan.process_version_id = target.id
        data = {"from_version": current.version, "to_version": target.version,
                "from_version_id": current.id, "to_version_id": target.id}
        record(session, plan, instance, published, now, actor, role=ADMIN, kind=eventlog.VERSION_MIGRATED,
                        data=data)
    oplog.command(eventlog.VERSION_MIGRATED, started, plan=plan_id, user=actor.username, **data)
    return data


# --- Drafts (the in-browser modeler) ------------------------------------------------------
def save_draft(ctx: Context, actor: Actor, name: str, files: dict[str, str],
               based_on: int | None = None) -> dict[str, Any]:
    """Keep the modeler's files as a new draft of process ``name``. A draft may still have problems
    (validate and publish check it); only its file names and sizes are held to the limits here.
    :raise Invalid: a bad process name, file name or size."""
    require_designer(actor)
    if not lint.NAME_PATTERN.match(name):
        raise Invalid(finding("", None, "bad_name", name=name).message(),
                      [{"field": "name", "message": "ชื่อกระบวนงานใช้ไม่ได้"}])
    problems = intake.check_files({filename: text.encode("utf-8") for filename, text in files.items()})
    if problems:
        raise Invalid("บันทึกร่างไม่ได้: " + " ".join(p.message() for p in problems),
                      [{"field": p.file, "message": p.message()} for p in problems])
    with ctx.db.write() as session:
        draft = Draft(name=name, based_on_version=based_on, files=files, saved_by=actor.username,
                      saved_at=ctx.clock.now())
        session.add(draft)
        session.flush()
        return draft_summary(draft)
