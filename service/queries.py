"""Every read: the read models behind the API, the pages and the CLI. Lists read the read models
(inbox rows, deadlines on the plan row) only; no list deserializes a workflow."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, false, func, literal, or_, select, true, tuple_, union_all
from sqlalchemy.orm import Session, defer, joinedload

from service import deadlines, engine, eventlog, labels
from service.auth import ADMIN, Actor, actor_of, completion_refusal, require_designer, token_digest
from service.bundles import catalog, choices, committees, sendback
from service.bundles.catalog import Published
from service.context import Context
from service.errors import Forbidden, Invalid, NotFound
from service.models import (
    Draft,
    Event,
    Incident,
    OpenTask,
    Organization,
    Plan,
    ProcessVersion,
    RoleMembership,
    SignIn,
    User,
    WebSession,
)
from service.thai.legaldays import day_of

# --- Lists a page at a time ----------------------------------------------------------------
#: The largest integer a cursor may carry: PostgreSQL's ``integer``, the type of every id and year.
_MAX_CURSOR_INTEGER = 2**31 - 1
BAD_CURSOR = "after ต้องเป็นค่า next ที่ได้จากหน้าก่อนหน้าของรายการเดียวกัน"


@dataclass(frozen=True)
class _Order:
    """A list's order for keyset paging: its sort keys (the last one unique within the list), all in
    one direction, so that one index serves both the order and a cursor's position (a row value
    comparison, which both databases read as an index range). ``tag`` names the list in its cursors,
    so that one list's cursor is refused by another."""

    tag: str
    keys: tuple[Any, ...]
    types: tuple[type, ...]
    descending: bool = False

    def by(self, keys: Sequence[Any] | None = None) -> list[Any]:
        return [key.desc() if self.descending else key for key in (keys or self.keys)]

    def after(self, values: Sequence[Any]) -> Any:
        """Rows strictly after the row whose keys are ``values``."""
        here = tuple_(*self.keys)
        there = tuple_(*(literal(value, key.type) for key, value in zip(self.keys, values, strict=True)))
        return here < there if self.descending else here > there


def _page(session: Session, order: _Order, partitions: Sequence[Any], after: Sequence[Any] | None,
          fetch: int | None, rows: Any) -> list[Any]:
    """The first ``fetch`` rows (None: all) after ``after`` in ``order``, of the union of
    ``partitions`` (conditions each read in order along one index, e.g. one organization): each
    partition gives at most ``fetch`` keys, and only those are merged and sorted, so a page costs the
    same however long the list. ``rows(keys)`` selects what is shown, joined to the subquery ``keys``
    (columns k0, k1, ...)."""
    parts = []
    for where in partitions:
        part = select(*(key.label(f"k{i}") for i, key in enumerate(order.keys))).where(where)
        if after is not None:
            part = part.where(order.after(after))
        part = part.order_by(*order.by()).limit(fetch)
        parts.append(part)
    keys = (parts[0] if len(parts) == 1 else union_all(*(select(p.subquery()) for p in parts))).subquery()
    columns = [keys.c[f"k{i}"] for i in range(len(order.keys))]
    return list(session.execute(rows(keys).order_by(*order.by(columns)).limit(fetch)).all())


def _partitions(column: Any, ids: set[int] | None, *conditions: Any) -> list[Any]:
    """One partition per id (None: one, every row), so that each is read along the index that starts
    with ``column``; many ids are one partition with IN (the database then sorts what they hold)."""
    if ids is None:
        return [and_(true(), *conditions)]
    if not ids:
        return [and_(false(), *conditions)]
    if len(ids) > 16:
        return [and_(column.in_(sorted(ids)), *conditions)]
    return [and_(column == one, *conditions) for one in sorted(ids)]


def _cursor(tag: str, values: Sequence[Any]) -> str:
    """The opaque ``next`` of a page: the list's tag and the sort keys of the page's last row."""
    plain = [tag, *(value.isoformat() if isinstance(value, datetime) else value for value in values)]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _cursor_values(text: str, order: _Order) -> list[Any]:
    """The sort keys a cursor of ``order``'s list carries, checked against their types (aware
    instants, integers within range, short ASCII text), so no crafted cursor reaches the database
    as anything but a position. :raise Invalid: not a cursor this list gave."""
    try:
        if len(text) > 200:
            raise ValueError(text)
        tag, *values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if tag != order.tag or len(values) != len(order.types):
            raise ValueError(text)
        return [_cursor_value(value, kind) for value, kind in zip(values, order.types, strict=True)]
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error) as err:  # JSONDecodeError is a ValueError
        raise Invalid(BAD_CURSOR, [{"field": "after", "message": BAD_CURSOR}]) from err


def _cursor_value(value: Any, kind: type) -> Any:
    if kind is datetime:
        instant = datetime.fromisoformat(value)
        if instant.tzinfo is None:
            raise ValueError(value)
        return instant
    if kind is int:
        if type(value) is not int or not 0 <= value <= _MAX_CURSOR_INTEGER:
            raise ValueError(value)
        return value
    if not isinstance(value, str) or len(value) > 64 or not (value.isascii() and value.isprintable()):
        raise ValueError(value)
    return value


def _following(order: _Order, rows: Sequence[Any], limit: int | None, keys_of: Any) -> str | None:
    """The cursor of the next page: None when ``rows`` (read one beyond ``limit``) held no more."""
    return _cursor(order.tag, keys_of(rows[limit - 1])) if limit is not None and len(rows) > limit else None


# --- Tasks -------------------------------------------------------------------------------
def inbox(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    """Every open task of the actor's roles (earliest due first): for callers that need them all."""
    return inbox_page(ctx, actor, limit=None)["tasks"]


#: A far past instant that stands in for "no due date" in an undated task's cursor.
_NO_DUE = datetime(1900, 1, 1, tzinfo=UTC)
#: The inbox in two runs, each along the (organization, role, due, opened, id) index: the dated
#: tasks by due date, then the undated ones. A cursor says which run it is in (0: dated, 1: undated).
_INBOX_CURSOR = _Order("t", (), (int, datetime, datetime, str))


def _inbox_orders(latest_due_first: bool) -> tuple[_Order, _Order]:
    return (_Order("t", (OpenTask.due_at, OpenTask.opened_at, OpenTask.id), (datetime, datetime, str),
                   latest_due_first),
            _Order("t", (OpenTask.opened_at, OpenTask.id), (datetime, str), latest_due_first))


def inbox_page(ctx: Context, actor: Actor, limit: int | None = 50, after: str | None = None,
               plan_id: int | None = None, step: str | None = None, latest_due_first: bool = False
               ) -> dict[str, Any]:
    """A page of the tasks of the actor's roles in the actor's organizations: earliest due first
    (``latest_due_first``: latest first), undated last, then by when they opened. Keyset paging:
    ``after`` is the ``next`` of the page before (an opaque cursor), so a page costs the same on
    the first screen as on the hundredth. :raise Invalid: a cursor this list did not give."""
    position = _cursor_values(after, _INBOX_CURSOR) if after is not None else [0]
    if position[0] not in (0, 1):
        raise Invalid(BAD_CURSOR, [{"field": "after", "message": BAD_CURSOR}])
    scope = _inbox_scope(actor)
    if scope is None:
        return {"tasks": [], "next": None}
    filters = [OpenTask.plan_id == plan_id] if plan_id is not None else []
    if step:
        filters.append(OpenTask.name == step)
    dated, undated = _inbox_orders(latest_due_first)
    fetch = None if limit is None else limit + 1  # one more tells whether a next page exists

    def shown(keys: Any) -> Any:
        return (select(OpenTask, Plan.fiscal_year, Plan.deadlines).join(keys, keys.c[f"k{len(keys.c) - 1}"]
                                                                         == OpenTask.id)
                .join(Plan, Plan.id == OpenTask.plan_id))

    now = ctx.clock.now()
    with ctx.db.read() as session:
        rows = []
        if position[0] == 0:
            rows = _page(session, dated, [and_(s, OpenTask.due_at.is_not(None), *filters) for s in scope],
                         position[1:] if after is not None else None, fetch, shown)
        if fetch is None or len(rows) < fetch:  # room left: the undated tasks follow the dated ones
            rows += _page(session, undated, [and_(s, OpenTask.due_at.is_(None), *filters) for s in scope],
                          position[2:] if position[0] == 1 else None, None if fetch is None else fetch - len(rows),
                          shown)
        following = _following(_INBOX_CURSOR, rows, limit, lambda row: [
            1 if row[0].due_at is None else 0, row[0].due_at or _NO_DUE, row[0].opened_at, row[0].id])
        return {"tasks": [task_summary(row, fiscal_year, listed, now)
                          for row, fiscal_year, listed in rows[:limit]], "next": following}


#: plans (and steps) the inbox's filters offer at most
MAX_PLAN_CHOICES = 200


def inbox_choices(ctx: Context, actor: Actor) -> dict[str, Any]:
    """What the inbox's filters offer and how many tasks there are, over all its pages."""
    scope = _inbox_scope(actor)
    if scope is None:
        return {"total": 0, "plans": [], "steps": []}
    anywhere = or_(*scope)
    with ctx.db.read() as session:
        total = session.scalar(select(func.count()).select_from(OpenTask).where(anywhere)) or 0
        # a filter offers the newest plans only: a national inbox of thousands of plans is searched, not picked
        plans = session.execute(select(OpenTask.plan_id, Plan.fiscal_year).join(Plan, Plan.id == OpenTask.plan_id)
                                .where(anywhere).distinct().order_by(Plan.fiscal_year.desc(), OpenTask.plan_id)
                                .limit(MAX_PLAN_CHOICES)).all()
        steps = session.execute(select(OpenTask.name, OpenTask.title).where(anywhere).distinct()
                                .limit(MAX_PLAN_CHOICES)).all()
    return {"total": total, "plans": sorted({tuple(p) for p in plans}, key=lambda p: (-p[1], p[0])),
            "steps": sorted({tuple(s) for s in steps}, key=lambda s: s[1])}


def _inbox_scope(actor: Actor) -> list[Any] | None:
    """The open tasks of the actor's roles in the actor's organizations, one condition per
    (organization, role), each read in order along the (organization_id, role, due_at, opened_at, id)
    index whatever the number of plans (None: the actor has none: a national role has no tasks of
    its own)."""
    pairs = sorted({(org, role) for org, role in actor.memberships if org is not None})
    if not pairs:
        return None
    return [and_(OpenTask.organization_id == org, OpenTask.role == role) for org, role in pairs]


def task_summary(row: OpenTask, fiscal_year: int, plan_deadlines: list[dict[str, Any]] | None,
                 now: datetime) -> dict[str, Any]:
    """An open step as lists show it, with the verdict on the deadline it is due by (if any)."""
    verdict = deadlines.of_task(row.due_at, plan_deadlines, now)
    return {
        "id": row.id, "plan_id": row.plan_id, "fiscal_year": fiscal_year, "name": row.name,
        "title": row.title, "lane": row.lane, "role": row.role,
        "due_at": row.due_at.isoformat() if row.due_at else None,
        "due_on": day_of(row.due_at).isoformat() if row.due_at else None,
        "overdue": bool(verdict and verdict["overdue"]), "deadline": verdict,
        "claimed_by": row.claimed_by,
    }


def task(ctx: Context, actor: Actor, task_id: str) -> dict[str, Any]:
    """An open task with its form schema and the values to prefill. :raise NotFound:"""
    with ctx.db.read() as session:
        return _task(session, ctx, actor, task_id)[0]


def task_page(ctx: Context, actor: Actor, task_id: str) -> dict[str, Any]:
    """Everything a task's page shows, read in one transaction: the task (as ``task`` gives it),
    where its due date comes from, who holds it, whether the actor may edit it and, for an
    administrator, whom it may be given to. :raise NotFound:"""
    with ctx.db.read() as session:
        summary, row, plan = _task(session, ctx, actor, task_id)
        is_admin = ADMIN in actor.roles_in(row.organization_id)
        return {
            "task": summary,
            "basis": summary["deadline"],
            "holder": _display_names(session, {row.claimed_by}).get(row.claimed_by) if row.claimed_by else None,
            "roles": _role_titles(session),
            "refusal": completion_refusal(actor, row.role, row.organization_id, row.claimed_by),
            "is_admin": is_admin,
            "members": _role_members(session, row.organization_id, row.role) if is_admin else [],
        }


def _task(session: Session, ctx: Context, actor: Actor, task_id: str) -> tuple[dict[str, Any], OpenTask, Plan]:
    row = session.get(OpenTask, task_id)
    if row is None or not actor.can_see(row.organization_id):
        raise NotFound("ไม่พบงานนี้ หรืองานนี้ดำเนินการเสร็จไปแล้ว")
    plan = _plan(session, row.plan_id)
    published = ctx.models.published(session, plan.process_version_id)
    element = published.model.elements.get(row.name, {})
    instance = engine.Instance.restore(published.model, plan.state_json)
    current = next((t for t in instance.open_tasks() if t.id == task_id), None)
    values = current.data if current else {}
    schema = choices.resolved(session, ctx.models, plan, published.form_of(row.name), values)
    # a name a seat holds is offered as today's holder's (x-default-from): the person still types over it
    schema = committees.with_defaults(session, plan.organization_id, schema, day_of(ctx.clock.now()))
    summary = {
        **task_summary(row, plan.fiscal_year, plan.deadlines, ctx.clock.now()),
        "instructions": element.get("documentation", ""),
        "form": {"name": element.get("properties", {}).get(engine.FORM_PROPERTY), "schema": schema},
        "data": {k: values[k] for k in schema.get("properties", {}) if k in values},
        "can_complete": row.role in actor.roles_in(row.organization_id),
        "finishes": published.model.ends_after(row.name),
        # the process's send-backs (bundles/sendback): why the step came back, what is being decided on
        "returned": _returned(session, [row], {row.plan_id: published.model.elements}).get(row.id),
        "draft": [{"name": name, "title": _list_title(published, name), "items": values.get(name) or []}
                  for name in sendback.draft_lists(element.get("properties", {}))],
    }
    return summary, row, plan


def _list_title(published: Published, name: str) -> str:
    """A list field's title as the form that collects it names it (its name when none does)."""
    for form in published.forms.values():
        field = (form.get("properties") or {}).get(name) if isinstance(form, dict) else None
        if isinstance(field, dict) and field.get("title"):
            return str(field["title"])
    return name


def returned_steps(ctx: Context, tasks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Task id -> who sent it back, when, from which step and why, for those of ``tasks`` (inbox
    rows) that a deciding step sent back; from the plans' event logs, in three queries."""
    if not tasks:
        return {}
    with ctx.db.read() as session:
        found = session.execute(select(OpenTask, Plan.process_version_id).join(Plan, Plan.id == OpenTask.plan_id)
                                .where(OpenTask.id.in_([t["id"] for t in tasks]))).all()
        models = {row.plan_id: ctx.models.published(session, version).model.elements for row, version in found}
        return _returned(session, [row for row, _ in found], models)


def _returned(session: Session, rows: list[OpenTask], elements: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Open rows -> their send-back (``elements``: each plan's process elements); the submitted
    data is read only for the completions that reopened a step."""
    if not rows:
        return {}
    completions: dict[int, list[dict[str, Any]]] = {}
    for event in session.execute(
            select(Event.id, Event.plan_id, Event.at, Event.actor, Event.role, Event.task)
            .where(Event.plan_id.in_({r.plan_id for r in rows}), Event.kind == eventlog.TASK_COMPLETED)
            .order_by(Event.plan_id, Event.seq)):
        completions.setdefault(event.plan_id, []).append(event._asdict())
    senders = {row.id: (row.plan_id, sender) for row in rows
               if (sender := sendback.reopened_by(row.name, row.opened_at, completions.get(row.plan_id, [])))}
    if not senders:
        return {}
    data: dict[int, Any] = {event_id: submitted for event_id, submitted in session.execute(
        select(Event.id, Event.data).where(Event.id.in_({s["id"] for _, s in senders.values()})))}
    return {task_id: found for task_id, (plan_id, sender) in senders.items()
            if (found := sendback.returned(sender, data.get(sender["id"]), elements[plan_id])) is not None}


def completed_by(ctx: Context, actor: Actor, task_id: str) -> tuple[str, datetime] | None:
    """Who completed a task that is no longer open, and when (for tasks of the actor's organizations)."""
    with ctx.db.read() as session:
        event = session.scalars(select(Event).where(Event.task_id == task_id,
                                                    Event.kind == eventlog.TASK_COMPLETED)).first()
        if event is None or not actor.can_see(_plan(session, event.plan_id).organization_id):
            return None
        return _display_names(session, {event.actor}).get(event.actor, event.actor), event.at


def due_bases(tasks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Task id -> the verdict on the deadline it is due by (name, basis, overdue, dates)."""
    return {task["id"]: task["deadline"] for task in tasks if task.get("deadline")}


# --- Plans -------------------------------------------------------------------------------
def plan(ctx: Context, actor: Actor, plan_id: int) -> dict[str, Any]:
    """A plan with its open tasks and deadlines. :raise NotFound:"""
    with ctx.db.read() as session:
        row = _visible_plan(session, actor, plan_id)
        tasks = list(session.scalars(select(OpenTask).where(OpenTask.plan_id == row.id)))
        return plan_view(row, tasks, ctx.models.published(session, row.process_version_id), ctx.clock.now())


def plan_page(ctx: Context, actor: Actor, plan_id: int, history_limit: int | None = None,
              history_after: str | None = None) -> dict[str, Any]:
    """Everything a plan's page shows, read in one transaction: the plan (as ``plan`` gives it), its
    history (``events``, all of it, for what the page works out from it; ``history``: the page of it
    shown, newest first, as ``history`` gives it), the names of its steps, roles and people, where
    each due date comes from, and, for an administrator, whom each open task may be given to.
    :raise NotFound: :raise Invalid: a history cursor this list did not give."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        row = _visible_plan(session, actor, plan_id)
        version = ctx.models.published(session, row.process_version_id)
        shown = plan_view(row, list(session.scalars(select(OpenTask).where(OpenTask.plan_id == row.id))), version,
                          now)
        events = _history(session, plan_id)
        completed_by = {e["task"]: e["actor"] for e in events if e["kind"] == eventlog.TASK_COMPLETED}  # latest wins
        for deadline in shown["deadlines"]:
            deadline["extended_by"] = completed_by.get(deadline["extended_in"])
        people = {e["actor"] for e in events} | {t["claimed_by"] for t in shown["tasks"]} | \
            {(e["data"] or {}).get("to") for e in events if e["kind"] == eventlog.TASK_REASSIGNED}
        is_admin = ADMIN in actor.roles_in(row.organization_id)
        return {
            "plan": shown, "events": events, "is_admin": is_admin,
            "history": _history_page(session, plan_id, history_limit, history_after, newest_first=True),
            "steps": {key: element.get("name") or key for key, element in version.model.elements.items()},
            "roles": _role_titles(session), "names": _display_names(session, people),
            "bases": due_bases(shown["tasks"]),
            "members": {t["role"]: _role_members(session, row.organization_id, t["role"]) for t in shown["tasks"]}
            if is_admin else {},
        }


def plan_view(row: Plan, tasks: Sequence[OpenTask], version: Published, now: datetime) -> dict[str, Any]:
    """The plan as the API shows it, from its row (with its organization) and its open inbox rows."""
    return {
        "id": row.id,
        "organization": {"code": row.organization.code, "name": row.organization.name,
                         "province": row.organization.province},
        "fiscal_year": row.fiscal_year,
        "status": row.status,
        "process": {"name": version.name, "version": version.version, "title": version.title},
        "started_at": row.started_at.isoformat(),
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
        "tasks": [task_summary(t, row.fiscal_year, row.deadlines, now)
                  for t in sorted(tasks, key=lambda t: (t.opened_at, t.id))],
        "deadlines": deadlines.verdicts(row.deadlines, now),
    }


#: A plan's history in the order it happened (``newest_first``: the other way), by its sequence.
_HISTORY = _Order("h", (Event.seq,), (int,))
_HISTORY_NEWEST = _Order("h", (Event.seq,), (int,), descending=True)


def history(ctx: Context, actor: Actor, plan_id: int, limit: int | None = None, after: str | None = None,
            newest_first: bool = False) -> dict[str, Any]:
    """A page of a plan's events (``limit`` None: all) and ``next``, the ``after`` of the next page
    (None: the last). :raise NotFound: :raise Invalid: a cursor this list did not give."""
    with ctx.db.read() as session:
        _visible_plan(session, actor, plan_id)
        return _history_page(session, plan_id, limit, after, newest_first)


def _history_page(session: Session, plan_id: int, limit: int | None, after: str | None,
                  newest_first: bool = False) -> dict[str, Any]:
    order = _HISTORY_NEWEST if newest_first else _HISTORY
    position = _cursor_values(after, order) if after is not None else None
    rows = _page(session, order, [Event.plan_id == plan_id], position, None if limit is None else limit + 1,
                 lambda keys: select(Event).join(keys, and_(Event.plan_id == plan_id, Event.seq == keys.c.k0)))
    shown = [row[0] for row in rows[:limit]]
    listed = [_event(e) for e in shown]
    if any(e.kind in eventlog.FORM_DATA_KINDS for e in shown):
        # what a list given again changed is measured against the lists given before, on earlier pages too
        earlier = session.scalars(select(Event).where(Event.plan_id == plan_id,
                                                      Event.kind.in_(eventlog.FORM_DATA_KINDS),
                                                      Event.seq <= max(e.seq for e in shown)).order_by(Event.seq))
        _mark_changes(listed, [_event(e) for e in earlier])
    return {"events": listed, "next": _following(order, rows, limit, lambda row: [row[0].seq])}


def _history(session: Session, plan_id: int) -> list[dict[str, Any]]:
    """Every event of a plan, in order."""
    listed = [_event(e) for e in session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq))]
    _mark_changes(listed, listed)
    return listed


def _event(e: Event) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "role": e.role, "kind": e.kind,
            "task": e.task, "task_id": e.task_id, "data": e.data, "hash": e.hash}


def _mark_changes(listed: list[dict[str, Any]], before: list[dict[str, Any]]) -> None:
    """A list given again (a re-draft after a send-back) says what changed since it was last given."""
    changes = sendback.changes_by_event(before, eventlog.FORM_DATA_KINDS)
    for event in listed:
        if event["seq"] in changes:
            event["changes"] = changes[event["seq"]]


#: The plan lists: newest fiscal year first, then the plan started last, along the plans' indexes.
_PLANS = _Order("p", (Plan.fiscal_year, Plan.id), (int, int), descending=True)


def plans(ctx: Context, actor: Actor, limit: int | None = 50, after: str | None = None) -> dict[str, Any]:
    """A page of the plans of the organizations the actor may see and ``next``, the ``after`` of the
    next page (None: the last). :raise Invalid: a cursor this list did not give."""
    position = _cursor_values(after, _PLANS) if after is not None else None
    with ctx.db.read() as session:
        rows = _plan_rows(session, _partitions(Plan.organization_id, actor.visible_organizations()), position, limit)
        return {"plans": [{"id": p.id, "organization": code, "fiscal_year": p.fiscal_year, "status": p.status}
                          for p, code in rows[:limit]],
                "next": _following(_PLANS, rows, limit, lambda row: [row[0].fiscal_year, row[0].id])}


def _plan_rows(session: Session, partitions: list[Any], position: list[Any] | None, limit: int | None) -> list[Any]:
    """(plan without its state, its organization's code) of a page of the plan lists."""
    return _page(session, _PLANS, partitions, position, None if limit is None else limit + 1,
                 lambda keys: select(Plan, Organization.code).options(defer(Plan.state_json))
                 .join(keys, keys.c.k1 == Plan.id).join(Organization, Organization.id == Plan.organization_id))


def _plan(session: Session, plan_id: int) -> Plan:
    """A plan that a row in hand points to. :raise NotFound: it is gone (deleted meanwhile)."""
    found = session.get(Plan, plan_id)
    if found is None:
        raise NotFound("ไม่พบแผนนี้")
    return found


def _visible_plan(session: Session, actor: Actor, plan_id: int) -> Plan:
    row = session.get(Plan, plan_id, options=[defer(Plan.state_json), joinedload(Plan.organization)])
    if row is None or not actor.can_see(row.organization_id):
        raise NotFound("ไม่พบแผนนี้")
    return row


def step_titles(ctx: Context, plan_id: int) -> dict[str, str]:
    """BPMN id -> Thai name of every element of the plan's process version."""
    with ctx.db.read() as session:
        version = _plan(session, plan_id).process_version
        return {key: element.get("name") or key for key, element in version.elements.items()}


def process_files(ctx: Context, plan_id: int) -> tuple[str, dict[str, str]]:
    """The digest and the BPMN files of the process version the plan is pinned to."""
    with ctx.db.read() as session:
        version = _plan(session, plan_id).process_version
        return version.digest, dict(version.bpmn_files)


def plan_organization(ctx: Context, plan_id: int) -> int | None:
    """The organization a plan belongs to; None when there is no such plan."""
    with ctx.db.read() as session:
        return session.scalar(select(Plan.organization_id).where(Plan.id == plan_id))


@dataclass(frozen=True)
class Start:
    """What the start page needs: the actor's own organization and the default process's start form."""

    organization_code: str
    organization_name: str
    process: str
    process_title: str
    schema: dict[str, Any]


def startable(ctx: Context, actor: Actor, process: str | None = None) -> Start | None:
    """The plan of ``process`` (None: the default process) the actor may start in their own
    organization (commands/plans.start_plan's rule), or None."""
    if actor.organization_id is None:
        return None
    with ctx.db.read() as session:
        if process is None:
            defaults = catalog.default_versions(session)
            version = defaults[0] if len(defaults) == 1 else None
        else:
            version = catalog.latest(session, process)
        if version is None or not actor.roles_in(actor.organization_id) & catalog.starter_roles(version):
            return None
        organization = session.get(Organization, actor.organization_id)
        if organization is None:  # the actor's own organization: gone only if deleted under a session
            return None
        return Start(organization.code, organization.name, version.name, version.title, catalog.start_form(version))


def other_startable(ctx: Context, actor: Actor) -> list[tuple[str, str]]:
    """(name, title) of the processes besides the default one (e.g. an amendment) that the actor
    may start in their own organization: what an announced plan's page offers."""
    if actor.organization_id is None:
        return []
    roles = actor.roles_in(actor.organization_id)
    with ctx.db.read() as session:
        return [(v.name, v.title) for v in catalog.latest_versions(session)
                if not (v.meta or {}).get("default") and roles & catalog.starter_roles(v)]


# --- People and roles --------------------------------------------------------------------
def display_names(ctx: Context, usernames: set[str | None]) -> dict[str, str]:
    with ctx.db.read() as session:
        return _display_names(session, usernames)


def _display_names(session: Session, usernames: set[str | None]) -> dict[str, str]:
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(wanted)))
    names = {username: display or username for username, display in rows}
    return {u: names.get(u, u) for u in wanted}


def role_titles(ctx: Context) -> dict[str, str]:
    """Role -> its Thai name: the lane it works in, as the published processes name it."""
    with ctx.db.read() as session:
        return _role_titles(session)


def _role_titles(session: Session) -> dict[str, str]:
    titles = dict(labels.SYSTEM_ROLES)
    for lane_roles in session.scalars(select(ProcessVersion.lane_roles)):
        titles.update({role: lane for lane, role in lane_roles.items()})
    return titles


def _role_members(session: Session, organization_id: int, role: str | None) -> list[tuple[str, str]]:
    rows = session.execute(
        select(User.username, User.display_name).join(RoleMembership, RoleMembership.user_id == User.id)
        .where(RoleMembership.organization_id == organization_id, RoleMembership.role == role,
               User.is_active.is_(True)).order_by(User.username)).all()
    return [(username, display or username) for username, display in rows]


@dataclass(frozen=True)
class SignedIn:
    """An active user as the pages know them once signed in."""

    actor: Actor
    display_name: str
    organization_name: str


def signed_in(ctx: Context, user_id: int, session_key: str) -> SignedIn | None:
    """The active user of this id, signed in by the web session of this key; None when there is
    no such user, they were deactivated, or the session has ended (logged out, a new password)."""
    with ctx.db.read() as session:
        user = session.scalars(
            select(User).join(WebSession, WebSession.user_id == User.id)
            .where(User.id == user_id, User.is_active.is_(True), WebSession.key_hash == token_digest(session_key),
                   WebSession.ended_at.is_(None))
            .options(joinedload(User.organization))).first()
        if user is None:
            return None
        return SignedIn(actor_of(user), user.display_name or user.username,
                        user.organization.name if user.organization else "")


#: A user's sign-in history, the newest first, by row id (written in time order).
_SIGN_INS = _Order("s", (SignIn.id,), (int,), descending=True)


def sign_in_page(ctx: Context, actor: Actor, limit: int, after: str | None = None) -> dict[str, Any]:
    """The actor's own sign-in attempts and password changes, newest first: at most ``limit``, and
    ``next``, the ``after`` of the older page (None: the last). :raise Invalid: a cursor this list did not give."""
    position = _cursor_values(after, _SIGN_INS) if after is not None else None
    with ctx.db.read() as session:
        rows = _page(session, _SIGN_INS, [SignIn.user_id == (actor.user_id or 0)], position, limit + 1,
                     lambda keys: select(SignIn).join(keys, keys.c.k0 == SignIn.id))
        found = [{"id": row.id, "at": row.at.isoformat(), "action": row.action, "outcome": row.outcome,
                  "network": row.network, "browser": row.browser} for (row,) in rows]
    return {"sign_ins": found[:limit], "next": _following(_SIGN_INS, found, limit, lambda row: [row["id"]])}


def actor_named(ctx: Context, username: str) -> Actor:
    """The actor a command-line user acts as. :raise NotFound: no such active user."""
    with ctx.db.read() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.is_active:
            raise NotFound(f"ไม่พบผู้ใช้ {username}")
        return actor_of(user)


# --- Organizations -----------------------------------------------------------------------
def organizations(ctx: Context, actor: Actor) -> list[dict[str, str]]:
    """The organizations the actor may see, by code."""
    visible = actor.visible_organizations()
    query = select(Organization).order_by(Organization.code)
    if visible is not None:
        query = query.where(Organization.id.in_(visible))
    with ctx.db.read() as session:
        return [{"code": o.code, "name": o.name, "province": o.province} for o in session.scalars(query)]


def organization_id(ctx: Context, code: str) -> int | None:
    """The id of the organization of this code; None when there is none."""
    with ctx.db.read() as session:
        return session.scalar(select(Organization.id).where(Organization.code == code))


def plans_of(ctx: Context, organization_id: int, actor: Actor, limit: int | None = 50,
             after: str | None = None) -> dict[str, Any]:
    """A page of an organization's plans, newest fiscal year first, with the version each is pinned
    to, and ``next`` (as ``plans``). :raise NotFound: the actor may not see the organization.
    :raise Invalid: a cursor this list did not give."""
    if not actor.can_see(organization_id):
        raise NotFound("ไม่พบองค์กรปกครองส่วนท้องถิ่นนี้")
    position = _cursor_values(after, _PLANS) if after is not None else None
    with ctx.db.read() as session:
        rows = _plan_rows(session, [Plan.organization_id == organization_id], position, limit)
        found = []
        for plan, _ in rows[:limit]:
            version = ctx.models.published(session, plan.process_version_id)
            found.append({"id": plan.id, "fiscal_year": plan.fiscal_year, "status": plan.status,
                          "started_at": plan.started_at, "completed_at": plan.completed_at,
                          "process": {"title": version.title, "version": version.version}})
        return {"plans": found, "next": _following(_PLANS, rows, limit, lambda row: [row[0].fiscal_year, row[0].id])}


def fiscal_years_of(ctx: Context, organization_id: int, actor: Actor) -> list[int]:
    """The fiscal years an organization has plans of, newest first (over all pages of its plans).
    :raise NotFound: the actor may not see the organization."""
    if not actor.can_see(organization_id):
        raise NotFound("ไม่พบองค์กรปกครองส่วนท้องถิ่นนี้")
    with ctx.db.read() as session:
        return list(session.scalars(select(Plan.fiscal_year).where(Plan.organization_id == organization_id)
                                    .distinct().order_by(Plan.fiscal_year.desc())))


#: Incidents, the newest first, by their ids.
_INCIDENTS = _Order("i", (Incident.id,), (int,), descending=True)


def incidents(ctx: Context, actor: Actor | None, open_only: bool = True, limit: int | None = None,
              after: str | None = None) -> list[dict[str, Any]]:
    """The plans the timer sweep could not move on, newest incident first, in the organizations the
    actor administers (``actor`` None: the operator at the console, every organization); ``limit``
    and ``after`` (a cursor, as ``incident_page`` gives) page through them.
    :raise Forbidden: the actor is no administrator. :raise Invalid: a cursor this list did not give."""
    position = _cursor_values(after, _INCIDENTS) if after is not None else None
    administered = _administered(actor) if actor is not None else None
    conditions = [Incident.resolved_at.is_(None)] if open_only else []
    with ctx.db.read() as session:
        rows = _page(session, _INCIDENTS, _partitions(Incident.organization_id, administered, *conditions), position,
                     limit, lambda keys: select(Incident, Organization.code).join(keys, keys.c.k0 == Incident.id)
                     .join(Organization, Organization.id == Incident.organization_id))
        return [_incident(i, code) for i, code in rows]


def incident_page(ctx: Context, actor: Actor, open_only: bool, limit: int, after: str | None) -> dict[str, Any]:
    """A page of ``incidents``: at most ``limit`` and ``next``, the ``after`` of the next page (None: the last).
    :raise Forbidden: the actor is no administrator. :raise Invalid: a cursor this list did not give."""
    found = incidents(ctx, actor, open_only, limit + 1, after)  # one more tells whether a next page exists
    return {"incidents": found[:limit], "next": _following(_INCIDENTS, found, limit, lambda row: [row["id"]])}


def plan_incident(ctx: Context, actor: Actor, plan_id: int) -> dict[str, Any] | None:
    """The plan's open incident, for an administrator of its organization; None for anyone else."""
    with ctx.db.read() as session:
        found = session.execute(select(Incident, Organization.code)
                                .join(Organization, Organization.id == Incident.organization_id)
                                .where(Incident.plan_id == plan_id, Incident.resolved_at.is_(None))).first()
        if found is None or ADMIN not in actor.roles_in(found[0].organization_id):
            return None
        return _incident(*found)


def _administered(actor: Actor) -> set[int] | None:
    """The organizations the actor administers; None: every one (a national admin).
    :raise Forbidden: none."""
    organizations = {org for org, role in actor.memberships if role == ADMIN}
    if not organizations:
        raise Forbidden("เฉพาะผู้ดูแลระบบขององค์กรเท่านั้นที่ดูเหตุขัดข้องของแผนได้")
    return None if None in organizations else {org for org in organizations if org is not None}


def _incident(row: Incident, organization: str) -> dict[str, Any]:
    return {"id": row.id, "plan_id": row.plan_id, "organization": organization, "kind": row.kind,
            "message": row.message, "failures": row.failures, "first_at": row.first_at.isoformat(),
            "last_at": row.last_at.isoformat(), "retry_at": row.retry_at.isoformat(),
            "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None}


# --- Processes and drafts ----------------------------------------------------------------
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
        return catalog.bundle_of(row).files()


def draft(ctx: Context, actor: Actor, draft_id: int) -> dict[str, Any]:
    """A saved draft with its files. :raise NotFound: no such draft. :raise Forbidden: no designer."""
    require_designer(actor)
    with ctx.db.read() as session:
        row = session.get(Draft, draft_id)
        if row is None:
            raise NotFound(f"ไม่พบร่างที่ {draft_id}")
        return {**draft_summary(row), "files": dict(row.files)}


def drafts(ctx: Context, per_process: int = 5) -> dict[str, list[dict[str, Any]]]:
    """The latest drafts of each process, newest first (without their files)."""
    with ctx.db.read() as session:
        rows = session.execute(select(Draft.id, Draft.name, Draft.based_on_version, Draft.saved_by, Draft.saved_at)
                               .order_by(Draft.name, Draft.id.desc())).all()
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        listed = result.setdefault(row.name, [])
        if len(listed) < per_process:
            listed.append(draft_summary(row))
    return result


def draft_summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "based_on_version": row.based_on_version, "saved_by": row.saved_by,
            "saved_at": row.saved_at.isoformat()}
