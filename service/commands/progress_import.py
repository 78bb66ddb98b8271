"""Progress from a spreadsheet: one row per tracked project, keyed by the plan's own numbering, the
other columns the progress form's fields by their Thai titles. Each row gets the one check of a
project's progress (commands/progress.py); a preview writes nothing; applying is all or none, in
one transaction, one ``progress_recorded`` event per project whose progress changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service.auth import ADMIN, UNIT, Actor
from service.bundles.catalog import TRACKING_KEY, Published
from service.commands import progress
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import Plan, TrackedProject
from service.taskforms import reading, writing
from service.taskforms.columns import MAX_ROWS
from service.tracking.listing import sort_key

NUMBER = "number"
#: the project as listed, before the progress form's fields: the number is the key; its name and unit
#: are there for the person filling the sheet and are not read back
LISTED = {
    NUMBER: {"type": "string", "title": "เลขที่โครงการ", "maxLength": 20,
             "description": "ลำดับที่ของโครงการตามแผนการดำเนินงาน (แบบ ผด.02) เช่น 1.2.3 ห้ามแก้ไข"},
    "name": {"type": "string", "title": "โครงการ", "description": "ชื่อโครงการ (ไม่ได้นำเข้า ใช้ดูประกอบ)"},
    "unit": {"type": "string", "title": "หน่วยงานรับผิดชอบหลัก", "description": "ไม่ได้นำเข้า ใช้ดูประกอบ"},
}
SHEET = "ผลการดำเนินงาน"
MAX_BYTES = reading.MAX_BYTES  # of an uploaded file: read no more than one byte past it


def table(form: dict[str, Any]) -> dict[str, Any]:
    """The sheet as a list of the progress form's objects, each keyed by the project's number."""
    return {"type": "array", "title": SHEET, "maxItems": MAX_ROWS, "items": {
        "type": "object", "properties": {**LISTED, **form.get("properties", {})},
        "required": [NUMBER, *form.get("required", [])], "additionalProperties": False}}


@dataclass
class Change:
    number: str
    name: str
    unit: str
    row: int  # in the file
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass
class Checked:
    """A file read and checked against the plan: what it would change, and every problem."""

    preview: reading.Preview
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return self.preview.ok

    def entries(self) -> list[dict[str, Any]]:
        """What applying records: each changed project's number and progress."""
        return [{NUMBER: c.number, **c.after} for c in self.changes]

    def problems(self) -> list[dict[str, Any]]:
        return [{"row": p.row, "column": p.column or None, "message": str(p)}
                for p in reading.iter_problems(self.preview)]

    def as_dict(self, applied: bool = False) -> dict[str, Any]:
        return {"ok": self.ok, "applied": applied, "filename": self.preview.filename,
                "rows": len(self.preview.rows), "unchanged": self.unchanged,
                "changed": [{"number": c.number, "name": c.name, "unit": c.unit, "row": c.row,
                             "before": c.before, "progress": c.after} for c in self.changes],
                "errors": self.problems()}


def check(ctx: Context, actor: Actor, plan_id: int, content: bytes, filename: str) -> Checked:
    """Read the file and check every row as recording it would; nothing is written.
    :raise NotFound: Conflict: the plan is not tracked (not announced yet, or an amendment)"""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        plan = progress.tracked_plan(session, ctx, actor, plan_id)
        version = ctx.models.published(session, plan.process_version_id)
        preview = reading.read(content, filename, table(_form(version)), plan.fiscal_year)
        checked = Checked(preview)
        if not preview.problems and len(preview.items) == len(preview.rows):
            _check_rows(session, ctx, actor, plan, version, checked, now)
        return checked


def _check_rows(session: Session, ctx: Context, actor: Actor, plan: Plan, version: Published, checked: Checked,
                now: Any) -> None:
    preview = checked.preview
    projects = _projects(session, plan.id)
    first_row: dict[str, int] = {}
    for row, item in zip(preview.rows, preview.items, strict=True):
        number = str(item.get(NUMBER) or "").strip()
        if not number or any(p.column in _letters(preview, NUMBER) for p in row.errors):
            continue  # the number itself could not be read
        if number in first_row:
            _flag(preview, row, NUMBER, f"เลขที่โครงการ {number} ซ้ำกับแถวที่ {first_row[number]} "
                                        "โครงการหนึ่งบันทึกได้แถวเดียว กรุณาลบแถวที่ซ้ำ")
            continue
        first_row[number] = row.number
        try:
            project = progress.trackable(projects.get(number), number)
            if row.errors:  # values the sheet could not read: the form's rules would only repeat them
                progress.acting_role(session, actor, plan, project, version.meta[TRACKING_KEY])
                continue
            _, values = progress.checked_for(session, ctx, actor, version, plan, project, _values(item), now)
        except (NotFound, Conflict, Forbidden) as err:
            _flag(preview, row, NUMBER, err.message)
            continue
        except Invalid as err:
            for error in err.errors or [{"field": "", "message": err.message}]:
                _flag(preview, row, str(error.get("field") or ""), str(error["message"]))
            continue
        if _same(values, project.progress):
            checked.unchanged += 1
        else:
            checked.changes.append(Change(project.number, project.name, project.unit, row.number,
                                          dict(project.progress), values))


def apply(ctx: Context, actor: Actor, plan_id: int, entries: Any) -> dict[str, Any]:
    """Record the projects of a checked file, all or none, in one transaction: each is checked again
    (the list or the recorded progress may have changed since the preview), and one event is
    appended per project whose progress changes. :raise NotFound: Conflict: Invalid: any row refused"""
    if not isinstance(entries, list) or not entries or len(entries) > MAX_ROWS \
            or not all(isinstance(entry, dict) for entry in entries):
        raise Invalid("ไม่มีรายการผลการดำเนินงานที่ตรวจสอบแล้วให้บันทึก กรุณานำเข้าไฟล์อีกครั้ง")
    now = ctx.clock.now()
    try:
        with ctx.db.write() as session:
            plan = progress.tracked_plan(session, ctx, actor, plan_id)
            version = ctx.models.published(session, plan.process_version_id)
            projects = _projects(session, plan.id)
            errors: list[dict[str, Any]] = []
            pending: list[tuple[TrackedProject, str, dict[str, Any]]] = []
            seen: set[str] = set()
            for index, entry in enumerate(entries):
                number = str(entry.get(NUMBER) or "")[:20]
                try:
                    if number in seen:
                        raise Invalid(f"เลขที่โครงการ {number} ซ้ำ โครงการหนึ่งบันทึกได้ครั้งเดียว")
                    seen.add(number)
                    project = progress.trackable(projects.get(number), number)
                    role, values = progress.checked_for(session, ctx, actor, version, plan, project,
                                                        _values(entry), now)
                except (NotFound, Conflict, Forbidden, Invalid) as err:
                    errors += [{"field": f"/{index}{e.get('field') or ''}",
                                "message": f"โครงการ {number}: {e['message']}"}
                               for e in (err.errors or [{"field": "", "message": err.message}])]
                    continue
                if not _same(values, project.progress):
                    pending.append((project, role, values))
            if errors:
                raise Invalid("ไม่ได้บันทึกผลการดำเนินงานใดเลย เพราะมีรายการที่ไม่ถูกต้อง กรุณาแก้ไขแล้วนำเข้าอีกครั้ง",
                              errors)
            for project, role, values in pending:
                progress.apply(session, actor, plan, project, role, values, now)
            return {"applied": True, "changed": [project.number for project, _, _ in pending],
                    "unchanged": len(entries) - len(pending)}
    except StaleDataError as err:
        raise Conflict(progress.SAVED_MEANWHILE) from err


def import_file(ctx: Context, actor: Actor, plan_id: int, content: bytes, filename: str) -> dict[str, Any]:
    """Check the file and, when every row is right, record it (all or none).
    :raise NotFound: Conflict: Invalid: the file's problems, by row and column; nothing recorded"""
    checked = check(ctx, actor, plan_id, content, filename)
    if not checked.ok:
        raise refused(checked)
    if checked.changes:
        apply(ctx, actor, plan_id, checked.entries())
    return checked.as_dict(applied=True)


def refused(checked: Checked) -> Invalid:
    problems = checked.problems()
    return Invalid(f"ไฟล์มีข้อผิดพลาด {len(problems):,} จุด จึงยังไม่ได้บันทึกผลการดำเนินงานใดเลย",
                   [{"field": "/file", "message": p["message"]} for p in problems])


def template(ctx: Context, actor: Actor, plan_id: int) -> tuple[bytes, int]:
    """The sheet to fill: the plan's tracked projects (a unit official's own units' only) with the
    progress recorded so far, so that a row left as it is changes nothing; and the fiscal year.
    :raise NotFound: Conflict:"""
    with ctx.db.read() as session:
        plan = progress.tracked_plan(session, ctx, actor, plan_id)
        version = ctx.models.published(session, plan.process_version_id)
        rows = [row for row in _projects(session, plan.id).values() if not row.withdrawn]
        roles = actor.roles_in(plan.organization_id)
        if UNIT in roles and not roles & {*version.meta[TRACKING_KEY].get("editors", []), ADMIN}:
            mine = progress.units_of(session, actor, plan.organization_id)
            rows = [row for row in rows if row.unit in mine]
        rows.sort(key=lambda row: sort_key(row.number))
        items = [{NUMBER: row.number, "name": row.name, "unit": row.unit, **row.progress} for row in rows]
        sheet = table(_form(version))
        return writing.write_xlsx(sheet["items"], items, SHEET, guide=True), plan.fiscal_year


def _form(version: Published) -> dict[str, Any]:
    return version.forms[version.meta[TRACKING_KEY]["form"]]


def _projects(session: Session, plan_id: int) -> dict[str, TrackedProject]:
    return {row.number: row for row in session.scalars(select(TrackedProject).where(TrackedProject.plan_id == plan_id))}


def _values(item: dict[str, Any]) -> dict[str, Any]:
    """The progress of a row: an empty list (no month marked) is a field left blank, as the API records it."""
    return {key: value for key, value in item.items() if key not in LISTED and value != []}


def _same(values: dict[str, Any], recorded: dict[str, Any]) -> bool:
    """Equal as progress: the months worked in any order."""
    def plain(progress_values: dict[str, Any]) -> dict[str, Any]:
        months = progress_values.get("months_worked")
        return {**progress_values, "months_worked": sorted(months)} if isinstance(months, list) else progress_values
    return plain(values) == plain(recorded)


def _letters(preview: reading.Preview, key: str) -> list[str]:
    return [letter for (letter, _), of in zip(preview.headers, preview.keys, strict=True) if of == key]


def _flag(preview: reading.Preview, row: reading.Row, pointer: str, message: str) -> None:
    """A problem of the row, at the column(s) of the field ``pointer`` names (else the number's)."""
    key = pointer.strip("/").split("/")[0]
    where = [i for i, of in enumerate(preview.keys) if of == key] or \
        [i for i, of in enumerate(preview.keys) if of == NUMBER]
    letters = preview.headers[where[0]][0] if where else ""
    if len(where) > 1:
        letters = f"{letters}–{preview.headers[where[-1]][0]}"
    header = preview.headers[where[0]][1] if where else ""
    row.errors.append(reading.Problem(message, row.number, letters, header))
    row.bad.update(where)

