"""The plan's year, written: the tracked list when a plan or an amendment is announced, and the
progress a unit records for one of its projects (service/tracking says what is tracked and how).

Recording progress never restores the workflow: it appends one event to the plan's chain and
updates one read-model row, in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from service import eventlog
from service.auth import ADMIN, UNIT, Actor
from service.bundles.catalog import TRACKING_KEY, Published
from service.commands import reminders
from service.commands.chain import append_event
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import Event, Organization, Plan, RoleMembership, TrackedProject, UnitMembership, User
from service.taskforms import rules, validation
from service.thai.legaldays import day_of
from service.tracking import listing, replay
from service.tracking.listing import Listed

PROGRESS_FIELD_PROJECT = "project"


# --- The tracked list, when a plan or an amendment is announced -------------------------------
def listed(session: Session, plan: Plan, version: Published, data: dict[str, Any], now: datetime,
           actor: Actor) -> None:
    """After a step's event: when the step recorded the announcement its process tracks, list the
    plan's projects, or apply the amendment's changes to its year's plan. Announcing again (a step
    done twice) lists nothing twice."""
    tracking = version.meta.get(TRACKING_KEY)
    if not isinstance(tracking, dict) or not data.get(tracking.get("when") or ""):
        return
    submitted = _submitted(session, plan.id)
    if tracking.get("projects"):
        year_plan, listing_data = plan, None
        if not _listings_of(session, plan.id):
            projects = listing.first_list(submitted.get(tracking["projects"]) or [])
            listing_data = {"list_version": 0, "plan_id": plan.id, "listed": [e.as_dict() for e in projects]}
    else:
        found = _year_plan(session, plan)
        if found is None:
            return  # an amendment of a plan that was never tracked (announced before the plan's year was)
        year_plan, listing_data = found, None
        if all(entry.get("plan_id") != plan.id for entry in _listings_of(session, found.id)):
            current = [_listed_of(row) for row in _rows(session, found.id) if not row.withdrawn]
            amended = listing.amend(current, *(submitted.get(tracking.get(key) or "") or []
                                               for key in ("adds", "changes", "removes")))
            listing_data = {"list_version": int(submitted.get("sequence") or 1), "plan_id": plan.id,
                            "listed": [e.as_dict() for e in amended.added],
                            "changed": [e.as_dict() for e in amended.changed],
                            "withdrawn": amended.withdrawn, "unmatched": amended.unmatched}
    if listing_data is None:
        return
    append_event(session, year_plan, now, actor.username, None, eventlog.PROJECTS_LISTED, listing_data)
    _apply_listing(session, year_plan.id, listing_data)


def _submitted(session: Session, plan_id: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for values in session.scalars(select(Event.data).where(Event.plan_id == plan_id,
                                                           Event.kind.in_(eventlog.FORM_DATA_KINDS))
                                  .order_by(Event.seq)):
        data.update(values or {})
    return data


def _listings_of(session: Session, plan_id: int) -> list[dict[str, Any]]:
    return [data or {} for data in session.scalars(select(Event.data).where(
        Event.plan_id == plan_id, Event.kind == eventlog.PROJECTS_LISTED))]


def _year_plan(session: Session, plan: Plan) -> Plan | None:
    """The organization's tracked plan of the same fiscal year (the one an amendment amends)."""
    plan_id = session.scalars(select(TrackedProject.plan_id).join(Plan, Plan.id == TrackedProject.plan_id).where(
        Plan.organization_id == plan.organization_id, Plan.fiscal_year == plan.fiscal_year,
        Plan.id != plan.id).order_by(TrackedProject.plan_id).limit(1)).first()
    return session.get(Plan, plan_id) if plan_id is not None else None


def _rows(session: Session, plan_id: int) -> list[TrackedProject]:
    return list(session.scalars(select(TrackedProject).where(TrackedProject.plan_id == plan_id)
                                .order_by(TrackedProject.position)))


def _listed_of(row: TrackedProject) -> Listed:
    return Listed(row.number, row.name, row.unit, row.strategy, row.plan_program, row.budget, list(row.months),
                  row.is_equipment)


def _apply_listing(session: Session, plan_id: int, data: dict[str, Any]) -> None:
    """The read model after a listing, as replay.apply_listing computes it from the event."""
    rows = {row.number: row for row in _rows(session, plan_id)}
    state = replay.State()
    state.projects = {number: replay.Tracked(_listed_of(row), row.list_version, row.withdrawn)
                      for number, row in rows.items()}
    replay.apply_listing(state, data, datetime.min)
    for position, tracked in enumerate(state.ordered()):
        row = rows.get(tracked.listed.number)
        if row is None:
            row = TrackedProject(plan_id=plan_id, number=tracked.listed.number, progress={"status": replay.NOT_STARTED},
                                 status=replay.NOT_STARTED)
            session.add(row)
        entry = tracked.listed
        row.name, row.unit, row.strategy, row.plan_program = entry.name, entry.unit, entry.strategy, entry.plan_program
        row.budget, row.months, row.is_equipment = entry.budget, list(entry.months), entry.is_equipment
        row.list_version, row.withdrawn, row.position = tracked.list_version, tracked.withdrawn, position


# --- Progress of one project ----------------------------------------------------------------
def record(ctx: Context, actor: Actor, plan_id: int, number: str, body: Any) -> dict[str, Any]:
    """Record a tracked project's progress as the form of the plan's tracking says; the project's
    row afterwards. The same values again record nothing.
    :raise NotFound: Conflict: (not announced yet, withdrawn, saved meanwhile) Forbidden: Invalid:"""
    for attempt in range(ATTEMPTS):
        now = ctx.clock.now()
        try:
            with ctx.db.write() as session:
                plan, version, row = tracked_project(session, ctx, actor, plan_id, number)
                role, values = checked_for(session, ctx, actor, version, plan, row, body, now)
                apply(session, actor, plan, row, role, values, now)
                return as_dict(row)
        except StaleDataError as err:
            # Units of one plan record at once: each moves the plan's event head, so one of two lost
            # the race. Their updates are independent: read again (and check again) and append after it.
            if attempt == ATTEMPTS - 1:
                raise Conflict(SAVED_MEANWHILE) from err
    raise AssertionError("unreachable")


#: tries of one update when another update of the same plan was saved meanwhile
ATTEMPTS = 3
SAVED_MEANWHILE = "มีผู้อื่นบันทึกผลการดำเนินงานของแผนนี้ในขณะเดียวกัน กรุณาบันทึกอีกครั้ง"


def checked_for(session: Session, ctx: Context, actor: Actor, version: Published, plan: Plan, row: TrackedProject,
                body: Any, now: datetime) -> tuple[str, dict[str, Any]]:
    """The one check of one project's progress (a single update or a row of an import): the role the
    actor records it in, and the values as the form and its rules take them. :raise Forbidden: Invalid:"""
    role = acting_role(session, actor, plan, row, version.meta[TRACKING_KEY])
    return role, checked(session, ctx, version, plan, row, body, now)


def apply(session: Session, actor: Actor, plan: Plan, row: TrackedProject, role: str, values: dict[str, Any],
          now: datetime) -> bool:
    """Record checked values: one event and the read-model row; the values recorded already, nothing."""
    if values == row.progress:
        return False
    event = append_event(session, plan, now, actor.username, role, eventlog.PROGRESS_RECORDED,
                         {PROGRESS_FIELD_PROJECT: row.number, "progress": values, "list_version": row.list_version})
    row.progress, row.status = values, str(values.get("status") or replay.NOT_STARTED)
    row.updated_at, row.updated_by = now, actor.username
    reminders.progress_recorded(session, actor, plan, row, role, event.seq, now)  # the editors told at commit
    return True


def checked(session: Session, ctx: Context, version: Published, plan: Plan, row: TrackedProject, body: Any,
            now: datetime) -> dict[str, Any]:
    """The values, valid by the progress form and its rules. :raise Invalid:"""
    form = version.forms[version.meta[TRACKING_KEY]["form"]]
    values = validation.validate(form, body)
    rules.enforce(form, values, known(plan, row), day_of(now), ctx.timer_helpers(session, now))
    return dict(values)


def known(plan: Plan, row: TrackedProject) -> dict[str, Any]:
    """What the progress form's rules read besides the values: the project as planned and its year."""
    start = f"{plan.fiscal_year - 544}-10-01"  # FY 2569 runs from 1 Oct 2025 to 30 Sep 2026
    return {"budget": row.budget / 100, "planned_months": list(row.months), "fiscal_year": plan.fiscal_year,
            "fiscal_year_start": start, "fiscal_year_end": f"{plan.fiscal_year - 543}-09-30"}


def tracked_project(session: Session, ctx: Context, actor: Actor, plan_id: int, number: str
                    ) -> tuple[Plan, Published, TrackedProject]:
    """The tracked plan, its process version and the project ``number`` of it. :raise NotFound: Conflict:"""
    plan = tracked_plan(session, ctx, actor, plan_id)
    row = session.scalars(select(TrackedProject).where(TrackedProject.plan_id == plan.id,
                                                       TrackedProject.number == number[:20])).first()
    return plan, ctx.models.published(session, plan.process_version_id), trackable(row, number)


def trackable(row: TrackedProject | None, number: str) -> TrackedProject:
    """The project whose progress may be recorded. :raise NotFound: Conflict: withdrawn by an amendment"""
    if row is None:
        raise NotFound(f"ไม่มีโครงการลำดับที่ {number[:20]} ในแผนการดำเนินงานที่ประกาศใช้")
    if row.withdrawn:
        raise Conflict(f"โครงการลำดับที่ {row.number} ถูกยกเลิกออกจากแผนโดยการแก้ไขแผนแล้ว จึงไม่ต้องบันทึกผล")
    return row


def tracked_plan(session: Session, ctx: Context, actor: Actor, plan_id: int) -> Plan:
    """The plan, when the actor may see it and it is tracked. :raise NotFound: Conflict:"""
    plan = session.get(Plan, plan_id)
    if plan is None or not actor.can_see(plan.organization_id):
        raise NotFound("ไม่พบแผนนี้")
    tracking = ctx.models.published(session, plan.process_version_id).meta.get(TRACKING_KEY) or {}
    if not tracking.get("projects"):
        raise Conflict("ผลการดำเนินงานบันทึกที่แผนการดำเนินงานของปีนั้น ไม่ใช่ที่การแก้ไขแผน")
    if session.scalars(select(TrackedProject.id).where(TrackedProject.plan_id == plan.id).limit(1)).first() is None:
        raise Conflict("แผนนี้ยังไม่ได้ประกาศใช้ จึงยังบันทึกผลการดำเนินงานไม่ได้")
    return plan


def acting_role(session: Session, actor: Actor, plan: Plan, row: TrackedProject, tracking: dict[str, Any]) -> str:
    """The role the actor records in: an editor of every unit's projects, or the project's own unit.
    :raise Forbidden:"""
    roles = actor.roles_in(plan.organization_id)
    editor = next((role for role in [*tracking.get("editors", []), ADMIN] if role in roles), None)
    if editor is not None:
        return editor
    if UNIT in roles and row.unit in units_of(session, actor, plan.organization_id):
        return UNIT
    raise Forbidden(f"โครงการนี้เป็นของ{row.unit} ท่านบันทึกผลได้เฉพาะโครงการของหน่วยงานของท่าน")


def units_of(session: Session, actor: Actor, organization_id: int) -> set[str]:
    return set(session.scalars(select(UnitMembership.unit).where(UnitMembership.user_id == actor.user_id,
                                                                 UnitMembership.organization_id == organization_id)))


def as_dict(row: TrackedProject) -> dict[str, Any]:
    return {"number": row.number, "name": row.name, "unit": row.unit, "strategy": row.strategy,
            "plan_program": row.plan_program, "budget": row.budget / 100, "months": list(row.months),
            "is_equipment": row.is_equipment, "list_version": row.list_version, "withdrawn": row.withdrawn,
            "status": row.status, "progress": dict(row.progress),
            "updated_at": row.updated_at.isoformat() if row.updated_at else None, "updated_by": row.updated_by}


# --- Who belongs to which unit ----------------------------------------------------------------
def assign_unit(ctx: Context, username: str, org_code: str, unit: str) -> None:
    """Make a user of the organization an official of one of its responsible units (they may be of several)."""
    unit = " ".join(unit.split())
    if not unit or len(unit) > 200:
        raise Invalid("ชื่อหน่วยงานต้องไม่ว่างและยาวไม่เกิน 200 ตัวอักษร",
                      [{"field": "/unit", "message": "ชื่อหน่วยงานไม่ถูกต้อง"}])
    with ctx.db.write() as session:
        org = session.scalars(select(Organization).where(Organization.code == org_code)).first()
        user = session.scalars(select(User).where(User.username == username)).first()
        if org is None or user is None:
            raise NotFound("ไม่พบองค์กรหรือผู้ใช้นี้")
        if user.organization_id != org.id:
            raise Invalid(f"{username} ไม่ได้สังกัดองค์กรนี้")
        if not any(m.organization_id == org.id and m.role == UNIT for m in user.memberships):
            user.memberships.append(RoleMembership(organization_id=org.id, role=UNIT))
        exists = session.scalars(select(UnitMembership).where(
            UnitMembership.user_id == user.id, UnitMembership.organization_id == org.id,
            UnitMembership.unit == unit)).first()
        if exists is None:
            session.add(UnitMembership(user_id=user.id, organization_id=org.id, unit=unit))
