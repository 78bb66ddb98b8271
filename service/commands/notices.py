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
- **A daily digest** may replace a person's immediate e-mail and LINE messages: what can be turned
  off collects, and the timer sweep (``sweep``) writes one "digest" notification a Bangkok day at
  the person's hour, delivered like any other; what cannot be turned off (a send-back, a legal
  limit near or passed) is never delayed.
- **LINE linking**: a one-time code (only its digest kept) shown on the person's settings page,
  sent by them to the organization's LINE Official Account, whose signed webhook names their LINE
  user id.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from service import channels, labels, oplog
from service.auth import ADMIN, Actor
from service.bundles import sendback
from service.bundles.catalog import Published
from service.commands import jobs
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from service.models import (
    Base,
    Delivery,
    LineLinkCode,
    NoticeSetting,
    Notification,
    OpenTask,
    Organization,
    Plan,
    RoleMembership,
    User,
)
from service.thai import dates
from service.thai.legaldays import BANGKOK, day_of, is_working_day

FILE = "notifications.json"
DELIVER = "deliver"
#: kinds of events the system raises; the data file says which of them notify and how
EVENTS = ("step_available", "sent_back", "step_taken_away", "deadline_near", "deadline_passed", "plan_finished",
          "test", "digest", "projects_overdue", "report_due", "progress_recorded")  # the last three: reminders.py
#: the daily digest's own event: not a thing that happened, so neither in the bell nor a choice to mute
DIGEST = "digest"
#: the timer property (BPMN) that says how many working days before a legal limit its step is
#: reminded of; without it, REMIND_DAYS
REMIND_PROPERTY = "reminderWorkingDays"
REMIND_DAYS = 3
#: a limit further off than this is not looked at by a sweep (no reminder window is this long)
LOOK_AHEAD = timedelta(days=60)
PLACEHOLDERS = {"step", "plan", "organization", "link", "reason", "by", "due", "count", "items", "report"}
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
    if not opened and not finished:
        return 0
    source = f"{plan.id}:{seq}"
    # the people to tell and the actor's name in one read (every completion pays for it)
    members, shown = _members(session, plan.organization_id, None if finished else {o.role for o in opened if o.role},
                              actor)
    if not members:
        return 0
    base = _about(session, version, plan, actor, shown)
    declared = sendback.declared(version.model.properties(task)) if task else None
    reason = str(data.get(declared.reason_field, "") if declared.reason_field else "") \
        if declared and declared.sends_back(data) else None
    rows: list[dict[str, Any]] = []
    for step in opened:
        values = {**base, "step": step.title, "reason": reason or "", "due": _within(step.due_at)}
        rows += [_notification(user_id, plan, "sent_back" if reason is not None else "step_available",
                               values, f"/tasks/{step.id}", source, now)
                 for user_id, username in members.get(step.role or "", []) if username != actor]
    if finished:
        users = {user_id for held in members.values() for user_id, _ in held}
        rows += [_notification(user_id, plan, "plan_finished", base, f"/plans/{plan.id}", source, now)
                 for user_id in sorted(users)]
    return _queue(session, rows, source, plan.id, now)


def handed_over(session: Session, version: Published, plan: Plan, task: OpenTask, seq: int, now: datetime,
                actor: str, before: str | None, to: str | None) -> int:
    """A claimed step given back or to someone else: its holder is told it was taken away, and the
    person it was given to that it waits for them (no one is told of what they did themselves)."""
    values = {**_about(session, version, plan, actor, _shown(session, actor)), "step": task.title,
              "due": _within(task.due_at)}
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
    members, _ = _members(session, plan.organization_id, roles, None)
    users = {user_id for role in roles for user_id, username in members.get(role, [])
             if role == ADMIN or not task.claimed_by or username == task.claimed_by}
    assert task.due_at is not None
    values = {**_about(session, version, plan, None, None), "step": task.title,
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


def _shown(session: Session, actor: str | None) -> str | None:
    return session.scalars(select(User.display_name).where(User.username == actor)).first() if actor else None


def _about(session: Session, version: Published, plan: Plan, actor: str | None, shown: str | None
           ) -> dict[str, str]:
    """The placeholders every message of a plan fills: the plan, its organization, who acted
    (``shown``: their display name)."""
    organization = session.get(Organization, plan.organization_id)
    return {"plan": f"{version.title} ประจำปีงบประมาณ พ.ศ. {plan.fiscal_year}",
            "organization": organization.name if organization else "",
            "by": shown or labels.actor_name(actor), "step": "", "reason": "", "due": ""}


def _within(due_at: datetime | None) -> str:
    return f" ภายในวันที่ {dates.long(day_of(due_at))}" if due_at else ""


def _notification(user_id: int, plan: Plan, event: str, values: dict[str, Any], link: str, source: str,
                  now: datetime) -> dict[str, Any]:
    return {"user_id": user_id, "organization_id": plan.organization_id, "plan_id": plan.id, "event": event,
            "values": values, "link": link, "source": source, "created_at": now, "read_at": None}


_NOTIFICATIONS, _JOBS = (insert(Base.metadata.tables[name]) for name in ("notifications", "jobs"))


def _queue(session: Session, rows: list[dict[str, Any]], source: str, plan_id: int | None, now: datetime) -> int:
    """Add the notifications and their delivery job to the command's transaction: one INSERT of all
    the rows (the command waits on these, so no ORM objects and no ids are asked for) and one of the
    job. ``source`` is new with this change, so no queued job can hold its key: jobs.enqueue's check
    for one is not needed."""
    if rows:
        connection = session.connection()  # Core, not the ORM's bulk path: a third of the time, the same SQL
        connection.execute(_NOTIFICATIONS, rows)
        connection.execute(_JOBS, [{
            "kind": DELIVER, "dedup_key": f"{DELIVER}:{source}", "plan_id": plan_id, "payload": {"source": source},
            "state": jobs.QUEUED, "attempts": 0, "max_attempts": MAX_ATTEMPTS, "run_after": now, "created_at": now}])
    return len(rows)


def _members_query(with_roles: bool) -> Any:
    name = select(User.display_name).where(User.username == bindparam("actor")).limit(1).scalar_subquery()
    query = (select(RoleMembership.role, User.id, User.username, name).join(User, User.id == RoleMembership.user_id)
             .where(RoleMembership.organization_id == bindparam("organization_id"), User.is_active.is_(True)))
    if with_roles:
        query = query.where(RoleMembership.role.in_(bindparam("roles", expanding=True)))
    return query.order_by(User.id)


#: built once: every completion runs one of them, and building a statement costs more than running it
_MEMBERS = {True: _members_query(True), False: _members_query(False)}


def _members(session: Session, organization_id: int, roles: set[str] | None, actor: str | None
             ) -> tuple[dict[str, list[tuple[int, str]]], str | None]:
    """role -> (user id, username) of the active people who hold it in the organization itself
    (national roles are not told of every organization's steps; ``roles`` None: every role), and
    the display name of ``actor``, read along (None when no one holds the roles)."""
    if roles is not None and not roles:
        return {}, None
    values: dict[str, Any] = {"organization_id": organization_id, "actor": actor}
    if roles is not None:
        values["roles"] = sorted(roles)
    found: dict[str, list[tuple[int, str]]] = {}
    shown = None
    for role, user_id, username, display_name in session.execute(_MEMBERS[roles is not None], values):
        found.setdefault(role, []).append((user_id, username))
        shown = display_name
    return found, shown


# --- Delivering them (a job) ---------------------------------------------------------------
@jobs.handles(DELIVER)
def deliver(ctx: Context, payload: dict[str, Any]) -> None:
    """Send the notifications of one change to their people's channels. Each channel's delivery is
    recorded before it is tried, and marked after; a channel that says "later" fails the job (the
    queue tries again after a pause, skipping what was sent); one that says "never" is marked failed."""
    wording = wordings(ctx.settings.processes_dir)
    pending = _deliveries(ctx, str(payload["source"]), wording)
    later: list[str] = []
    outcome: tuple[int, str, str | None] | None = None
    for delivery_id, channel, address, key, message in pending:
        _mark(ctx, outcome, delivery_id)
        try:
            channels.SENDERS[channel](ctx.settings, message, address, key)
        except channels.Retry as err:
            outcome = (delivery_id, QUEUED, str(err))
            later.append(f"{channel} {address}: {err}")
        except channels.Permanent as err:
            outcome = (delivery_id, FAILED, str(err))
        else:
            outcome = (delivery_id, SENT, None)
    if outcome is not None:
        _mark(ctx, outcome, None)
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
            if _waits_for_digest(kept, note.event, words):
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
                out.append((delivery.id, channel, delivery.address, delivery.key, message))
        return out


def _mark(ctx: Context, outcome: tuple[int, str, str | None] | None, starting: int | None) -> None:
    """Record how the last try ended and count the try about to begin, in one transaction: a sender
    killed mid-send has counted that try, so its delivery's attempts show the resend; one that has
    not begun is not counted."""
    with ctx.db.write() as session:
        if outcome is not None:
            delivery_id, state, error = outcome
            values: dict[str, Any] = {"state": state, "last_error": error}
            if state == SENT:
                values["sent_at"] = ctx.clock.now()
            session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values)
                            .execution_options(synchronize_session=False))
        if starting is not None:
            session.execute(update(Delivery).where(Delivery.id == starting)
                            .values(attempts=Delivery.attempts + 1).execution_options(synchronize_session=False))


def _waits_for_digest(kept: NoticeSetting | None, event: str, words: Wording) -> bool:
    return bool(kept and kept.digest_hour is not None and not words.always and event not in (DIGEST, "test"))


def message_of(words: Wording, note: Notification, base_url: str) -> channels.Message:
    link = f"{base_url}{note.link}"
    values = {**note.values, "link": link}
    return channels.Message(fill(words.subject, values), fill(words.body, values), link)


# --- The bell, the list, and each person's settings ----------------------------------------
def unread(ctx: Context, actor: Actor) -> int:
    if actor.user_id is None:
        return 0
    shown = [name for name in wordings(ctx.settings.processes_dir) if name != DIGEST]
    with ctx.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == actor.user_id, Notification.read_at.is_(None),
            Notification.event.in_(shown))) or 0)


LINK_MARK = "\x00link"


def listing(ctx: Context, actor: Actor, limit: int = 50, before: int | None = None) -> dict[str, Any]:
    """The actor's notifications, newest first, a page at a time (``before``: the id the last page
    ended on), each with its wording filled in."""
    wording = wordings(ctx.settings.processes_dir)
    with ctx.db.read() as session:
        query = select(Notification).where(Notification.user_id == actor.user_id,
                                           Notification.event.in_([name for name in wording if name != DIGEST]))
        if before is not None:
            query = query.where(Notification.id < before)
        rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
        items = []
        for note in rows[:limit]:
            words = wording[note.event]
            message = message_of(words, note, LINK_MARK)
            # the page links the step itself: the paragraph that spells the link out is for e-mail and LINE
            body = "\n\n".join(part for part in message.body.split("\n\n") if LINK_MARK not in part)
            items.append({"id": note.id, "event": note.event, "title": words.title,
                          "subject": message.subject, "body": body, "link": note.link,
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
    """The actor's e-mail address, LINE link (and the expiry of a link code still waiting), digest
    hour (None: immediate) and the events they want."""
    wording = wordings(ctx.settings.processes_dir)
    now = ctx.clock.now()
    with ctx.db.read() as session:
        kept = session.get(NoticeSetting, actor.user_id) if actor.user_id else None
        code = session.get(LineLinkCode, actor.user_id) if actor.user_id else None
        return {"email": kept.email if kept else None, "line_linked": bool(kept and kept.line_user_id),
                "line_code_expires_at": code.expires_at if code and code.expires_at > now else None,
                "line_linking": bool(ctx.settings.line_secret and ctx.settings.line_token),
                "digest_hour": kept.digest_hour if kept else None,
                "events": [{"event": name, "title": words.title, "always": words.always,
                            "on": words.always or not kept or name not in (kept.muted or [])}
                           for name, words in wording.items() if name != DIGEST]}


def keep_settings(ctx: Context, actor: Actor, email: str | None, muted: Iterable[str],
                  digest_hour: int | None = None) -> dict[str, Any]:
    """Keep the actor's e-mail address, the events they turned off and their digest hour (a Bangkok
    hour 0-23; None: every message at once). :raise Invalid: a malformed address or hour (nothing
    kept); NotFound: the actor is no person."""
    if actor.user_id is None:
        raise NotFound("ไม่พบผู้ใช้")
    address = (email or "").strip() or None
    if address is not None and (len(address) > 254 or not EMAIL.fullmatch(address)):
        raise Invalid("ที่อยู่อีเมลไม่ถูกต้อง", [{"field": "/email", "message": "ที่อยู่อีเมลไม่ถูกต้อง เช่น somchai@example.go.th"}])
    if digest_hour is not None and (isinstance(digest_hour, bool) or digest_hour not in range(24)):
        raise Invalid("เวลาส่งสรุปประจำวันไม่ถูกต้อง", [{"field": "/digest_hour",
                                                     "message": "เลือกเวลาส่งสรุประหว่าง 0 ถึง 23 นาฬิกา"}])
    wording = wordings(ctx.settings.processes_dir)
    off = sorted({name for name in muted if name in wording and not wording[name].always})
    with ctx.db.write() as session:
        kept = session.get(NoticeSetting, actor.user_id)
        if kept is None:  # complete at once: the digest's read below flushes it
            kept = NoticeSetting(user_id=actor.user_id, line_user_id=None, muted=[], changed_at=ctx.clock.now())
            session.add(kept)
        if digest_hour is not None and kept.digest_hour is None:
            # the digest starts from now: what was already sent at once is not sent again
            kept.digest_through = session.scalar(select(func.max(Notification.id))
                                                 .where(Notification.user_id == actor.user_id)) or 0
        kept.email, kept.muted, kept.changed_at = address, off, ctx.clock.now()
        kept.digest_hour = digest_hour
    return settings_of(ctx, actor)


# --- The daily digest ----------------------------------------------------------------------
#: at most this many items are listed in one digest; the rest are counted (all are in the bell)
DIGEST_ITEMS = 30


def sweep(ctx: Context) -> int:
    """The timer sweep's part: the legal limits near or passed, then the digests now due; how many
    notifications it wrote."""
    return remind(ctx) + digests(ctx)


def digests(ctx: Context) -> int:
    """Write the daily digest of each person whose Bangkok hour has come today and who has not had
    today's: what collected since their last one, in one notification (delivered by the queue like
    any other). Once per person and Bangkok day, whatever the number of sweepers: the day is taken
    by a conditional UPDATE before anything is written. How many digests it wrote."""
    now = ctx.clock.now()
    today = day_of(now)
    hour = now.astimezone(BANGKOK).hour
    wording = wordings(ctx.settings.processes_dir)
    if DIGEST not in wording:
        return 0
    with ctx.db.read() as session:
        due = list(session.scalars(select(NoticeSetting.user_id).where(
            NoticeSetting.digest_hour.is_not(None), NoticeSetting.digest_hour <= hour,
            (NoticeSetting.digest_sent_on.is_(None)) | (NoticeSetting.digest_sent_on < today))))
    written = 0
    for user_id in due:
        written += _digest(ctx, user_id, today, hour, now, wording)
    return written


def _digest(ctx: Context, user_id: int, today: date, hour: int, now: datetime, wording: Mapping[str, Wording]) -> int:
    with ctx.db.write() as session:
        taken: Any = session.execute(
            update(NoticeSetting).where(NoticeSetting.user_id == user_id, NoticeSetting.digest_hour.is_not(None),
                                        NoticeSetting.digest_hour <= hour,
                                        (NoticeSetting.digest_sent_on.is_(None))
                                        | (NoticeSetting.digest_sent_on < today))
            .values(digest_sent_on=today).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            return 0  # another sweeper took this person's day
        kept = session.get(NoticeSetting, user_id)
        assert kept is not None
        notes = list(session.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.id > (kept.digest_through or 0))
            .order_by(Notification.id)))
        if notes:
            kept.digest_through = notes[-1].id
        waiting = [n for n in notes if n.event in wording and n.event not in (kept.muted or [])
                   and _waits_for_digest(kept, n.event, wording[n.event])]
        if not waiting:
            return 0
        base_url = ctx.settings.public_url.rstrip("/")
        lines = [f"• {message_of(wording[n.event], n, base_url).subject}\n  {base_url}{n.link}"
                 for n in waiting[:DIGEST_ITEMS]]
        if len(waiting) > DIGEST_ITEMS:
            lines.append(f"และอีก {len(waiting) - DIGEST_ITEMS} เรื่อง")
        first = waiting[0]
        source = f"digest:{user_id}:{today.isoformat()}"
        session.add(Notification(user_id=user_id, organization_id=first.organization_id, plan_id=None, event=DIGEST,
                                 values={"count": str(len(waiting)), "items": "\n".join(lines),
                                         "due": f"วันที่ {dates.long(today)}"},
                                 link="/notifications", source=source, created_at=now, read_at=now))
        jobs.enqueue(session, DELIVER, {"source": source}, f"{DELIVER}:{source}", now, max_attempts=MAX_ATTEMPTS)
        return 1


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


def deliveries_page(ctx: Context, actor: Actor, state: str | None = None, limit: int = 50,
                    before: int | None = None) -> dict[str, Any]:
    """The deliveries an administrator may see, newest first (every one for a national administrator;
    those of the organizations one administers otherwise), of one ``state`` or all, a page at a time
    (``before``: the id the page before ended on), with the counts by state.
    :raise Forbidden: the actor administers nothing. :raise Invalid: an unknown state."""
    administered = _administered(actor)
    if state is not None and state not in (QUEUED, SENT, FAILED):
        raise Invalid(f"ไม่มีสถานะการส่ง {state}")
    scope = [] if administered is None else [Notification.organization_id.in_(administered)]
    with ctx.db.read() as session:
        query = (select(Delivery, Notification.event, Notification.link, Notification.created_at, User.username,
                        Organization.name)
                 .join(Notification, Notification.id == Delivery.notification_id)
                 .join(User, User.id == Notification.user_id)
                 .outerjoin(Organization, Organization.id == Notification.organization_id).where(*scope))
        if state is not None:
            query = query.where(Delivery.state == state)
        if before is not None:
            query = query.where(Delivery.id < before)
        rows = list(session.execute(query.order_by(Delivery.id.desc()).limit(limit + 1)))
        counts = dict(session.execute(select(Delivery.state, func.count())
                                      .join(Notification, Notification.id == Delivery.notification_id)
                                      .where(*scope).group_by(Delivery.state)).all())
        items = [{"id": d.id, "channel": d.channel, "address": d.address, "state": d.state, "attempts": d.attempts,
                  "last_error": d.last_error, "created_at": d.created_at, "sent_at": d.sent_at, "event": event,
                  "link": link, "user": username, "organization": organization}
                 for d, event, link, _, username, organization in rows[:limit]]
    return {"items": items, "next": items[-1]["id"] if len(rows) > limit else None,
            "counts": {name: int(counts.get(name, 0)) for name in (QUEUED, SENT, FAILED)}}


def retry_delivery(ctx: Context, actor: Actor, delivery_id: int) -> dict[str, Any]:
    """Queue a failed delivery again (fresh attempts, the same idempotency key), with the job that
    sends it. :raise NotFound: no such delivery the actor may see; Conflict: it has not failed."""
    administered = _administered(actor)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        found = session.execute(select(Delivery, Notification).join(
            Notification, Notification.id == Delivery.notification_id).where(Delivery.id == delivery_id)).first()
        if found is None or (administered is not None and found[1].organization_id not in administered):
            raise NotFound(f"ไม่พบการส่งเลขที่ {delivery_id}")
        delivery, note = found
        if delivery.state != FAILED:
            raise Conflict(f"การส่งเลขที่ {delivery_id} ไม่ได้ล้มเหลว จึงไม่ต้องส่งใหม่")
        delivery.state, delivery.attempts = QUEUED, 0
        jobs.enqueue(session, DELIVER, {"source": note.source}, f"{DELIVER}:{note.source}", now,
                     plan_id=note.plan_id, max_attempts=MAX_ATTEMPTS)
        oplog.log("delivery_retried", delivery=delivery_id, by=actor.username)
        return {"id": delivery.id, "state": delivery.state}


def _administered(actor: Actor) -> set[int] | None:
    """The organizations the actor administers; None: every one. :raise Forbidden: none."""
    organizations = {org for org, role in actor.memberships if role == ADMIN}
    if not organizations:
        raise Forbidden("เฉพาะผู้ดูแลระบบเท่านั้นที่ดูรายการส่งการแจ้งเตือนได้")
    return None if None in organizations else {org for org in organizations if org is not None}


# --- Linking a LINE account ----------------------------------------------------------------
LINK_LIFETIME = timedelta(minutes=15)
#: no 0/O or 1/I/L: read off a screen and typed into LINE on a phone
LINK_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LINK_LENGTH = 8
LINE_USER = re.compile(r"U[0-9a-f]{32}")


def _code_digest(code: str) -> str:
    return hashlib.sha256(f"phaen-line-link:{code}".encode()).hexdigest()


def new_line_code(ctx: Context, actor: Actor) -> dict[str, Any]:
    """A one-time code the actor sends to the organization's LINE Official Account to link their LINE
    account: valid LINK_LIFETIME, used once; a new one replaces the one before. Only its digest is
    kept, so it is shown once. :raise NotFound: the actor is no person."""
    if actor.user_id is None:
        raise NotFound("ไม่พบผู้ใช้")
    now = ctx.clock.now()
    with ctx.db.write() as session:
        session.execute(delete(LineLinkCode).where((LineLinkCode.user_id == actor.user_id)
                                                   | (LineLinkCode.expires_at <= now)))
        while True:  # another person's code waiting with the same letters: one in 10^12, but then draw again
            code = "".join(secrets.choice(LINK_ALPHABET) for _ in range(LINK_LENGTH))
            if not session.scalar(select(func.count()).select_from(LineLinkCode)
                                  .where(LineLinkCode.digest == _code_digest(code))):
                break
        session.add(LineLinkCode(user_id=actor.user_id, digest=_code_digest(code), expires_at=now + LINK_LIFETIME))
    return {"code": f"{code[:4]}-{code[4:]}", "expires_at": now + LINK_LIFETIME}


def line_webhook(ctx: Context, body: bytes, signature: str | None) -> int:
    """A call of LINE's webhook: believed only with the channel secret's signature of its raw body;
    its events are then read (``line_events``). :raise Unauthorized: a missing or wrong signature, or
    no secret set (nothing read); Invalid: a signed body that is not LINE's JSON."""
    if not channels.line.signed(ctx.settings.line_secret, body, signature):
        raise Unauthorized("ลายมือชื่อของ LINE ไม่ถูกต้อง")
    try:
        document = json.loads(body)
    except ValueError as err:
        raise Invalid("ข้อมูลที่ส่งไม่ใช่ JSON ที่ถูกต้อง") from err
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise Invalid('ต้องมี "events" เป็นรายการ')
    return line_events(ctx, document["events"])


def line_events(ctx: Context, events: Any) -> int:
    """What the LINE webhook said (its signature already checked): a person's text message holding a
    valid link code links their LINE user id to the code's owner (and uses the code up); an
    "unfollow" (they blocked the account) unlinks it. Anything else is ignored, and nothing answers
    whether a code existed. How many links it changed."""
    if not isinstance(events, list):
        return 0
    now = ctx.clock.now()
    changed = 0
    with ctx.db.write() as session:
        for event in events[:100]:
            if not isinstance(event, dict) or not isinstance(event.get("source"), dict):
                continue
            line_user = event["source"].get("userId")
            if event["source"].get("type") != "user" or not isinstance(line_user, str) or \
                    not LINE_USER.fullmatch(line_user):
                continue
            if event.get("type") == "unfollow":
                result: Any = session.execute(update(NoticeSetting).where(NoticeSetting.line_user_id == line_user)
                                              .values(line_user_id=None, changed_at=now)
                                              .execution_options(synchronize_session=False))
                changed += int(result.rowcount)
                continue
            message = event.get("message")
            if event.get("type") != "message" or not isinstance(message, dict) or message.get("type") != "text" \
                    or not isinstance(message.get("text"), str) or len(message["text"]) > 100:
                continue
            typed = "".join(ch for ch in message["text"].upper() if ch.isascii() and ch.isalnum())
            if len(typed) != LINK_LENGTH:
                continue
            code = session.scalars(select(LineLinkCode).where(LineLinkCode.digest == _code_digest(typed),
                                                              LineLinkCode.expires_at > now)).first()
            if code is None:
                continue
            kept = session.get(NoticeSetting, code.user_id)
            if kept is None:
                kept = NoticeSetting(user_id=code.user_id, email=None, muted=[])
                session.add(kept)
            kept.line_user_id, kept.changed_at = line_user, now
            session.delete(code)
            oplog.log("line_linked", user=code.user_id)
            changed += 1
    return changed


def unlink_line(ctx: Context, actor: Actor) -> None:
    """End the actor's LINE link (and any link code still waiting). :raise NotFound: no person."""
    if actor.user_id is None:
        raise NotFound("ไม่พบผู้ใช้")
    with ctx.db.write() as session:
        session.execute(delete(LineLinkCode).where(LineLinkCode.user_id == actor.user_id))
        session.execute(update(NoticeSetting).where(NoticeSetting.user_id == actor.user_id)
                        .values(line_user_id=None, changed_at=ctx.clock.now())
                        .execution_options(synchronize_session=False))
