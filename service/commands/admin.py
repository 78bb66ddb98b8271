"""Operator commands: organizations, users and their roles, tokens, processes, the clock."""

from __future__ import annotations

import functools
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from service.auth import SYSTEM_ROLES, Actor, hash_password, new_token, password_matches, require_national_admin
from service.bundles import catalog
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from service.models import ApiToken, ClockOverride, Organization, RoleMembership, User
from service.thai.dates import short_datetime

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def register_processes(ctx: Context, by: str = "system") -> list[tuple[str, int, bool]]:
    """Publish every process folder under processes/ whose content changed; (name, version, new)."""
    now = ctx.clock.now()
    results = []
    with ctx.db.write() as session:
        for folder in sorted(p for p in ctx.settings.processes_dir.iterdir() if p.is_dir()):
            bundle = catalog.read_bundle(folder, ctx.settings.forms_dir)
            version, created = catalog.publish(session, bundle, by, now)
            results.append((version.name, version.version, created))
    return results


def add_organization(ctx: Context, code: str, name: str, province: str = "") -> Organization:
    with ctx.db.write() as session:
        return _add_organization(session, ctx.clock.now(), code, name, province)


def _add_organization(session: Session, now: datetime, code: str, name: str, province: str) -> Organization:
    if not CODE_PATTERN.match(code or ""):
        raise Invalid("รหัสองค์กรใช้ได้เฉพาะตัวอักษรอังกฤษ ตัวเลข และ _ . - ไม่เกิน 32 ตัว",
                      [{"field": "/code", "message": "รหัสองค์กรไม่ถูกต้อง"}])
    if not name.strip():
        raise Invalid("กรุณาระบุชื่อองค์กร", [{"field": "/name", "message": "กรุณาระบุชื่อองค์กร"}])
    if session.scalars(select(Organization).where(Organization.code == code)).first():
        raise Conflict(f"มีองค์กรรหัส {code} อยู่แล้ว")
    org = Organization(code=code, name=name.strip(), province=province.strip(), created_at=now)
    session.add(org)
    session.flush()
    return org


#: Roles a user may hold nationally (in every organization) rather than in one.


def add_user(ctx: Context, username: str, org_code: str | None, roles: list[str], password: str | None = None,
             display_name: str = "", with_token: bool = False) -> str | None:
    """Create a user holding ``roles`` in the organization (or nationally, without one); the
    new API token if asked for."""
    with ctx.db.write() as session:
        org = _organization(session, org_code) if org_code is not None else None
        return _add_user(session, ctx.clock.now(), username, org, roles, password, display_name, with_token)


def _add_user(session: Session, now: datetime, username: str, org: Organization | None, roles: list[str],
              password: str | None, display_name: str, with_token: bool) -> str | None:
    if not USERNAME_PATTERN.match(username or ""):
        raise Invalid("ชื่อผู้ใช้ใช้ได้เฉพาะตัวอักษรอังกฤษ ตัวเลข และ _ . @ - ไม่เกิน 64 ตัว",
                      [{"field": "/username", "message": "ชื่อผู้ใช้ไม่ถูกต้อง"}])
    if not roles:
        raise Invalid("กรุณาระบุบทบาทอย่างน้อยหนึ่งบทบาท (--role)", [{"field": "/roles", "message": "ไม่มีบทบาท"}])
    _check_roles(session, roles, national=org is None)
    if session.scalars(select(User).where(User.username == username)).first():
        raise Conflict(f"มีผู้ใช้ชื่อ {username} อยู่แล้ว")
    user = User(username=username, display_name=display_name or username,
                organization_id=org.id if org else None,
                password_hash=hash_password(password) if password else None, created_at=now)
    user.memberships = [RoleMembership(organization_id=org.id if org else None, role=role)
                        for role in dict.fromkeys(roles)]
    session.add(user)
    session.flush()
    return _issue_token(session, user, now) if with_token else None


def grant_role(ctx: Context, username: str, org_code: str | None, role: str) -> None:
    """Give a user a role in another organization (e.g. an auditor assigned several)."""
    with ctx.db.write() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound(f"ไม่พบผู้ใช้ {username}")
        org = _organization(session, org_code) if org_code is not None else None
        _check_roles(session, [role], national=org is None)
        org_id = org.id if org else None
        if any(m.organization_id == org_id and m.role == role for m in user.memberships):
            raise Conflict(f"{username} มีบทบาท {role} ในองค์กรนี้อยู่แล้ว")
        user.memberships.append(RoleMembership(organization_id=org_id, role=role))


def _check_roles(session: Session, roles: list[str], national: bool) -> None:
    known = catalog.known_roles(session)
    unknown = sorted(set(roles) - known)
    if unknown:
        raise Invalid(f"ไม่รู้จักบทบาท {', '.join(unknown)}; บทบาทที่มี: {', '.join(sorted(known))}")
    if national and set(roles) - set(SYSTEM_ROLES):
        raise Invalid(f"บทบาทระดับประเทศมีได้เฉพาะ {', '.join(SYSTEM_ROLES)}; บทบาทอื่นต้องระบุองค์กร (--org)")


def create_organization(ctx: Context, actor: Actor, body: Any) -> dict[str, Any]:
    """A national admin creates an organization and its first users; their tokens, once."""
    require_national_admin(actor, "เพิ่มองค์กร")
    if not isinstance(body, dict) or not isinstance(body.get("code"), str) or not isinstance(body.get("name"), str):
        raise Invalid("กรุณาระบุรหัสและชื่อองค์กร", [{"field": "/code", "message": "กรุณาระบุรหัสองค์กร"},
                                                   {"field": "/name", "message": "กรุณาระบุชื่อองค์กร"}])
    users = body.get("users", [])
    if not isinstance(users, list) or not all(isinstance(u, dict) and isinstance(u.get("username"), str)
                                              and isinstance(u.get("roles"), list) for u in users):
        raise Invalid("users ต้องเป็นรายการของ {username, roles}", [{"field": "/users", "message": "รูปแบบไม่ถูกต้อง"}])
    now = ctx.clock.now()
    with ctx.db.write() as session:  # all or nothing
        org = _add_organization(session, now, body["code"], body["name"], str(body.get("province", "")))
        created = [{"username": user["username"], "roles": user["roles"],
                    "token": _add_user(session, now, user["username"], org, user["roles"], None,
                                       str(user.get("display_name", "")), with_token=True)}
                   for user in users]
        return {"organization": {"code": org.code, "name": org.name, "province": org.province}, "users": created}


def issue_token(ctx: Context, username: str) -> str:
    with ctx.db.write() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound(f"ไม่พบผู้ใช้ {username}")
        return _issue_token(session, user, ctx.clock.now())


def _issue_token(session: Session, user: User, now: datetime) -> str:
    token, digest = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=digest, created_at=now))
    return token


def _organization(session: Session, code: str) -> Organization:
    org = session.scalars(select(Organization).where(Organization.code == code)).first()
    if org is None:
        raise NotFound(f"ไม่พบองค์กรรหัส {code}")
    return org


def load_demo(ctx: Context, demo: dict) -> list[tuple[str, str, list[str], str]]:
    """Create the demo organization and one user per role; (username, password, roles, token)."""
    org = demo["organization"]
    with ctx.db.read() as session:
        exists = session.scalars(select(Organization).where(Organization.code == org["code"])).first()
    if exists:
        raise Conflict(f"มีข้อมูลตัวอย่างขององค์กร {org['code']} อยู่แล้ว")
    add_organization(ctx, org["code"], org["name"], org.get("province", ""))
    created: list[tuple[str, str, list[str], str]] = []
    for user in demo["users"]:
        password = secrets.token_urlsafe(9)
        token = add_user(ctx, user["username"], org["code"], user["roles"], password,
                         user.get("display_name", ""), with_token=True)
        assert token is not None  # asked for with_token
        created.append((user["username"], password, user["roles"], token))
    return created


def set_clock(ctx: Context, at: datetime | None) -> None:
    """Set (or, with None, reset) the application clock of a training or demo deployment."""
    if not ctx.settings.allow_clock_override:
        raise Forbidden("การตั้งเวลาระบบทำได้เฉพาะระบบฝึกอบรม/สาธิตที่ตั้งค่า PHAEN_ALLOW_CLOCK_OVERRIDE=1")
    if at is not None and at.tzinfo is None:
        raise Invalid("ต้องระบุเขตเวลา เช่น 2020-10-17T00:00:00+07:00")
    with ctx.db.write() as session:
        row = session.get(ClockOverride, 1)
        if at is None:
            if row:
                session.delete(row)
            return
        real = datetime.now(UTC)
        if row is None:
            session.add(ClockOverride(id=1, set_to=at, set_at=real))
        else:
            row.set_to, row.set_at = at, real



# --- Web log-in and passwords --------------------------------------------------------------
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 8
WRONG_PASSWORD = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง กรุณาลองใหม่"


def authenticate(ctx: Context, username: str, password: str) -> int:
    """The id of the user whose password this is. After MAX_FAILED_LOGINS wrong passwords in a
    row the account refuses every password for LOCKOUT; the counters live in the database so
    every web node sees them. :raise Unauthorized: with a message to show on the log-in page."""
    now = ctx.clock.now()
    refusal = None
    with ctx.db.write() as session:  # commits the counters even when the log-in is refused
        user = session.scalars(select(User).where(User.username == (username or "").strip())).first()
        if user is None or not user.is_active:
            check_password_hash(_unknown_user_hash(), password or "")  # as slow as a wrong password
            refusal = WRONG_PASSWORD
        elif user.locked_until is not None and user.locked_until > now:
            refusal = _locked_message(user.locked_until)
        elif not password_matches(user, password or ""):
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.failed_logins, user.locked_until = 0, now + LOCKOUT
                refusal = _locked_message(user.locked_until)
            else:
                left = MAX_FAILED_LOGINS - user.failed_logins
                refusal = f"{WRONG_PASSWORD} (หากผิดอีก {left} ครั้ง บัญชีจะถูกระงับชั่วคราว {_minutes(LOCKOUT)} นาที)"
        else:
            user.failed_logins, user.locked_until = 0, None
            return user.id
    raise Unauthorized(refusal)


def set_password(ctx: Context, username: str, password: str) -> None:
    """Change a user's password; it also lifts a log-in lock-out and ends the user's web sessions."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(f"รหัสผ่านต้องยาวอย่างน้อย {MIN_PASSWORD_LENGTH} ตัวอักษร")
    with ctx.db.write() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound(f"ไม่พบผู้ใช้ {username}")
        user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until = 0, None


def _locked_message(until: datetime) -> str:
    return (f"บัญชีนี้ถูกระงับชั่วคราวเพราะใส่รหัสผ่านผิดหลายครั้ง "
            f"กรุณาลองใหม่หลัง {short_datetime(until)} หรือติดต่อผู้ดูแลระบบ")


def _minutes(period: timedelta) -> int:
    return int(period.total_seconds() // 60)


@functools.cache
def _unknown_user_hash() -> str:
    return hash_password(secrets.token_hex(16))
