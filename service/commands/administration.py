"""Administration in the browser and the API: organizations (one at a time or onboarded from the
national list of LAOs), their people and roles, unlocks and one-time password-reset links, and the
append-only admin log every one of these changes writes to, in the change's own transaction.

Who may: a national admin everything, everywhere; an organization's admin (role "admin" held in
it) the users whose home is that organization and who hold no role outside it, and only the
process roles and the organization-level system roles of ORGANIZATION_SYSTEM_ROLES there. What
an actor may not see is answered as if it did not exist (NotFound), as the rest of the service does."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from service.auth import ADMIN, AUDITOR, SYSTEM_ROLES, Actor, hash_password, require_national_admin, token_digest
from service.bundles import catalog
from service.commands import admin
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound
from service.models import (
    AdminLogEntry,
    LoginFailure,
    Organization,
    OversightArea,
    PasswordResetLink,
    RoleMembership,
    User,
)

#: Organization types of the national list: key stored -> the abbreviation officials use.
TYPES = {"pao": "อบจ.", "city": "เทศบาลนคร", "town": "เทศบาลเมือง", "subdistrict": "เทศบาลตำบล", "sao": "อบต."}
#: What a file may say for a type: the abbreviation, the full name, or the key.
_TYPE_WORDS = {**{word: key for key, word in TYPES.items()}, **{key: key for key in TYPES},
               "อบจ": "pao", "องค์การบริหารส่วนจังหวัด": "pao", "อบต": "sao", "องค์การบริหารส่วนตำบล": "sao",
               "ทน.": "city", "ทม.": "town", "ทต.": "subdistrict"}
#: System roles an organization's own admin may give within it; the designer's publishes processes
#: for every organization, so only a national admin gives it.
ORGANIZATION_SYSTEM_ROLES = (ADMIN, AUDITOR)
MAX_NAME, MAX_PLACE = 200, 100  # the columns' lengths
MAX_CSV_BYTES = 4 * 1024 * 1024  # the national list (~7,850 rows in Thai) is about 1.2 MB
MAX_CSV_ROWS = 10_000
MAX_LISTED_ERRORS = 100
RESET_LINK_LIFETIME = timedelta(hours=24)
LOG_PAGE = 50

# Admin log actions.
ORGANIZATION_CREATED, ORGANIZATION_RENAMED = "organization_created", "organization_renamed"
ORGANIZATION_DEACTIVATED, ORGANIZATION_ACTIVATED = "organization_deactivated", "organization_activated"
ORGANIZATIONS_ONBOARDED = "organizations_onboarded"
USER_ADDED, ROLE_GRANTED, ROLE_REMOVED = "user_added", "role_granted", "role_removed"
USER_DEACTIVATED, USER_ACTIVATED, USER_UNLOCKED = "user_deactivated", "user_activated", "user_unlocked"
RESET_LINK_ISSUED, RESET_LINK_USED = "reset_link_issued", "reset_link_used"
ACTIONS = {
    ORGANIZATION_CREATED: "เพิ่มองค์กร", ORGANIZATION_RENAMED: "เปลี่ยนชื่อองค์กร",
    ORGANIZATION_DEACTIVATED: "ระงับองค์กร", ORGANIZATION_ACTIVATED: "เปิดใช้องค์กรอีกครั้ง",
    ORGANIZATIONS_ONBOARDED: "นำเข้าองค์กรจากไฟล์", USER_ADDED: "เพิ่มผู้ใช้", ROLE_GRANTED: "ให้บทบาท",
    ROLE_REMOVED: "ถอนบทบาท", USER_DEACTIVATED: "ระงับผู้ใช้", USER_ACTIVATED: "เปิดใช้ผู้ใช้อีกครั้ง",
    USER_UNLOCKED: "ปลดล็อกบัญชี", RESET_LINK_ISSUED: "ออกลิงก์ตั้งรหัสผ่าน", RESET_LINK_USED: "ตั้งรหัสผ่านด้วยลิงก์",
    "password_set": "ตั้งรหัสผ่านใหม่",
}
NO_ORGANIZATION = "ไม่พบองค์กรปกครองส่วนท้องถิ่นนี้"
NO_RESET_LINK = "ลิงก์ตั้งรหัสผ่านนี้ใช้ไม่ได้ (ใช้ไปแล้ว หมดอายุ หรือมีลิงก์ใหม่แทน) กรุณาขอลิงก์ใหม่จากผู้ดูแลระบบ"


# --- Who may -------------------------------------------------------------------------------
def is_national_admin(actor: Actor) -> bool:
    return ADMIN in actor.national_roles


def administered(actor: Actor) -> set[int] | None:
    """The organizations the actor administers; None: every one (a national admin)."""
    if is_national_admin(actor):
        return None
    return {org for org, role in actor.memberships if role == ADMIN and org is not None}


def _require_admin_of(actor: Actor, org: Organization) -> None:
    """:raise NotFound: an organization the actor does not see; Forbidden: one they see, not as its admin."""
    if not actor.can_see(org.id):
        raise NotFound(NO_ORGANIZATION)
    if ADMIN not in actor.roles_in(org.id):
        raise Forbidden("เฉพาะผู้ดูแลระบบขององค์กรนี้หรือผู้ดูแลระบบระดับประเทศเท่านั้นที่จัดการผู้ใช้ขององค์กรได้")


def _organization(session: Session, actor: Actor, code: str) -> Organization:
    """The organization the actor administers. :raise NotFound: none of this code they see; Forbidden:"""
    org = session.scalars(select(Organization).where(Organization.code == code)).first() \
        if isinstance(code, str) else None
    if org is None:
        raise NotFound(NO_ORGANIZATION)
    _require_admin_of(actor, org)
    return org


def _managed_user(session: Session, actor: Actor, username: str) -> User:
    """A user the actor administers, locked for the change. :raise NotFound: no such user, or one of an
    organization the actor does not see; Forbidden: one they see but may not change."""
    user = session.scalars(select(User).where(User.username == username).with_for_update()).first() \
        if isinstance(username, str) else None
    if user is None or (not is_national_admin(actor)
                        and (user.organization_id is None or not actor.can_see(user.organization_id))):
        raise NotFound(f"ไม่พบผู้ใช้ {username}")
    if is_national_admin(actor):
        return user
    if ADMIN not in actor.roles_in(user.organization_id):  # type: ignore[arg-type]  # checked above
        raise Forbidden("เฉพาะผู้ดูแลระบบขององค์กรนี้หรือผู้ดูแลระบบระดับประเทศเท่านั้นที่จัดการผู้ใช้ขององค์กรได้")
    if any(m.organization_id != user.organization_id for m in user.memberships):
        raise Forbidden(f"{username} มีบทบาทนอกองค์กรนี้หรือระดับประเทศ ต้องให้ผู้ดูแลระบบระดับประเทศดำเนินการ")
    return user


def _not_oneself(actor: Actor, user: User, what: str) -> None:
    if user.id == actor.user_id:
        raise Forbidden(f"ท่าน{what}ของตนเองไม่ได้ กรุณาให้ผู้ดูแลระบบอีกท่านดำเนินการ")


def assignable_roles(ctx: Context, actor: Actor, code: str | None) -> list[str]:
    """The roles the actor may give in the organization (``code`` None: national roles, which only a
    national admin gives). :raise NotFound, Forbidden: as for the organization."""
    with ctx.db.read() as session:
        if code is None:
            require_national_admin(actor, "ให้บทบาทระดับประเทศ")
            return list(SYSTEM_ROLES)
        _organization(session, actor, code)
        return _assignable(session, actor)


def _assignable(session: Session, actor: Actor) -> list[str]:
    process_roles = sorted(catalog.known_roles(session) - set(SYSTEM_ROLES))
    system = SYSTEM_ROLES if is_national_admin(actor) else ORGANIZATION_SYSTEM_ROLES
    return [*process_roles, *system]


# --- The admin log -------------------------------------------------------------------------
def _record(session: Session, now: datetime, actor: Actor, action: str, org_id: int | None,
            username: str | None = None, **details: Any) -> None:
    admin.log_change(session, now, actor.username, action, org_id, username, **details)


def log_page(ctx: Context, actor: Actor, limit: int = LOG_PAGE, after: int | None = None,
             code: str | None = None) -> dict[str, Any]:
    """The admin log, newest first, a page at a time (``after``: the last id of the previous page):
    all of it for national admins and auditors, the entries of their organizations for an
    organization's admin or auditor; ``code`` narrows to one organization.
    :raise Forbidden: the actor is neither; NotFound: ``code`` names an organization they do not see."""
    national = bool({ADMIN, AUDITOR} & actor.national_roles)
    own = {org for org, role in actor.memberships if role in (ADMIN, AUDITOR) and org is not None}
    if not national and not own:
        raise Forbidden("เฉพาะผู้ดูแลระบบและผู้ตรวจสอบเท่านั้นที่ดูบันทึกการดูแลระบบได้")
    query = select(AdminLogEntry, Organization.code, Organization.name) \
        .outerjoin(Organization, Organization.id == AdminLogEntry.organization_id)
    with ctx.db.read() as session:
        if code is not None:
            org_id = session.scalar(select(Organization.id).where(Organization.code == code))
            if org_id is None or not (national or org_id in own):
                raise NotFound(NO_ORGANIZATION)
            query = query.where(AdminLogEntry.organization_id == org_id)
        elif not national:
            query = query.where(AdminLogEntry.organization_id.in_(sorted(own)))
        if after is not None:
            query = query.where(AdminLogEntry.id < after)
        rows = session.execute(query.order_by(AdminLogEntry.id.desc()).limit(limit + 1)).all()
        entries = [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                    "action_title": ACTIONS.get(e.action, e.action), "organization": org_code,
                    "organization_name": org_name, "username": e.username, "details": e.details}
                   for e, org_code, org_name in rows[:limit]]
    return {"entries": entries, "next": entries[-1]["id"] if len(rows) > limit else None}


def role_held(ctx: Context, organization_id: int, username: str, role: str, at: datetime) -> dict[str, Any]:
    """What the admin log says of ``username`` holding ``role`` in the organization at ``at`` (e.g.
    when they did a step in it): the grant they held it by (``granted``: at, by; None when the log
    keeps none, as for a role given before the log was kept), whether it had been taken away by
    then (``held`` False), and when it was taken away after (``removed``). The caller checked that
    the reader may see it."""
    query = select(AdminLogEntry).where(
        AdminLogEntry.username == username, AdminLogEntry.organization_id == organization_id,
        AdminLogEntry.action.in_((USER_ADDED, ROLE_GRANTED, ROLE_REMOVED))).order_by(AdminLogEntry.id)
    last: AdminLogEntry | None = None  # the last word of the log on this role by ``at``
    removed: AdminLogEntry | None = None
    with ctx.db.read() as session:
        for entry in session.scalars(query):
            details = entry.details or {}
            if role not in (details.get("roles") or [details.get("role")]):
                continue
            if entry.at <= at:
                last, removed = entry, None
            elif entry.action == ROLE_REMOVED and removed is None:
                removed = entry
        held = last is None or last.action != ROLE_REMOVED
        return {"granted": {"at": last.at, "by": last.actor} if last is not None and held else None, "held": held,
                "removed": {"at": removed.at, "by": removed.actor} if removed is not None and held else None}


# --- Organizations -------------------------------------------------------------------------
def _type_key(value: Any, field: str) -> str:
    key = _TYPE_WORDS.get(value.strip()) if isinstance(value, str) else None
    if key is None:
        raise Invalid("ประเภทองค์กรไม่ถูกต้อง", [{"field": field, "message": _type_message(value)}])
    return key


def _type_message(value: Any) -> str:
    return f"ประเภท “{value}” ไม่ถูกต้อง ต้องเป็นหนึ่งใน {', '.join(TYPES.values())}"


def _place(value: Any, field: str, title: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > MAX_PLACE:
        raise Invalid(f"{title}ยาวเกิน {MAX_PLACE} ตัวอักษร", [{"field": field, "message": f"ไม่เกิน {MAX_PLACE} ตัวอักษร"}])
    return text


def _name(value: Any, field: str = "/name") -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise Invalid("กรุณาระบุชื่อองค์กร", [{"field": field, "message": "กรุณาระบุชื่อองค์กร"}])
    if len(text) > MAX_NAME:
        raise Invalid(f"ชื่อองค์กรยาวเกิน {MAX_NAME} ตัวอักษร", [{"field": field, "message": f"ไม่เกิน {MAX_NAME} ตัวอักษร"}])
    return text


def create_organization(ctx: Context, actor: Actor, body: Any) -> dict[str, Any]:
    """A national admin adds one organization: {code, name, type, province, district}.
    :raise Forbidden: not a national admin; Invalid: a field; Conflict: the code is taken."""
    require_national_admin(actor, "เพิ่มองค์กร")
    fields = body if isinstance(body, dict) else {}
    kind = _type_key(fields.get("type"), "/type")
    name = _name(fields.get("name"))
    province = _place(fields.get("province"), "/province", "ชื่อจังหวัด")
    district = _place(fields.get("district"), "/district", "ชื่ออำเภอ")
    code = _text(fields, "code")
    now = ctx.clock.now()
    with ctx.db.write() as session:
        org = admin.new_organization(session, now, code, name, province)
        org.type, org.district = kind, district
        _record(session, now, actor, ORGANIZATION_CREATED, org.id, name=name, type=kind)
        return organization_view(org)


def _text(fields: dict[str, Any], key: str) -> str:
    value = fields.get(key)
    return value.strip() if isinstance(value, str) else ""


def organization_view(org: Organization) -> dict[str, Any]:
    return {"code": org.code, "name": org.name, "type": org.type, "type_title": TYPES.get(org.type, ""),
            "province": org.province, "district": org.district, "active": org.active}


def rename_organization(ctx: Context, actor: Actor, code: str, body: Any) -> dict[str, Any]:
    """:raise Forbidden: not a national admin; NotFound: no such organization; Invalid: the name."""
    require_national_admin(actor, "เปลี่ยนชื่อองค์กร")
    name = _name(body.get("name") if isinstance(body, dict) else None)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        org = _organization(session, actor, code)
        before, org.name = org.name, name
        if before != name:
            _record(session, now, actor, ORGANIZATION_RENAMED, org.id, name=name, before=before)
        return organization_view(org)


def set_organization_active(ctx: Context, actor: Actor, code: str, active: bool) -> dict[str, Any]:
    """Deactivate an organization (every user whose home it is is deactivated with it: their sessions
    and tokens end at once) or activate it again (its users stay deactivated until activated one by one).
    :raise Forbidden: not a national admin; NotFound: no such organization."""
    require_national_admin(actor, "ระงับหรือเปิดใช้องค์กร")
    now = ctx.clock.now()
    with ctx.db.write() as session:
        org = _organization(session, actor, code)
        if org.active == active:
            return organization_view(org)
        org.active = active
        ended = []
        if not active:
            for user in session.scalars(select(User).where(User.organization_id == org.id, User.is_active.is_(True))
                                        .order_by(User.username).with_for_update()):
                user.is_active = False
                admin.end_credentials(session, user.id, now, actor.username)
                ended.append(user.username)
        _record(session, now, actor, ORGANIZATION_ACTIVATED if active else ORGANIZATION_DEACTIVATED, org.id,
                users_deactivated=ended)
        return organization_view(org)


def organizations_page(ctx: Context, actor: Actor, limit: int = LOG_PAGE, after: str | None = None,
                       search: str = "") -> dict[str, Any]:
    """The organizations the actor administers, by code, a page at a time (``after``: the last code
    of the previous page); ``search`` matches a part of the code, name, province or district."""
    own = administered(actor)
    if own is not None and not own:
        raise Forbidden("เฉพาะผู้ดูแลระบบเท่านั้นที่จัดการองค์กรได้")
    query = select(Organization)
    if own is not None:
        query = query.where(Organization.id.in_(sorted(own)))
    if search.strip():
        pattern = f"%{search.strip()[:MAX_NAME]}%"
        query = query.where(Organization.code.like(pattern) | Organization.name.like(pattern)
                            | Organization.province.like(pattern) | Organization.district.like(pattern))
    if after:
        query = query.where(Organization.code > after)
    with ctx.db.read() as session:
        rows = list(session.scalars(query.order_by(Organization.code).limit(limit + 1)))
        found = [organization_view(o) for o in rows[:limit]]
    return {"organizations": found, "next": found[-1]["code"] if len(rows) > limit else None}


def organization(ctx: Context, actor: Actor, code: str) -> dict[str, Any]:
    """An organization's page: what it is and its users (those whose home it is), each with their
    roles there, whether they are active and locked out.
    :raise NotFound: not an organization the actor sees; Forbidden: not its admin."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        org = _organization(session, actor, code)
        users = list(session.scalars(select(User).where(User.organization_id == org.id).order_by(User.username)))
        locked = _locked(session, [u.username for u in users], now)
        view = organization_view(org)
        view["id"] = org.id
        view["users"] = [{"username": u.username, "display_name": u.display_name or u.username,
                          "active": u.is_active, "locked": u.username in locked,
                          "roles": sorted(m.role for m in u.memberships if m.organization_id == org.id)}
                         for u in users]
        return view


def _locked(session: Session, usernames: list[str], now: datetime) -> set[str]:
    keys = {admin.login_name_key(name): name for name in usernames}
    if not keys:
        return set()
    rows = session.scalars(select(LoginFailure.name_hash).where(LoginFailure.name_hash.in_(list(keys)),
                                                                LoginFailure.locked_until > now))
    return {keys[key] for key in rows}


# --- Onboarding from the national list -----------------------------------------------------
#: The columns a file must have, by what its header may call them.
COLUMNS = {"code": ("code", "รหัส", "รหัสองค์กร", "รหัส อปท."), "name": ("name", "ชื่อ", "ชื่อองค์กร", "ชื่อ อปท."),
           "type": ("type", "ประเภท"), "province": ("province", "จังหวัด"), "district": ("district", "อำเภอ")}


@dataclass(frozen=True)
class Onboarding:
    """A checked file: the rows it would add, in file order, and a digest naming the file."""

    rows: list[dict[str, str]]
    digest: str


def check_onboarding(ctx: Context, actor: Actor, data: bytes) -> Onboarding:
    """Read and check a CSV of the national list whole (writes nothing: the preview).
    :raise Forbidden: not a national admin; Invalid: every fault, by line number."""
    require_national_admin(actor, "นำเข้าองค์กร")
    rows = _parsed(data)
    with ctx.db.read() as session:
        _check_new_codes(session, rows)
    return Onboarding([row for _, row in rows], hashlib.sha256(data).hexdigest())


def onboard(ctx: Context, actor: Actor, data: bytes) -> dict[str, Any]:
    """Add every organization of the file, or none: checked again (the preview may be stale), then
    inserted in bulk in one transaction. :raise Forbidden, Invalid: as check_onboarding."""
    require_national_admin(actor, "นำเข้าองค์กร")
    rows = _parsed(data)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        _check_new_codes(session, rows)
        session.execute(insert(Organization), [{**row, "created_at": now, "active": True} for _, row in rows])
        digest = hashlib.sha256(data).hexdigest()
        _record(session, now, actor, ORGANIZATIONS_ONBOARDED, None, count=len(rows), sha256=digest,
                first=rows[0][1]["code"], last=rows[-1][1]["code"])
    return {"count": len(rows), "sha256": digest}


def _fault(line: int, column: str, message: str) -> dict[str, str]:
    return {"field": f"/lines/{line}/{column}", "message": f"บรรทัดที่ {line:,}: {message}"}


def _refuse(faults: list[dict[str, str]]) -> Invalid:
    shown = faults[:MAX_LISTED_ERRORS]
    if len(faults) > MAX_LISTED_ERRORS:
        shown.append({"field": "/lines", "message": f"และข้อผิดพลาดอื่นอีก {len(faults) - MAX_LISTED_ERRORS:,} รายการ"})
    return Invalid(f"ไฟล์มีข้อผิดพลาด {len(faults):,} รายการ ยังไม่ได้นำเข้าองค์กรใด กรุณาแก้ไขแล้วส่งไฟล์ใหม่ทั้งไฟล์",
                   shown)


def _parsed(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of every organization of the file, all checked. :raise Invalid:"""
    if len(data) > MAX_CSV_BYTES:
        raise Invalid(f"ไฟล์ใหญ่เกิน {MAX_CSV_BYTES // (1024 * 1024)} MB",
                      [{"field": "/file", "message": f"ไฟล์ต้องไม่เกิน {MAX_CSV_BYTES // (1024 * 1024)} MB "
                                                     f"({MAX_CSV_ROWS:,} แถว) กรุณาแบ่งเป็นหลายไฟล์"}])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise _refuse([_fault(line, "file", "ไฟล์ไม่ใช่ข้อความ UTF-8 กรุณาบันทึกจากโปรแกรมตารางคำนวณเป็น "
                                            "“CSV UTF-8” แล้วส่งใหม่")]) from err
    if "\x00" in text:
        raise _refuse([_fault(text[:text.index("\x00")].count("\n") + 1, "file", "ไฟล์มีอักขระที่ไม่ใช่ข้อความ")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        if header is None:
            raise Invalid("ไฟล์ว่าง", [{"field": "/file", "message": "ไฟล์ไม่มีข้อมูล"}])
        positions, missing = _columns(header)
        if missing:
            raise _refuse([_fault(reader.line_num, "header", f"ไม่มีคอลัมน์ {', '.join(missing)} "
                                                             f"(หัวตารางต้องมี {', '.join(COLUMNS)})")])
        rows: list[tuple[int, dict[str, str]]] = []
        faults: list[dict[str, str]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_CSV_ROWS:
                raise _refuse([_fault(reader.line_num, "file", f"ไฟล์มีองค์กรเกิน {MAX_CSV_ROWS:,} แถว")])
            row, found = _row(reader.line_num, {column: cells[i] if i < len(cells) else ""
                                                for column, i in positions.items()})
            faults += found
            rows.append((reader.line_num, row))
    except csv.Error as err:
        raise _refuse([_fault(reader.line_num, "file", f"อ่านแถวนี้ไม่ได้ ({err})")]) from err
    if not rows and not faults:
        raise Invalid("ไฟล์ไม่มีองค์กร", [{"field": "/file", "message": "มีแต่หัวตาราง ไม่มีแถวขององค์กร"}])
    faults += _duplicates(rows)
    if faults:
        raise _refuse(sorted(faults, key=lambda f: int(f["field"].split("/")[2])))
    return rows


def _columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    names = [cell.strip().lower() for cell in header]
    positions = {column: next(i for i, name in enumerate(names) if name in words)
                 for column, words in COLUMNS.items() if any(name in words for name in names)}
    return positions, [column for column in COLUMNS if column not in positions]


def _row(line: int, cells: dict[str, str]) -> tuple[dict[str, str], list[dict[str, str]]]:
    row = {column: value.strip() for column, value in cells.items()}
    faults = []
    if not admin.CODE_PATTERN.match(row["code"]):
        faults.append(_fault(line, "code", f"รหัส “{row['code'][:40]}” ไม่ถูกต้อง (ตัวอักษรอังกฤษ ตัวเลข และ _ . - "
                                           "ไม่เกิน 32 ตัว)"))
    if not row["name"]:
        faults.append(_fault(line, "name", "ไม่มีชื่อองค์กร"))
    elif len(row["name"]) > MAX_NAME:
        faults.append(_fault(line, "name", f"ชื่อองค์กรยาว {len(row['name']):,} ตัวอักษร เกิน {MAX_NAME}"))
    key = _TYPE_WORDS.get(row["type"])
    if key is None:
        faults.append(_fault(line, "type", _type_message(row["type"][:40])))
    row["type"] = key or ""
    for column, title in (("province", "จังหวัด"), ("district", "อำเภอ")):
        if len(row[column]) > MAX_PLACE:
            faults.append(_fault(line, column, f"ชื่อ{title}ยาวเกิน {MAX_PLACE} ตัวอักษร"))
    if not row["province"]:
        faults.append(_fault(line, "province", "ไม่มีชื่อจังหวัด"))
    if not row["district"] and key not in (None, "pao"):  # a provincial organization has no district
        faults.append(_fault(line, "district", "ไม่มีชื่ออำเภอ"))
    return row, faults


def _duplicates(rows: list[tuple[int, dict[str, str]]]) -> list[dict[str, str]]:
    first: dict[str, int] = {}
    faults = []
    for line, row in rows:
        if row["code"] in first:
            faults.append(_fault(line, "code", f"รหัส {row['code']} ซ้ำกับบรรทัดที่ {first[row['code']]:,}"))
        first.setdefault(row["code"], line)
    return faults


def _check_new_codes(session: Session, rows: list[tuple[int, dict[str, str]]]) -> None:
    codes = [row["code"] for _, row in rows]
    taken: set[str] = set()
    for start in range(0, len(codes), 900):  # under SQLite's bound-parameter limit
        taken.update(session.scalars(select(Organization.code).where(Organization.code.in_(codes[start:start + 900]))))
    if taken:
        raise _refuse([_fault(line, "code", f"มีองค์กรรหัส {row['code']} ในระบบอยู่แล้ว")
                       for line, row in rows if row["code"] in taken])


# --- People and roles ----------------------------------------------------------------------
def add_user(ctx: Context, actor: Actor, code: str, body: Any) -> dict[str, Any]:
    """Add a user to the organization with roles there (no password: they set it by a reset link).
    :raise NotFound, Forbidden: as for the organization, or a role the actor may not give; Invalid;
    Conflict: the username is taken."""
    fields = body if isinstance(body, dict) else {}
    username, display = _text(fields, "username"), _text(fields, "display_name")
    roles = fields.get("roles")
    now = ctx.clock.now()
    with ctx.db.write() as session:
        org = _organization(session, actor, code)  # who may, before what: a stranger learns nothing from faults
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Invalid("roles ต้องเป็นรายการชื่อบทบาท", [{"field": "/roles", "message": "กรุณาเลือกบทบาท"}])
        if len(display) > MAX_NAME:
            raise Invalid(f"ชื่อที่แสดงยาวเกิน {MAX_NAME} ตัวอักษร", [{"field": "/display_name", "message": "ยาวเกินไป"}])
        if not org.active:
            raise Conflict("องค์กรนี้ถูกระงับอยู่ เพิ่มผู้ใช้ไม่ได้")
        _check_giveable(session, actor, roles)
        admin.new_user(session, now, username, org, roles, None, display, None)
        _record(session, now, actor, USER_ADDED, org.id, username, roles=sorted(set(roles)))
    return user(ctx, actor, username)


def add_unaffiliated_user(ctx: Context, actor: Actor, body: Any) -> dict[str, Any]:
    """A national admin adds a user who belongs to no organization: a national admin, auditor or
    designer (``roles``), or the overseer of a province or district (``province``, ``district``:
    สถ.จังหวัด / สถ.อำเภอ), or both, in one transaction (no password: a reset link sets it).
    :raise Forbidden: not a national admin; Invalid: neither a role nor an area, a role that is not
    national, an area no organization is in; Conflict: the username is taken."""
    require_national_admin(actor, "เพิ่มผู้ใช้ที่ไม่สังกัดองค์กร")
    fields = body if isinstance(body, dict) else {}
    username, display = _text(fields, "username"), _text(fields, "display_name")
    roles = fields.get("roles", [])
    province = _place(fields.get("province", ""), "/province", "ชื่อจังหวัด")
    district = _place(fields.get("district", ""), "/district", "ชื่ออำเภอ")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Invalid("roles ต้องเป็นรายการชื่อบทบาท", [{"field": "/roles", "message": "รายการบทบาทไม่ถูกต้อง"}])
    if len(display) > MAX_NAME:
        raise Invalid(f"ชื่อที่แสดงยาวเกิน {MAX_NAME} ตัวอักษร", [{"field": "/display_name", "message": "ยาวเกินไป"}])
    if district and not province:
        raise Invalid("กรุณาระบุจังหวัดของอำเภอ", [{"field": "/province", "message": "กรุณาระบุจังหวัด"}])
    if not roles and not province:
        raise Invalid("ผู้ใช้ที่ไม่สังกัดองค์กรต้องมีบทบาทระดับประเทศ หรือพื้นที่กำกับดูแล (จังหวัด) อย่างน้อยหนึ่งอย่าง",
                      [{"field": "/province", "message": "กรุณาเลือกบทบาทหรือระบุจังหวัดที่กำกับดูแล"}])
    now = ctx.clock.now()
    with ctx.db.write() as session:
        admin.new_user(session, now, username, None, roles, None, display, None, roles_required=False)
        _record(session, now, actor, USER_ADDED, None, username, roles=sorted(set(roles)))
        if province:
            person = session.scalars(select(User).where(User.username == username)).one()
            _oversee(session, now, actor, person, province, district)
    return user(ctx, actor, username)


def _check_giveable(session: Session, actor: Actor, roles: list[str], national: bool = False) -> None:
    """:raise Invalid: a role no process nor the system knows; Forbidden: one the actor may not give."""
    admin.check_roles(session, roles, national)
    refused = sorted(set(roles) - set(_assignable(session, actor)))
    if refused:
        raise Forbidden(f"ผู้ดูแลระบบขององค์กรให้บทบาท {', '.join(refused)} ไม่ได้ "
                        "ต้องให้ผู้ดูแลระบบระดับประเทศดำเนินการ")


def set_roles(ctx: Context, actor: Actor, username: str, code: str | None, body: Any) -> dict[str, Any]:
    """Make the user's roles in the organization (``code`` None: their national roles) exactly
    ``body["roles"]``: each role given or taken away is one entry of the log.
    :raise NotFound, Forbidden: as for the user and the organization; Invalid: an unknown role."""
    roles = body.get("roles") if isinstance(body, dict) else None
    now = ctx.clock.now()
    with ctx.db.write() as session:
        person = _managed_user(session, actor, username)
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Invalid("roles ต้องเป็นรายการชื่อบทบาท", [{"field": "/roles", "message": "รายการบทบาทไม่ถูกต้อง"}])
        wanted = set(roles)
        if code is None:
            require_national_admin(actor, "ให้บทบาทระดับประเทศ")
            org_id = None
        else:
            org = _organization(session, actor, code)
            if not is_national_admin(actor) and org.id != person.organization_id:
                raise NotFound(f"ไม่พบผู้ใช้ {username}")
            org_id = org.id
        held = {m.role: m for m in person.memberships if m.organization_id == org_id}
        _check_giveable(session, actor, sorted(wanted ^ set(held)), national=org_id is None)
        if ADMIN in held and ADMIN not in wanted:
            _not_oneself(actor, person, "ถอนบทบาทผู้ดูแลระบบ")
        for role in sorted(set(held) - wanted):
            person.memberships.remove(held[role])
            _record(session, now, actor, ROLE_REMOVED, org_id, username, role=role)
        for role in sorted(wanted - set(held)):
            person.memberships.append(RoleMembership(organization_id=org_id, role=role))
            _record(session, now, actor, ROLE_GRANTED, org_id, username, role=role)
    return user(ctx, actor, username)


def set_user_active(ctx: Context, actor: Actor, username: str, active: bool) -> dict[str, Any]:
    """Deactivate a user (their sessions and tokens end at once; history keeps their name) or
    activate them again (ended tokens stay ended). :raise NotFound, Forbidden: as for the user."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        person = _managed_user(session, actor, username)
        if not active:
            _not_oneself(actor, person, "ระงับบัญชี")
        if active and person.organization is not None and not person.organization.active:
            raise Conflict("องค์กรของผู้ใช้นี้ถูกระงับอยู่ กรุณาเปิดใช้องค์กรก่อน")
        if person.is_active != active:
            person.is_active = active
            if not active:
                admin.end_credentials(session, person.id, now, actor.username)
                _end_reset_links(session, person.id, now)
            _record(session, now, actor, USER_ACTIVATED if active else USER_DEACTIVATED, person.organization_id,
                    username)
    return user(ctx, actor, username)


def unlock(ctx: Context, actor: Actor, username: str) -> dict[str, Any]:
    """Lift the log-in lock-out of the user's name (and forget its wrong passwords).
    :raise NotFound, Forbidden: as for the user."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        person = _managed_user(session, actor, username)
        counted = session.get(LoginFailure, admin.login_name_key(person.username))
        if counted is not None:
            session.delete(counted)
            _record(session, now, actor, USER_UNLOCKED, person.organization_id, username,
                    was_locked=bool(counted.locked_until and counted.locked_until > now))
    return user(ctx, actor, username)


def user(ctx: Context, actor: Actor, username: str) -> dict[str, Any]:
    """A user as their administrator sees them: their roles (in the organizations the actor
    administers), active, locked, the reset link outstanding. :raise NotFound, Forbidden:"""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        person = session.scalars(select(User).where(User.username == username)).first() \
            if isinstance(username, str) else None
        if person is None or (not is_national_admin(actor)
                              and (person.organization_id is None or not actor.can_see(person.organization_id))):
            raise NotFound(f"ไม่พบผู้ใช้ {username}")
        if person.organization_id is not None and ADMIN not in actor.roles_in(person.organization_id) \
                or person.organization_id is None and not is_national_admin(actor):
            raise Forbidden("เฉพาะผู้ดูแลระบบขององค์กรนี้หรือผู้ดูแลระบบระดับประเทศเท่านั้นที่จัดการผู้ใช้ขององค์กรได้")
        codes = dict(session.execute(select(Organization.id, Organization.code)).all()) \
            if is_national_admin(actor) else {person.organization_id: person.organization.code}  # type: ignore[union-attr]
        roles = [{"organization": codes.get(m.organization_id) if m.organization_id else None, "role": m.role}
                 for m in person.memberships if m.organization_id is None or m.organization_id in codes]
        link = session.scalars(select(PasswordResetLink).where(PasswordResetLink.user_id == person.id,
                                                               PasswordResetLink.ended_at.is_(None),
                                                               PasswordResetLink.expires_at > now)).first()
        area = session.get(OversightArea, person.id)
        return {"username": person.username, "display_name": person.display_name or person.username,
                "oversight": {"province": area.province, "district": area.district} if area else None,
                "organization": person.organization.code if person.organization else None,
                "organization_name": person.organization.name if person.organization else "",
                "active": person.is_active, "has_password": bool(person.password_hash),
                "locked": bool(_locked(session, [person.username], now)),
                "roles": sorted(roles, key=lambda r: (r["organization"] or "", r["role"])),
                "outside_roles": any(m.organization_id != person.organization_id for m in person.memberships),
                "reset_link_expires_at": link.expires_at.isoformat() if link else None}


# --- One-time password-reset links ---------------------------------------------------------
def issue_reset_link(ctx: Context, actor: Actor, username: str) -> dict[str, Any]:
    """A new one-time link for the user to set their password, valid RESET_LINK_LIFETIME; any earlier
    link of theirs ends. Only its digest is kept: the token is shown once.
    :raise NotFound, Forbidden: as for the user; Conflict: the user is deactivated."""
    now = ctx.clock.now()
    token = secrets.token_urlsafe(32)
    with ctx.db.write() as session:
        person = _managed_user(session, actor, username)
        if not person.is_active:
            raise Conflict(f"{username} ถูกระงับอยู่ กรุณาเปิดใช้บัญชีก่อนออกลิงก์ตั้งรหัสผ่าน")
        _end_reset_links(session, person.id, now)
        expires = now + RESET_LINK_LIFETIME
        session.add(PasswordResetLink(user_id=person.id, token_hash=token_digest(token), issued_by=actor.username,
                                      created_at=now, expires_at=expires))
        _record(session, now, actor, RESET_LINK_ISSUED, person.organization_id, username,
                expires_at=expires.isoformat())
        return {"token": token, "username": person.username, "display_name": person.display_name or person.username,
                "expires_at": expires.isoformat()}


def _end_reset_links(session: Session, user_id: int, now: datetime) -> None:
    for link in session.scalars(select(PasswordResetLink).where(PasswordResetLink.user_id == user_id,
                                                                PasswordResetLink.ended_at.is_(None))):
        link.ended_at = now


def _open_link(session: Session, token: Any, now: datetime, lock: bool = False) -> tuple[PasswordResetLink, User]:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound(NO_RESET_LINK)
    query = select(PasswordResetLink, User).join(User, User.id == PasswordResetLink.user_id) \
        .where(PasswordResetLink.token_hash == token_digest(token))
    found = session.execute(query.with_for_update() if lock else query).first()
    if found is None or found[0].ended_at is not None or found[0].expires_at <= now or not found[1].is_active:
        raise NotFound(NO_RESET_LINK)
    return found[0], found[1]


def reset_link(ctx: Context, token: str) -> dict[str, Any]:
    """Whom a reset link is for, while it can be used. :raise NotFound: used, replaced, expired or unknown."""
    with ctx.db.read() as session:
        link, person = _open_link(session, token, ctx.clock.now())
        return {"username": person.username, "display_name": person.display_name or person.username,
                "expires_at": link.expires_at.isoformat()}


def use_reset_link(ctx: Context, token: str, password: str) -> str:
    """Set the password by the link, which ends: as a new password does, the lock-out is lifted and
    every session and token ends. The username. :raise NotFound: as reset_link; Invalid: the password."""
    if len(password or "") < admin.MIN_PASSWORD_LENGTH:  # set_password's rule
        raise Invalid(f"รหัสผ่านต้องยาวอย่างน้อย {admin.MIN_PASSWORD_LENGTH} ตัวอักษร",
                      [{"field": "/password", "message": f"อย่างน้อย {admin.MIN_PASSWORD_LENGTH} ตัวอักษร"}])
    now = ctx.clock.now()
    with ctx.db.write() as session:
        link, person = _open_link(session, token, now, lock=True)
        person.password_hash = hash_password(password)
        link.ended_at = now
        counted = session.get(LoginFailure, admin.login_name_key(person.username))
        if counted is not None:
            session.delete(counted)
        admin.end_credentials(session, person.id, now, person.username)
        _record(session, now, _as(person), RESET_LINK_USED,
                person.organization_id, person.username, issued_by=link.issued_by)
        return person.username


def _as(person: User) -> Actor:
    return Actor(person.id, person.username, person.organization_id, frozenset())


# --- Oversight areas -----------------------------------------------------------------------
OVERSIGHT_GRANTED, OVERSIGHT_REMOVED = "oversight_granted", "oversight_removed"
ACTIONS.update({OVERSIGHT_GRANTED: "ให้บทบาทผู้กำกับดูแล", OVERSIGHT_REMOVED: "ถอนบทบาทผู้กำกับดูแล"})


def set_oversight(ctx: Context, actor: Actor, username: str, province: Any, district: Any = "") -> dict[str, Any]:
    """A national admin makes the user the overseer of a province, or of one district of it
    (``district`` empty), in place of any area they had: they then see its organizations' plans,
    read-only, and its dashboard (service/oversight.py). ``province`` None or empty: they oversee
    nothing any more. :raise Forbidden: not a national admin; NotFound: no such user; Invalid: a
    province (or district of it) no organization is in."""
    require_national_admin(actor, "ให้บทบาทผู้กำกับดูแล")
    province = _place(province, "/province", "ชื่อจังหวัด")
    district = _place(district, "/district", "ชื่ออำเภอ")
    now = ctx.clock.now()
    with ctx.db.write() as session:
        person = _managed_user(session, actor, username)
        if not province:
            if district:
                raise Invalid("กรุณาระบุจังหวัดของอำเภอ", [{"field": "/province", "message": "กรุณาระบุจังหวัด"}])
            held = session.get(OversightArea, person.id)
            if held is not None:
                session.delete(held)
                _record(session, now, actor, OVERSIGHT_REMOVED, None, username, province=held.province,
                        district=held.district)
            return {"username": username, "oversight": None}
        _oversee(session, now, actor, person, province, district)
        return {"username": username, "oversight": {"province": province, "district": district}}


def _oversee(session: Session, now: datetime, actor: Actor, person: User, province: str, district: str) -> None:
    """Make ``person`` the overseer of the province (or its district), in place of any area they had.
    :raise Invalid: a province (or district of it) no organization is in."""
    found = select(Organization.id).where(Organization.province == province)
    if district:
        found = found.where(Organization.district == district)
    if session.scalar(found.limit(1)) is None:
        where = f"อำเภอ{district} จังหวัด{province}" if district else f"จังหวัด{province}"
        raise Invalid(f"ไม่พบองค์กรใดใน{where}", [{"field": "/district" if district else "/province",
                                                 "message": f"ไม่พบองค์กรใดใน{where} กรุณาตรวจการสะกด"}])
    held = session.get(OversightArea, person.id)
    if held is None:
        session.add(OversightArea(user_id=person.id, province=province, district=district,
                                  granted_by=actor.username, granted_at=now))
    elif (held.province, held.district) != (province, district):
        held.province, held.district, held.granted_by, held.granted_at = province, district, actor.username, now
    else:
        return
    _record(session, now, actor, OVERSIGHT_GRANTED, None, person.username, province=province, district=district)
