"""The members of an organization's committees (and the holders of its single-holder roles, such as
the executive's) with their terms, kept by the organization's admin or a national admin, so that
the documents print who sat on the day of each meeting (bundles/committees.py looks them up).

A term runs from its first to its last day inclusive (Bangkok legal days; no last day: still
serving). Terms are never deleted, only ended: replacing a member ends their term the day before
the new member's starts. A mistyped row may be corrected; every change goes into the admin log in
its own transaction, and queues the renders of the organization's running plans (their documents
print the names)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth import ADMIN, SYSTEM_ROLES, Actor
from service.bundles import committees
from service.commands import admin, administration, renders
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import CommitteeSeat, Organization, Plan, ProcessVersion, User
from service.thai import dates, legaldays

MAX_NAME = 200  # the columns' lengths
EARLIEST, LATEST = date(1950, 1, 1), date(2200, 12, 31)  # a day outside is a typing slip (or a year in พ.ศ.)

SEAT_ADDED, SEAT_ENDED, SEAT_CORRECTED = "committee_seat_added", "committee_seat_ended", "committee_seat_corrected"
administration.ACTIONS.update({SEAT_ADDED: "แต่งตั้งกรรมการ/ผู้ดำรงตำแหน่ง", SEAT_ENDED: "สิ้นสุดวาระกรรมการ/ผู้ดำรงตำแหน่ง",
                               SEAT_CORRECTED: "แก้ไขข้อมูลกรรมการที่บันทึกผิด"})
NOT_ADMIN = "เฉพาะผู้ดูแลระบบขององค์กรนี้หรือผู้ดูแลระบบระดับประเทศเท่านั้นที่จัดการคณะกรรมการขององค์กรได้"
#: What a correction may change, and what a new term is made of.
FIELDS = ("committee", "name", "seat", "position", "starts_on", "ends_on", "username")


# --- Who may, and what there is ----------------------------------------------------------------
def _organization(session: Session, actor: Actor, code: Any, lock: bool = False) -> Organization:
    """The organization whose committees the actor keeps, locked for a change (two admins adding a
    chair at once: the second sees the first's). :raise NotFound: one they do not see; Forbidden:"""
    query = select(Organization).where(Organization.code == code)
    org = session.scalars(query.with_for_update() if lock else query).first() \
        if isinstance(code, str) and len(code) <= 32 else None
    if org is None or not actor.can_see(org.id):
        raise NotFound(administration.NO_ORGANIZATION)
    if ADMIN not in actor.roles_in(org.id):
        raise Forbidden(NOT_ADMIN)
    return org


def known(session: Session) -> dict[str, str]:
    """Committee (a lane's role) -> its Thai name, as the published processes' lanes name them."""
    titles: dict[str, str] = {}
    for lane_roles in session.scalars(select(ProcessVersion.lane_roles).order_by(ProcessVersion.id)):
        titles.update({role: lane for lane, role in lane_roles.items() if role not in SYSTEM_ROLES})
    return titles


def listing(ctx: Context, actor: Actor, code: str) -> dict[str, Any]:
    """The organization's committees, each with every term kept (ended ones too) and who sits today.
    :raise NotFound: not an organization the actor sees; Forbidden: not its admin nor a national admin."""
    today = legaldays.day_of(ctx.clock.now())
    with ctx.db.read() as session:
        org = _organization(session, actor, code)
        titles = known(session)
        seats = committees.seats_of(session, org.id)
        users = _usernames(session, org.id)
        code, name = org.code, org.name
    kept = [{**s, "username": users.get(s["id"])} for s in seats]
    keys = [*titles, *sorted({s["committee"] for s in kept} - set(titles))]  # a lane since dropped keeps its terms
    return {"organization": code, "organization_name": name, "today": today.isoformat(),
            "seats": [{"key": key, "title": title} for key, title in committees.SEATS.items()],
            "committees": [{"key": key, "title": titles.get(key, key),
                            "terms": [s for s in kept if s["committee"] == key],
                            "sitting": committees.sitting(kept, key, today)} for key in keys]}


def organization_of(ctx: Context, seat_id: int) -> str:
    """The code of the organization a term is kept for: the console names a term by its id alone
    (who may act on it is still checked by the change). :raise NotFound: no such term."""
    with ctx.db.read() as session:
        code = session.scalar(select(Organization.code).join(CommitteeSeat, CommitteeSeat.organization_id
                                                             == Organization.id).where(CommitteeSeat.id == seat_id))
    if code is None:
        raise NotFound("ไม่พบวาระของกรรมการนี้")
    return code


def _usernames(session: Session, organization_id: int) -> dict[int, str]:
    rows = session.execute(select(CommitteeSeat.id, User.username).join(User, User.id == CommitteeSeat.user_id)
                           .where(CommitteeSeat.organization_id == organization_id)).all()
    return {seat_id: username for seat_id, username in rows}


# --- Changes ------------------------------------------------------------------------------
def add(ctx: Context, actor: Actor, code: str, body: Any) -> dict[str, Any]:
    """A new term: {committee, name, seat, position, starts_on, ends_on (optional), username (optional)}.
    :raise NotFound, Forbidden: as listing; Invalid: a field; Conflict: it overlaps a term it may not."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        org = _organization(session, actor, code, lock=True)  # who may, before what: a stranger learns nothing
        row = CommitteeSeat(organization_id=org.id, kept_by=actor.username, kept_at=now)
        _fill(session, org, row, _fields(body), new=True)
        session.add(row)
        session.flush()
        _changed(session, now, actor, org, SEAT_ADDED, row, **_logged(session, row))
        return _view(session, row)


def end(ctx: Context, actor: Actor, code: str, seat_id: int, body: Any) -> dict[str, Any]:
    """End a term on {ends_on} (its last day). :raise NotFound: no such term of the organization;
    Invalid: the day, or one before the term began; Conflict: the term has ended already."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        org = _organization(session, actor, code, lock=True)
        row = _seat(session, org, seat_id)
        last = _day(_fields(body).get("ends_on"), "/ends_on", "วันสิ้นสุดวาระ")
        _end(row, last)
        row.kept_by, row.kept_at = actor.username, now
        _changed(session, now, actor, org, SEAT_ENDED, row, name=row.name, committee=row.committee,
                 ends_on=last.isoformat())
        return _view(session, row)


def replace(ctx: Context, actor: Actor, code: str, seat_id: int, body: Any) -> dict[str, Any]:
    """Replace a member: their term ends the day before {starts_on}, on which the new member's term
    begins in the same committee and seat (position: the old one's unless given). One change, or none.
    :raise NotFound, Invalid, Conflict: as end and add."""
    now = ctx.clock.now()
    fields = _fields(body)
    with ctx.db.write() as session:
        org = _organization(session, actor, code, lock=True)
        old = _seat(session, org, seat_id)
        first = _day(fields.get("starts_on"), "/starts_on", "วันเริ่มวาระของผู้ที่มาแทน")
        _end(old, first - timedelta(days=1), replacing=True)
        old.kept_by, old.kept_at = actor.username, now
        session.flush()  # the new term is checked against the old one as ended
        row = CommitteeSeat(organization_id=org.id, kept_by=actor.username, kept_at=now)
        _fill(session, org, row, {"committee": old.committee, "seat": old.seat, "position": old.position,
                                  **{k: v for k, v in fields.items() if k not in ("committee", "seat")}}, new=True)
        session.add(row)
        session.flush()
        _changed(session, now, actor, org, SEAT_ENDED, old, name=old.name, committee=old.committee,
                 ends_on=old.ends_on.isoformat() if old.ends_on else None, replaced_by=row.name)
        _changed(session, now, actor, org, SEAT_ADDED, row, **_logged(session, row), replaces=old.name)
        return _view(session, row)


def correct(ctx: Context, actor: Actor, code: str, seat_id: int, body: Any) -> dict[str, Any]:
    """Correct a mistyped term (any of FIELDS; ``ends_on`` null: still serving), checked as a new one
    would be; the admin log keeps what it said before. :raise NotFound, Invalid, Conflict: as add."""
    now = ctx.clock.now()
    fields = _fields(body)
    with ctx.db.write() as session:
        org = _organization(session, actor, code, lock=True)
        row = _seat(session, org, seat_id)
        before = _logged(session, row)
        _fill(session, org, row, {**before, **fields})
        after = _logged(session, row)
        if after != before:
            row.kept_by, row.kept_at = actor.username, now
            _changed(session, now, actor, org, SEAT_CORRECTED, row,
                     before={k: v for k, v in before.items() if after[k] != v},
                     after={k: v for k, v in after.items() if before[k] != v})
        return _view(session, row)


def _fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("ข้อมูลต้องเป็นออบเจกต์ JSON", [{"field": "", "message": "ส่งข้อมูลเป็น {committee, name, ...}"}])
    unknown = sorted(str(k) for k in body if k not in FIELDS)
    if unknown:
        raise Invalid("มีช่องข้อมูลที่ไม่รู้จัก", [{"field": f"/{k}", "message": f"ไม่มีช่อง {k[:40]}"} for k in unknown[:10]])
    return dict(body)


def _seat(session: Session, org: Organization, seat_id: int) -> CommitteeSeat:
    row = session.get(CommitteeSeat, seat_id) if isinstance(seat_id, int) else None
    if row is None or row.organization_id != org.id:
        raise NotFound("ไม่พบวาระของกรรมการนี้ในองค์กรนี้")
    return row


def _end(row: CommitteeSeat, last: date, replacing: bool = False) -> None:
    if row.ends_on is not None:
        raise Conflict(f"วาระของ{row.name}สิ้นสุดแล้วเมื่อวันที่ {dates.long(row.ends_on)} "
                       "หากบันทึกผิด กรุณาใช้การแก้ไขข้อมูล")
    if last < row.starts_on:
        message = (f"ผู้ที่มาแทนต้องเริ่มวาระหลังวันเริ่มวาระของ{row.name} ({dates.long(row.starts_on)})" if replacing
                   else f"วันสิ้นสุดวาระต้องไม่ก่อนวันเริ่มวาระ ({dates.long(row.starts_on)})")
        raise Invalid(message, [{"field": "/starts_on" if replacing else "/ends_on", "message": message}])
    row.ends_on = last


def _fill(session: Session, org: Organization, row: CommitteeSeat, fields: dict[str, Any], new: bool = False) -> None:
    """Set the term from ``fields``, checked field by field, then against the organization's other
    terms. :raise Invalid: a field; Conflict: an overlap the rules forbid."""
    titles = known(session)
    committee = fields.get("committee")
    if not isinstance(committee, str) or committee not in titles and (new or committee != row.committee):
        raise Invalid("ไม่รู้จักคณะกรรมการนี้", [{"field": "/committee", "message": "ต้องเป็นคณะกรรมการหรือตำแหน่งตามกระบวนงาน"
                                                 f"ที่เผยแพร่แล้ว: {', '.join(titles.values()) or '-'}"}])
    seat = fields.get("seat")
    if not isinstance(seat, str) or seat not in committees.SEATS:
        raise Invalid("ตำแหน่งในคณะกรรมการไม่ถูกต้อง", [{"field": "/seat", "message": "ต้องเป็นหนึ่งใน "
                                                        + ", ".join(committees.SEATS.values())}])
    name = _text(fields.get("name"), "/name", "ชื่อ-นามสกุล", required=True)
    position = _text(fields.get("position"), "/position", "ตำแหน่งที่พิมพ์ในเอกสาร", required=seat == "holder")
    first = _day(fields.get("starts_on"), "/starts_on", "วันเริ่มวาระ")
    raw_last = fields.get("ends_on")
    last = None if raw_last in (None, "") else _day(raw_last, "/ends_on", "วันสิ้นสุดวาระ")
    if last is not None and last < first:
        raise Invalid("วันสิ้นสุดวาระต้องไม่ก่อนวันเริ่มวาระ",
                      [{"field": "/ends_on", "message": f"วันสิ้นสุดวาระ ({dates.long(last)}) อยู่ก่อนวันเริ่มวาระ "
                                                        f"({dates.long(first)})"}])
    user_id = _user(session, org, fields.get("username"))
    row.committee, row.seat, row.name, row.position = committee, str(seat), name, position
    row.starts_on, row.ends_on, row.user_id = first, last, user_id
    _check_overlaps(session, org, row)


def _text(value: Any, field: str, title: str, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or any(unicodedata.category(ch) == "Cc" for ch in value):
        raise Invalid(f"{title}ต้องเป็นข้อความบรรทัดเดียว", [{"field": field, "message": f"{title}ต้องเป็นข้อความบรรทัดเดียว"}])
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if required and not text:
        raise Invalid(f"กรุณาระบุ{title}", [{"field": field, "message": f"กรุณาระบุ{title}"}])
    if len(text) > MAX_NAME:
        raise Invalid(f"{title}ยาวเกิน {MAX_NAME} ตัวอักษร", [{"field": field, "message": f"ไม่เกิน {MAX_NAME} ตัวอักษร"}])
    return text


def _day(value: Any, field: str, title: str) -> date:
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not EARLIEST <= day <= LATEST:
        raise Invalid(f"{title}ไม่ถูกต้อง", [{"field": field, "message": f"{title}ต้องเป็นวันที่ในรูปแบบ ปปปป-ดด-วว (ค.ศ.) "
                                                                      f"ระหว่างปี {EARLIEST.year} ถึง {LATEST.year}"}])
    return day


def _user(session: Session, org: Organization, username: Any) -> int | None:
    if username in (None, ""):
        return None
    found = session.scalars(select(User.id).where(User.username == username, User.organization_id == org.id)).first() \
        if isinstance(username, str) and len(username) <= 64 else None
    if found is None:
        raise Invalid("ไม่พบผู้ใช้นี้ในองค์กร", [{"field": "/username", "message": "ต้องเป็นชื่อผู้ใช้ขององค์กรนี้ หรือเว้นว่าง"}])
    return found


def _check_overlaps(session: Session, org: Organization, row: CommitteeSeat) -> None:
    """:raise Conflict: the same person twice at once in the committee, or two chairs (two holders)."""
    others = session.scalars(select(CommitteeSeat).where(CommitteeSeat.organization_id == org.id,
                                                         CommitteeSeat.committee == row.committee,
                                                         CommitteeSeat.id != (row.id or 0)))
    person = row.name.casefold()
    for other in others:
        if not (other.starts_on <= (row.ends_on or LATEST) and row.starts_on <= (other.ends_on or LATEST)):
            continue
        when = _term(other)
        if other.name.casefold() == person or (row.user_id is not None and other.user_id == row.user_id):
            raise Conflict(f"{other.name}มีวาระในคณะกรรมการนี้อยู่แล้ว ({when}) ซึ่งซ้อนกับวาระที่บันทึก "
                           "หากเปลี่ยนตำแหน่ง กรุณาสิ้นสุดวาระเดิมก่อน")
        if row.seat == other.seat and row.seat in committees.SINGLE_SEATS:
            raise Conflict(f"ช่วงเวลานี้มี{committees.SEATS[row.seat]}อยู่แล้ว คือ {other.name} ({when}) "
                           "กรุณาสิ้นสุดวาระของผู้ดำรงตำแหน่งเดิมก่อน หรือใช้การแต่งตั้งแทน")


def _term(row: CommitteeSeat) -> str:
    return f"ตั้งแต่วันที่ {dates.long(row.starts_on)} " + \
        (f"ถึงวันที่ {dates.long(row.ends_on)}" if row.ends_on else "จนถึงปัจจุบัน")


def _logged(session: Session, row: CommitteeSeat) -> dict[str, Any]:
    """The term as the admin log keeps it (and as a correction starts from)."""
    return {"committee": row.committee, "name": row.name, "seat": row.seat, "position": row.position,
            "starts_on": row.starts_on.isoformat(), "ends_on": row.ends_on.isoformat() if row.ends_on else None,
            "username": _username(session, row.user_id)}


def _username(session: Session, user_id: int | None) -> str | None:
    return session.scalar(select(User.username).where(User.id == user_id)) if user_id is not None else None


def _changed(session: Session, now: datetime, actor: Actor, org: Organization, action: str, row: CommitteeSeat,
             **details: Any) -> None:
    """The admin log's entry, and the renders of the organization's running plans: their documents
    print the names (each render's digest covers the terms, so only those that print them change)."""
    linked = details.pop("username", None)  # the log's user acted on: the member's account, if linked
    admin.log_change(session, now, actor.username, action, org.id, linked, seat_id=row.id, **details)
    for plan_id in session.scalars(select(Plan.id).where(Plan.organization_id == org.id, Plan.status == "running")):
        renders.enqueue_renders(session, plan_id, now)


def _view(session: Session, row: CommitteeSeat) -> dict[str, Any]:
    return {**committees.view(row), "username": _username(session, row.user_id)}
