"""Notifications: who is told what, written in the command's own transaction (the outbox), and
delivered afterwards by the job queue to each person's channels.

- **What notifies, and the wording, are data** (``processes/notifications.json``, or the file of
  the deployment's processes folder): each kind of event names its Thai title, subject and body
  (``$step``, ``$plan``, ``$reason`` … filled in; no code in it) and its channels; ``always``
  marks what the person who must act cannot turn off.
- **The outbox**: recording a change (commands/recording.py) calls ``recorded``; the notification
  rows and one "deliver" job for them are added to that transaction, so they exist exactly when the
  change does. The job sends each person's message to each of their channels, one ``Delivery`` per
  channel with its idempotency key (the e-mail's Message-ID, LINE's retry key), retried with a
  growing pause while the channel says "later" and marked failed at once when it says "never".
  Delivery is at least once: a sender killed between sending and marking sends again, with the
  same key, and the attempt is counted.
- The in-app bell reads the notification rows themselves: a person with no channel sees everything.
"""

from __future__ import annotations

import json
import re
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service import channels, labels
from service.auth import ADMIN, Actor
from service.bundles import sendback
from service.bundles.catalog import Published
from service.commands import jobs
from service.context import Context
from service.errors import Invalid, NotFound
from service.models import Delivery, NoticeSetting, Notification, OpenTask, Organization, Plan, RoleMembership, User
from service.thai import dates
from service.thai.legaldays import day_of, is_working_day

FILE = "notifications.json"
DELIVER = "deliver"
#: kinds of events the system raises; the data file says which of them notify and how
EVENTS = ("step_available", "sent_back", "step_taken_away", "deadline_near", "deadline_passed", "plan_finished",
          "test")
#: the timer property (BPMN) that says how many working days before a legal limit its step is
#: reminded of; without it, REMIND_DAYS
REMIND_PROPERTY = "reminderWorkingDays"
REMIND_DAYS = 3
#: a limit further off than this is not looked at by a sweep (no reminder window is this long)
LOOK_AHEAD = timedelta(days=60)
PLACEHOLDERS = {"step", "plan", "organization", "link", "reason", "by", "due"}
CHANNELS = ("inapp", "email", "line")
#: a channel down for an hour still delivers: 30 s, 1, 2 … 32 min, then hourly, about 8 hours in all
MAX_ATTEMPTS = 14
EMAIL = re.compile(r"[^@\s<>\"',;]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
SENT, FAILED, QUEUED = "sent", "failed", "queued"


# --- The wording, as data ------------------------------------------------------------------
@dataclass(frozen=True)
class Wording:
    title: str
    subject: str
    body: str
    channels: tuple[str, ...]
    always: bool


_loaded: dict[Path, tuple[float, dict[str, Wording]]] = {}


def wordings(processes_dir: Path) -> dict[str, Wording]:
    """The deployment's notification wording, read again when its file changes. :raise Invalid:"""
    path = processes_dir / FILE
    stamp = path.stat().st_mtime if path.exists() else 0.0
    cached = _loaded.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    found = parse(path.read_text("utf-8")) if path.exists() else {}
    _loaded[path] = (stamp, found)
    return found


def parse(text: str) -> dict[str, Wording]:
    """The wording a notifications file declares. :raise Invalid: with every problem, in Thai."""
    try:
        document = json.loads(text)
    except ValueError as err:
        raise Invalid(f"{FILE} ไม่ใช่ JSON ที่ถูกต้อง: {err}") from err
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, dict):
        raise Invalid(f'{FILE} ต้องมี "events" เป็นออบเจกต์')
    problems: list[str] = []
    found: dict[str, Wording] = {}
    for name, entry in events.items():
        if name not in EVENTS:
            problems.append(f"{name}: ไม่ใช่เหตุการณ์ที่ระบบแจ้งได้ ({', '.join(EVENTS)})")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{name}: ต้องเป็นออบเจกต์")
            continue
        texts = {key: entry.get(key) for key in ("title", "subject", "body")}
        for key, value in texts.items():
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{name}.{key}: ต้องเป็นข้อความที่ไม่ว่าง")
                continue
            unknown = _placeholders(value) - PLACEHOLDERS
            if unknown:
                problems.append(f"{name}.{key}: ไม่รู้จักตัวแปร {', '.join(sorted('$' + u for u in unknown))}")
        kinds = entry.get("channels", list(CHANNELS))
        if not isinstance(kinds, list) or any(k not in CHANNELS for k in kinds):
            problems.append(f"{name}.channels: เลือกได้จาก {', '.join(CHANNELS)}")
            kinds = []
        if not problems:
            found[name] = Wording(str(texts["title"]), str(texts["subject"]), str(texts["body"]), tuple(kinds),
                                  entry.get("always") is True)
    if problems:
        raise Invalid(f"{FILE} มีข้อผิดพลาด: " + "; ".join(problems))
    return found


def _placeholders(text: str) -> set[str]:
    template = string.Template(text)
    return {m.group("named") or m.group("braced") for m in template.pattern.finditer(text)
            if m.group("named") or m.group("braced")}


def fill(text: str, values: Mapping[str, Any]) -> str:
    """The wording with its placeholders filled (only names, never attributes or code)."""
    return string.Template(text).safe_substitute({k: str(values.get(k, "")) for k in PLACEHOLDERS})


# --- Writing them, in the command's transaction --------------------------------------------
def recorded(session: Session, plan: Plan, version: Published, seq: int, now: datetime, actor: str,
             task: str | None, data: Mapping[str, Any], opened: Sequence[OpenTask], finished: bool) -> int:
    """Add the notifications a recorded change raises (the steps it opened, to the people of their
    role; a send-back, with its reason; the procedure finished, to the organization's people) and
    the job that delivers them; how many. Every kind is written; the wording file decides which are
    shown and sent, so the command needs no settings."""
    source = f"{plan.id}:{seq}"
    base = _about(session, version, plan, actor)
    declared = sendback.declared(version.model.properties(task)) if task else None
    reason = str(data.get(declared.reason_field, "") if declared.reason_field else "") \
        if declared and declared.sends_back(data) else None
    rows: list[Notification] = []
    if opened:
        members = _members(session, plan.organization_id, {o.role for o in opened if o.role})
        for step in opened:
            values = {**base, "step": step.title, "reason": reason or "", "due": _within(step.due_at)}
            rows += [_notification(user_id, plan, "sent_back" if reason is not None else "step_available",
                                   values, f"/tasks/{step.id}", source, now)
                     for user_id, username in members.get(step.role or "", []) if username != actor]
    if finished:
        users = {user_id for held in _members(session, plan.organization_id, None).values() for user_id, _ in held}
        rows += [_notification(user_id, plan, "plan_finished", base, f"/plans/{plan.id}", source, now)
                 for user_id in sorted(users)]
    return _queue(session, rows, source, plan.id, now)


def handed_over(session: Session, version: Published, plan: Plan, task: OpenTask, seq: int, now: datetime,
                actor: str, before: str | None, to: str | None) -> int:
    """A claimed step given back or to someone else: its holder is told it was taken away, and the
    person it was given to that it waits for them (no one is told of what they did themselves)."""
    values = {**_about(session, version, plan, actor), "step": task.title, "due": _within(task.due_at)}
    told = {username: event for username, event in ((before, "step_taken_away"), (to, "step_available"))
            if username and username != actor}
    users: dict[str, int] = {name: user_id for name, user_id in session.execute(
        select(User.username, User.id).where(User.username.in_(told), User.is_active.is_(True)))}
    source = f"{plan.id}:{seq}"
    links = {"step_taken_away": f"/plans/{plan.id}", "step_available": f"/tasks/{task.id}"}
    return _queue(session, [_notification(users[name], plan, event, values, links[event], source, now)
                            for name, event in told.items() if name in users], source, plan.id, now)


def remind(ctx: Context) -> int:
    """Tell the people of each open step whose legal limit is near (``reminderWorkingDays`` of the
    limit's timer, counted back over working days and holidays; 3 without it) and, once the limit
    has passed, them and the organization's administrators: once per step and limit (an extended
    limit is reminded of again). Run with each timer sweep; how many notifications it wrote."""
    now = ctx.clock.now()
    today = day_of(now)
    written = 0
    with ctx.db.write() as session:
        holidays = ctx.calendar(session, now).days_at(now)
        rows = list(session.execute(
            select(OpenTask, Plan).join(Plan, Plan.id == OpenTask.plan_id)
            .where(OpenTask.due_at.is_not(None), OpenTask.due_at <= now + LOOK_AHEAD, Plan.status == "running")
            .order_by(OpenTask.due_at)))
        wanted: list[tuple[OpenTask, Plan, str, str]] = []
        for task, plan in rows:
            assert task.due_at is not None
            stamp = int(task.due_at.timestamp())
            if task.due_at <= now:
                wanted.append((task, plan, "deadline_passed", f"{plan.id}:passed:{task.id}:{stamp}"))
            elif today >= _reminded_from(day_of(task.due_at), _remind_days(ctx, session, plan, task), holidays):
                wanted.append((task, plan, "deadline_near", f"{plan.id}:near:{task.id}:{stamp}"))
        done = set(session.scalars(select(Notification.source).where(
            Notification.source.in_([source for *_, source in wanted])))) if wanted else set()
        for task, plan, event, source in wanted:
            if source in done:
                continue
            version = ctx.models.published(session, plan.process_version_id)
            written += _deadline(session, version, plan, task, event, source, now)
    return written


def _deadline(session: Session, version: Published, plan: Plan, task: OpenTask, event: str, source: str,
              now: datetime) -> int:
    roles = {task.role} if task.role else set()
    if event == "deadline_passed":
        roles.add(ADMIN)  # the escalation: the organization's administrators are told too
    members = _members(session, plan.organization_id, roles)
    users = {user_id for role in roles for user_id, username in members.get(role, [])
             if role == ADMIN or not task.claimed_by or username == task.claimed_by}
    assert task.due_at is not None
    values = {**_about(session, version, plan, None), "step": task.title,
              "due": f"วันที่ {dates.long(day_of(task.due_at))}"}
    return _queue(session, [_notification(user_id, plan, event, values, f"/tasks/{task.id}", source, now)
                            for user_id in sorted(users)], source, plan.id, now)


def _remind_days(ctx: Context, session: Session, plan: Plan, task: OpenTask) -> int:
    """The reminder window of the limit the step is due by: its timer's property, else REMIND_DAYS."""
    assert task.due_at is not None
    version = ctx.models.published(session, plan.process_version_id)
    for deadline in plan.deadlines or []:
        if deadline.get("kind") == "limit" and _instant(deadline.get("due_at")) == task.due_at:
            raw = version.model.properties(deadline["key"]).get(REMIND_PROPERTY, "").strip()
            if raw.isascii() and raw.isdigit() and int(raw) <= 30:
                return int(raw)
    return REMIND_DAYS


def _instant(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _reminded_from(due: date, days: int, holidays: frozenset[date]) -> date:
    """The day ``days`` working days before ``due``."""
    day, counted = due, 0
    while counted < days:
        day -= timedelta(days=1)
        if is_working_day(day, holidays):
            counted += 1
    return day


def _about(session: Session, version: Published, plan: Plan, actor: str | None) -> dict[str, str]:
    """The placeholders every message of a plan fills: the plan, its organization, who acted."""
    organization = session.get(Organization, plan.organization_id)
    shown = session.scalars(select(User.display_name).where(User.username == actor)).first() if actor else None
    return {"plan": f"{version.title} ประจำปีงบประมาณ พ.ศ. {plan.fiscal_year}",
            "organization": organization.name if organization else "",
            "by": shown or labels.actor_name(actor), "step": "", "reason": "", "due": ""}


def _within(due_at: datetime | None) -> str:
    return f" ภายในวันที่ {dates.long(day_of(due_at))}" if due_at else ""


def _notification(user_id: int, plan: Plan, event: str, values: dict[str, Any], link: str, source: str,
                  now: datetime) -> Notification:
    return Notification(user_id=user_id, organization_id=plan.organization_id, plan_id=plan.id, event=event,
                        values=values, link=link, source=source, created_at=now, read_at=None)


def _queue(session: Session, rows: list[Notification], source: str, plan_id: int | None, now: datetime) -> int:
    if rows:
        session.add_all(rows)
        jobs.enqueue(session, DELIVER, {"source": source}, f"{DELIVER}:{source}", now, plan_id=plan_id,
                     max_attempts=MAX_ATTEMPTS)
    return len(rows)


def _members(session: Session, organization_id: int, roles: set[str] | None) -> dict[str, list[tuple[int, str]]]:
    """role -> (user id, username) of the active people who hold it in the organization itself
    (national roles are not told of every organization's steps)."""
    query = (select(RoleMembership.role, User.id, User.username).join(User, User.id == RoleMembership.user_id)
             .where(RoleMembership.organization_id == organization_id, User.is_active.is_(True)))
    if roles is not None:
        if not roles:
            return {}
        query = query.where(RoleMembership.role.in_(roles))
    found: dict[str, list[tuple[int, str]]] = {}
    for role, user_id, username in session.execute(query.order_by(User.id)):
        found.setdefault(role, []).append((user_id, username))
    return found


# --- Delivering them (a job) ---------------------------------------------------------------
@jobs.handles(DELIVER)
def deliver(ctx: Context, payload: dict[str, Any]) -> None:
    """Send the notifications of one change to their people's channels. Each channel's delivery is
    recorded before it is tried, and marked after; a channel that says "later" fails the job (the
    queue tries again after a pause, skipping what was sent); one that says "never" is marked failed."""
    wording = wordings(ctx.settings.processes_dir)
    pending = _deliveries(ctx, str(payload["source"]), wording)
    later: list[str] = []
    for delivery_id, channel, address, key, message in pending:
        try:
            channels.SENDERS[channel](ctx.settings, message, address, key)
        except channels.Retry as err:
            _mark(ctx, delivery_id, QUEUED, str(err))
            later.append(f"{channel} {address}: {err}")
        except channels.Permanent as err:
            _mark(ctx, delivery_id, FAILED, str(err))
        else:
            _mark(ctx, delivery_id, SENT, None)
    if later:
        raise channels.Retry("; ".join(later))


def _deliveries(ctx: Context, source: str, wording: Mapping[str, Wording]
                ) -> list[tuple[int, str, str, str, channels.Message]]:
    """The deliveries still to try for a change's notifications, made on the first run (one per
    person and channel they have), each with its message."""
    now = ctx.clock.now()
    base_url = ctx.settings.public_url.rstrip("/")
    with ctx.db.write() as session:
        notes = list(session.scalars(select(Notification).where(Notification.source == source)
                                     .order_by(Notification.id)))
        settings = {s.user_id: s for s in session.scalars(
            select(NoticeSetting).where(NoticeSetting.user_id.in_({n.user_id for n in notes})))}
        existing = {(d.notification_id, d.channel): d for d in session.scalars(
            select(Delivery).where(Delivery.notification_id.in_([n.id for n in notes])))}
        out = []
        for note in notes:
            words = wording.get(note.event)
            kept = settings.get(note.user_id)
            if words is None:
                continue
            if kept and note.event in (kept.muted or []) and not words.always:
                continue
            message = message_of(words, note, base_url)
            for channel, address in (("email", kept.email if kept else None),
                                     ("line", kept.line_user_id if kept else None)):
                if channel not in words.channels or not address or not channels.CONFIGURED[channel](ctx.settings):
                    continue
                delivery = existing.get((note.id, channel))
                if delivery is None:
                    delivery = Delivery(notification_id=note.id, channel=channel, address=address,
                                        key=uuid.uuid4().hex, state=QUEUED, attempts=0, created_at=now)
                    session.add(delivery)
                    session.flush()
                if delivery.state != QUEUED:
                    continue
                delivery.attempts += 1  # counted before the try: a sender killed mid-send still counts it
                out.append((delivery.id, channel, delivery.address, delivery.key, message))
        return out


def _mark(ctx: Context, delivery_id: int, state: str, error: str | None) -> None:
    with ctx.db.write() as session:
        values: dict[str, Any] = {"state": state, "last_error": error}
        if state == SENT:
            values["sent_at"] = ctx.clock.now()
        session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values)
                        .execution_options(synchronize_session=False))


def message_of(words: Wording, note: Notification, base_url: str) -> channels.Message:
    link = f"{base_url}{note.link}"
    values = {**note.values, "link": link}
    return channels.Message(fill(words.subject, values), fill(words.body, values), link)


# --- The bell, the list, and each person's settings ----------------------------------------
def unread(ctx: Context, actor: Actor) -> int:
    if actor.user_id is None:
        return 0
    shown = list(wordings(ctx.settings.processes_dir))
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == actor.user_id, Notification.read_at.is_(None),
            Notification.event.in_(shown))) or 0)


def listing(ctx: Context, actor: Actor, limit: int = 50, before: int | None = None) -> dict[str, Any]:
    """The actor's notifications, newest first, a page at a time (``before``: the id the last page
    ended on), each with its wording filled in."""
    wording = wordings(ctx.settings.processes_dir)
    with ctx.db.read() as session:
        query = select(Notification).where(Notification.user_id == actor.user_id,
                                           Notification.event.in_(list(wording)))
        if before is not None:
            query = query.where(Notification.id < before)
        rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
        items = []
        for note in rows[:limit]:
            words = wording[note.event]
            message = message_of(words, note, "")
            items.append({"id": note.id, "event": note.event, "title": words.title,
                          "subject": message.subject, "body": message.body, "link": note.link,
                          "created_at": note.created_at, "read": note.read_at is not None})
        return {"items": items, "next": rows[limit - 1].id if len(rows) > limit else None}


def mark_read(ctx: Context, actor: Actor, ids: Iterable[int] | None = None) -> int:
    """Mark the actor's notifications read (all of them when ``ids`` is None); how many changed."""
    with ctx.db.write() as session:
        query = update(Notification).where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        if ids is not None:
            query = query.where(Notification.id.in_(list(ids)))
        result: Any = session.execute(query.values(read_at=ctx.clock.now())
                                      .execution_options(synchronize_session=False))
        return int(result.rowcount)


def settings_of(ctx: Context, actor: Actor) -> dict[str, Any]:
    wording = wordings(ctx.settings.processes_dir)
    with ctx.db.read() as session:
        kept = session.get(NoticeSetting, actor.user_id) if actor.user_id else None
        return {"email": kept.email if kept else None, "line_linked": bool(kept and kept.line_user_id),
                "events": [{"event": name, "title": words.title, "always": words.always,
                            "on": words.always or not kept or name not in (kept.muted or [])}
                           for name, words in wording.items()]}


def keep_settings(ctx: Context, actor: Actor, email: str | None, muted: Iterable[str]) -> dict[str, Any]:
    """Keep the actor's e-mail address and the events they turned off. :raise Invalid: a malformed
    address (nothing kept); NotFound: the actor is no person."""
    if actor.user_id is None:
        raise NotFound("ไม่พบผู้ใช้")
    address = (email or "").strip() or None
    if address is not None and (len(address) > 254 or not EMAIL.fullmatch(address)):
        raise Invalid("ที่อยู่อีเมลไม่ถูกต้อง", [{"field": "/email", "message": "ที่อยู่อีเมลไม่ถูกต้อง เช่น somchai@example.go.th"}])
    wording = wordings(ctx.settings.processes_dir)
    off = sorted({name for name in muted if name in wording and not wording[name].always})
    with ctx.db.write() as session:
        kept = session.get(NoticeSetting, actor.user_id)
        if kept is None:
            kept = NoticeSetting(user_id=actor.user_id, line_user_id=None)
            session.add(kept)
        kept.email, kept.muted, kept.changed_at = address, off, ctx.clock.now()
    return settings_of(ctx, actor)


# --- Operators -----------------------------------------------------------------------------
def test(ctx: Context, username: str) -> dict[str, str]:
    """Send the "test" message to one person now, on every channel (the bell included), without the
    queue: channel -> what happened, so an operator sees a wrong setting at once. :raise NotFound:"""
    wording = wordings(ctx.settings.processes_dir)
    if "test" not in wording:
        raise NotFound(f"{FILE} ไม่มีข้อความ test")
    now = ctx.clock.now()
    with ctx.db.write() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound(f"ไม่พบผู้ใช้ {username}")
        note = Notification(user_id=user.id, organization_id=user.organization_id, plan_id=None, event="test",
                            values={}, link="/notifications", source=f"test:{uuid.uuid4().hex[:12]}",
                            created_at=now, read_at=None)
        session.add(note)
        kept = session.get(NoticeSetting, user.id)
        addresses = {"email": kept.email if kept else None, "line": kept.line_user_id if kept else None}
        message = message_of(wording["test"], note, ctx.settings.public_url.rstrip("/"))
    results = {"inapp": "sent"}
    for channel, address in addresses.items():
        if not channels.CONFIGURED[channel](ctx.settings):
            results[channel] = "not configured"
        elif not address:
            results[channel] = "no address"
        else:
            try:
                channels.SENDERS[channel](ctx.settings, message, address, uuid.uuid4().hex)
                results[channel] = "sent"
            except (channels.Retry, channels.Permanent) as err:
                results[channel] = f"failed: {err}"
    return results


def status(ctx: Context, limit: int = 20) -> dict[str, Any]:
    """Deliveries by state, and the latest that failed or wait, with their last error."""
    with ctx.db.read() as session:
        counts = dict(session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all())
        troubled = [{"id": d.id, "channel": d.channel, "address": d.address, "state": d.state,
                     "attempts": d.attempts, "last_error": d.last_error}
                    for d in session.scalars(select(Delivery).where(Delivery.state != SENT)
                                             .order_by(Delivery.id.desc()).limit(limit))]
        return {"counts": {state: int(counts.get(state, 0)) for state in (QUEUED, SENT, FAILED)},
                "notifications": int(session.scalar(select(func.count()).select_from(Notification)) or 0),
                "troubled": troubled}
