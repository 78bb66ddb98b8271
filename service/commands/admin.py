"""Operator commands: organizations, users and their roles, tokens, processes, the clock."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from service.auth import (
    ADMIN,
    SYSTEM_ROLES,
    Actor,
    hash_password,
    new_session_key,
    new_token,
    password_matches,
    require_national_admin,
    token_digest,
    token_hint,
)
from service.bundles import catalog
from service.commands import progress, strategies
from service.context import Context
from service.errors import Conflict, Forbidden, Invalid, NotFound, TooManyAttempts, Unauthorized
from service.models import (
    AdminLogEntry,
    ApiToken,
    ClockOverride,
    LoginFailure,
    LoginThrottle,
    Organization,
    RoleMembership,
    SignIn,
    User,
    WebSession,
)
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


#: who an administrative change made at the server's console is recorded as
OPERATOR = "operator"


def log_change(session: Session, now: datetime, by: str, action: str, organization_id: int | None,
               username: str | None = None, **details: Any) -> None:
    """One administrative change in the append-only admin log (commands/administration.py reads it),
    in the caller's transaction: the browser's, the API's and the operator's at the console alike."""
    session.add(AdminLogEntry(at=now, actor=by, action=action, organization_id=organization_id, username=username,
                              details=details))


def add_organization(ctx: Context, code: str, name: str, province: str = "", by: str = OPERATOR) -> Organization:
    now = ctx.clock.now()
    with ctx.db.write() as session:
        org = new_organization(session, now, code, name, province)
        log_change(session, now, by, "organization_created", org.id, name=name)
        return org


def new_organization(session: Session, now: datetime, code: str, name: str, province: str) -> Organization:
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
    now = ctx.clock.now()
    with ctx.db.write() as session:
        org = organization_named(session, org_code) if org_code is not None else None
        token = new_user(session, now, username, org, roles, password, display_name,
                         ctx.settings.token_lifetime if with_token else None)
        log_change(session, now, OPERATOR, "user_added", org.id if org else None, username, roles=list(roles))
        return token


def new_user(session: Session, now: datetime, username: str, org: Organization | None, roles: list[str],
              password: str | None, display_name: str, token_lifetime: timedelta | None,
              roles_required: bool = True) -> str | None:
    """The user, and a token of ``token_lifetime`` if one is given (``roles_required`` False: an
    overseer of an area, who belongs to no organization and may hold no role)."""
    if not USERNAME_PATTERN.match(username or ""):
        raise Invalid("ชื่อผู้ใช้ใช้ได้เฉพาะตัวอักษรอังกฤษ ตัวเลข และ _ . @ - ไม่เกิน 64 ตัว",
                      [{"field": "/username", "message": "ชื่อผู้ใช้ไม่ถูกต้อง"}])
    if not roles and roles_required:
        raise Invalid("กรุณาระบุบทบาทอย่างน้อยหนึ่งบทบาท (--role)", [{"field": "/roles", "message": "ไม่มีบทบาท"}])
    check_roles(session, roles, national=org is None)
    if session.scalars(select(User).where(User.username == username)).first():
        raise Conflict(f"มีผู้ใช้ชื่อ {username} อยู่แล้ว")
    user = User(username=username, display_name=display_name or username,
                organization_id=org.id if org else None,
                password_hash=hash_password(password) if password else None, created_at=now)
    user.memberships = [RoleMembership(organization_id=org.id if org else None, role=role)
                        for role in dict.fromkeys(roles)]
    session.add(user)
    session.flush()
    return _issue_token(session, user, now, token_lifetime) if token_lifetime else None


def grant_role(ctx: Context, username: str, org_code: str | None, role: str) -> None:
    """Give a user a role in another organization (e.g. an auditor assigned several)."""
    with ctx.db.write() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise NotFound(f"ไม่พบผู้ใช้ {username}")
        org = organization_named(session, org_code) if org_code is not None else None
        check_roles(session, [role], national=org is None)
        org_id = org.id if org else None
        if any(m.organization_id == org_id and m.role == role for m in user.memberships):
            raise Conflict(f"{username} มีบทบาท {role} ในองค์กรนี้อยู่แล้ว")
        user.memberships.append(RoleMembership(organization_id=org_id, role=role))
        log_change(session, ctx.clock.now(), OPERATOR, "role_granted", org_id, username, roles=[role])


def check_roles(session: Session, roles: list[str], national: bool) -> None:
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
        org = new_organization(session, now, body["code"], body["name"], str(body.get("province", "")))
        log_change(session, now, actor.username, "organization_created", org.id, name=org.name)
        created = [{"username": user["username"], "roles": user["roles"],
                    "token": new_user(session, now, user["username"], org, user["roles"], None,
                                       str(user.get("display_name", "")), ctx.settings.token_lifetime)}
                   for user in users]
        for user in users:
            log_change(session, now, actor.username, "user_added", org.id, user["username"], roles=user["roles"])
        return {"organization": {"code": org.code, "name": org.name, "province": org.province}, "users": created}


# --- API tokens ----------------------------------------------------------------------------
MAX_TOKEN_DAYS = 3650
BAD_TOKEN = "กรุณาส่ง Authorization: Bearer <token> ที่ถูกต้อง"  # as the API answers an unknown token
NO_SUCH_TOKEN = "ไม่พบโทเค็นหมายเลขนี้ของท่าน"


def issue_token(ctx: Context, username: str, days: int | None = None) -> str:
    """A new API token for the user, valid ``days`` (default: the token_lifetime setting); printed
    once, only its digest is kept."""
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise Invalid(f"อายุโทเค็นต้องอยู่ระหว่าง 1 ถึง {MAX_TOKEN_DAYS} วัน",
                      [{"field": "/days", "message": f"ระบุ 1–{MAX_TOKEN_DAYS} วัน"}])
    lifetime = timedelta(days=days) if days is not None else ctx.settings.token_lifetime
    with ctx.db.write() as session:
        return _issue_token(session, user_named(session, username), ctx.clock.now(), lifetime)


def _issue_token(session: Session, user: User, now: datetime, lifetime: timedelta) -> str:
    token, digest = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=digest, hint=token_hint(token), created_at=now,
                         expires_at=now + lifetime))
    return token


def tokens(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    """The actor's own tokens, newest first, without their secret: what tells them apart."""
    if actor.user_id is None:
        return []
    with ctx.db.read() as session:
        return _token_list(session, actor.user_id, ctx.clock.now())


def tokens_of(ctx: Context, username: str) -> list[dict[str, Any]]:
    """A user's tokens, for the operator at the console. :raise NotFound: no such user."""
    with ctx.db.read() as session:
        return _token_list(session, user_named(session, username).id, ctx.clock.now())


def _token_list(session: Session, user_id: int, now: datetime) -> list[dict[str, Any]]:
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                           .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [_token_entry(row, now) for row in rows]


def _token_entry(row: ApiToken, now: datetime) -> dict[str, Any]:
    state = "revoked" if row.revoked_at else "expired" if row.expires_at <= now else "active"
    return {"id": row.id, "hint": row.hint, "created_at": _utc(row.created_at), "expires_at": _utc(row.expires_at),
            "revoked_at": _utc(row.revoked_at) if row.revoked_at else None, "revoked_by": row.revoked_by,
            "state": state}


def _utc(instant: datetime) -> str:
    """As the API gives every instant (a row just written still holds the clock's own offset)."""
    return instant.astimezone(UTC).isoformat()


def revoke_token(ctx: Context, actor: Actor, token_id: str | int) -> dict[str, Any]:
    """End one of the actor's own tokens (a national admin: anyone's). Revoking a revoked token
    changes nothing. :raise NotFound: no such token, or another user's (never a 403: that would
    tell a token exists)."""
    number = _token_number(token_id)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        row = session.get(ApiToken, number) if number is not None else None
        if row is None or (row.user_id != actor.user_id and ADMIN not in actor.national_roles):
            raise NotFound(NO_SUCH_TOKEN)
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = now, actor.username
        return _token_entry(row, now)


def revoke_tokens_of(ctx: Context, username: str, token_id: str | int | None = None,
                     by: str = OPERATOR) -> list[dict[str, Any]]:
    """The operator ends one token of a user (``token_id``) or, without one, every token still
    valid; the tokens ended. :raise NotFound: no such user, or no such token of theirs."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        user = user_named(session, username)
        if token_id is not None:
            number = _token_number(token_id)
            row = session.get(ApiToken, number) if number is not None else None
            if row is None or row.user_id != user.id:
                raise NotFound(f"ไม่พบโทเค็นหมายเลข {token_id} ของ {username}")
            rows = [row] if row.revoked_at is None else []
        else:
            rows = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                               ApiToken.revoked_at.is_(None))))
        for row in rows:
            row.revoked_at, row.revoked_by = now, by
        return [_token_entry(row, now) for row in rows]


def _token_number(token_id: str | int) -> int | None:
    """A token id as the database can take it; None for anything that cannot be one (so it is
    answered 404, not a database error for a number out of range)."""
    text = str(token_id)
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > 2**31 - 1:  # the column's integer
        return None
    return int(text)


def user_named(session: Session, username: str, lock: bool = False) -> User:
    query = select(User).where(User.username == username)
    user = session.scalars(query.with_for_update() if lock else query).first()
    if user is None:
        raise NotFound(f"ไม่พบผู้ใช้ {username}")
    return user


def end_credentials(session: Session, user_id: int, now: datetime, by: str) -> None:
    """Every web session and every API token of the user ends (a new password, a deactivation)."""
    _end_sessions(session, user_id, now)
    session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now, revoked_by=by))


def _end_sessions(session: Session, user_id: int, now: datetime) -> None:
    session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                    .values(ended_at=now))


def organization_named(session: Session, code: str) -> Organization:
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
        for unit in user.get("units", []):
            progress.assign_unit(ctx, user["username"], org["code"], unit)
        created.append((user["username"], password, user["roles"], token))
    if demo.get("strategies"):
        strategies.keep(ctx, None, org["code"], demo["strategies"])
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



# --- Web log-in, sessions and passwords ----------------------------------------------------
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=5)
#: a typed name's wrong passwords are forgotten this long after the last one, so the table of
#: names (most of them unknown, under a spray) stays small
FORGET_FAILURES_AFTER = timedelta(days=1)
#: a user's open browser sessions beyond this many end, oldest first (abandoned browsers never log out)
MAX_OPEN_SESSIONS = 10
MIN_PASSWORD_LENGTH = 8
WRONG_PASSWORD = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง กรุณาลองใหม่"
WRONG_CURRENT_PASSWORD = "รหัสผ่านปัจจุบันไม่ถูกต้อง ยังไม่ได้เปลี่ยนรหัสผ่าน"
#: sign-in history rows a user keeps (the newest): a name hammered while locked or throttled adds a
#: row per attempt, and must not grow the table without end
SIGN_INS_KEPT = 500
BROWSER_CHARACTERS = 120


def sign_in(ctx: Context, username: str, password: str, address: str, browser: str = "") -> tuple[int, str]:
    """Open a web session for the user whose password this is: (user id, the session's key for
    the cookie). Every answer but success depends on the name typed and the client address only,
    never on whether a user has that name: wrong passwords are counted per typed name (an unknown
    name counts and locks exactly like a known one, a deactivated user like an unknown one), and
    after ``login_throttle_failures`` failures from one address in ``login_throttle_window`` that
    address is refused whatever it sends. The counters live in the database so every web node
    sees them. Each attempt under a user's name is kept in that user's sign-in history (``address``
    and ``browser`` as hints only), in the transaction of its outcome; a name no user has leaves none.
    :raise Unauthorized: with the message to show on the log-in page.
    :raise TooManyAttempts: the address is throttled."""
    now = ctx.clock.now()
    name = (username or "").strip()
    address_key = _digest("address", address)
    name_key = _digest("name", name)
    known = USERNAME_PATTERN.match(name) is not None
    with ctx.db.write() as session:  # commits the counters even when the log-in is refused
        user: User | None = None
        throttle = session.get(LoginThrottle, address_key)
        if throttle is not None and _window_failures(throttle, ctx, now) >= ctx.settings.login_throttle_failures:
            refusal: Unauthorized = TooManyAttempts(_throttled_message(throttle.window_started_at
                                                                       + ctx.settings.login_throttle_window))
            outcome = "throttled"
        else:
            counted = session.get(LoginFailure, name_key)
            if counted is not None and counted.locked_until is not None and counted.locked_until > now:
                refusal = Unauthorized(_locked_message(counted.locked_until))
                outcome = "locked"
            else:
                # Locked against a concurrent password change: the new password's transaction ends
                # every session, so a session opened with the old one must not commit after it.
                user = session.scalars(select(User).where(User.username == name).with_for_update()).first() \
                    if known else None
                if user is not None and user.is_active and user.password_hash:
                    if password_matches(user, password or ""):
                        if counted is not None:
                            session.delete(counted)
                        _record_sign_in(session, user.id, now, "sign_in", "ok", address, browser)
                        return user.id, _open_session(session, user.id, now)
                    outcome = "wrong_password"
                else:  # no one to check against (no such user, deactivated, no password): as slow
                    check_password_hash(_unknown_user_hash(), password or "")
                    outcome = "no_password" if user is not None and user.is_active else "deactivated"
                refusal = Unauthorized(_count_wrong_password(session, name_key, now))
        if not isinstance(refusal, TooManyAttempts):
            _count_address_failure(session, ctx, address_key, now)
        if user is None and known and outcome in ("throttled", "locked"):  # refused before the user was read
            user = session.scalars(select(User).where(User.username == name)).first()
        if user is not None:
            _record_sign_in(session, user.id, now, "sign_in", outcome, address, browser)
    raise refusal


def _record_sign_in(session: Session, user_id: int, now: datetime, action: str, outcome: str, address: str,
                    browser: str) -> None:
    """One row of the user's sign-in history; the oldest beyond SIGN_INS_KEPT go (one indexed probe)."""
    session.add(SignIn(user_id=user_id, at=now, action=action, outcome=outcome, network=network_hint(address),
                       browser=browser_hint(browser)))
    session.flush()
    oldest_kept = session.scalars(select(SignIn.id).where(SignIn.user_id == user_id).order_by(SignIn.id.desc())
                                  .offset(SIGN_INS_KEPT - 1).limit(1)).first()
    if oldest_kept is not None:
        session.execute(delete(SignIn).where(SignIn.user_id == user_id, SignIn.id < oldest_kept))


def network_hint(address: str) -> str:
    """The network an address is in (IPv4 /24, IPv6 /48): enough for a person to tell their office
    from somewhere else, not enough to name a machine. Anything not an address: nothing."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False))


def browser_hint(browser: str) -> str:
    """The User-Agent as the browser sent it, printable characters only, cut to BROWSER_CHARACTERS."""
    text = "".join(c if c.isprintable() else " " for c in (browser or "")[:4 * BROWSER_CHARACTERS])
    return " ".join(text.split())[:BROWSER_CHARACTERS]


def sign_out(ctx: Context, user_id: int, key: str) -> None:
    """End one web session on the server: its cookie, replayed, no longer signs anyone in."""
    with ctx.db.write() as session:
        session.execute(update(WebSession).where(WebSession.user_id == user_id,
                                                 WebSession.key_hash == token_digest(key),
                                                 WebSession.ended_at.is_(None))
                        .values(ended_at=ctx.clock.now()))


def sign_out_everywhere(ctx: Context, actor: Actor) -> None:
    """End every web session of the actor (every browser), this one too; tokens stay."""
    if actor.user_id is None:
        return
    with ctx.db.write() as session:
        _end_sessions(session, actor.user_id, ctx.clock.now())


def _open_session(session: Session, user_id: int, now: datetime) -> str:
    key, digest = new_session_key()
    session.execute(delete(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_not(None)))
    surplus = session.scalars(select(WebSession.id).where(WebSession.user_id == user_id,
                                                          WebSession.ended_at.is_(None))
                              .order_by(WebSession.id.desc()).offset(MAX_OPEN_SESSIONS - 1)).all()
    if surplus:
        session.execute(update(WebSession).where(WebSession.id.in_(surplus)).values(ended_at=now))
    session.add(WebSession(user_id=user_id, key_hash=digest, created_at=now))
    return key


def _count_wrong_password(session: Session, name_key: str, now: datetime, wrong: str = WRONG_PASSWORD) -> str:
    """Count one more wrong password for the typed name; the message to show (``wrong``, then how
    many tries are left, or the lock-out)."""
    session.execute(delete(LoginFailure).where(LoginFailure.last_failed_at < now - FORGET_FAILURES_AFTER))
    row = _counter(session, LoginFailure, LoginFailure.name_hash, name_key,
                   {"failures": 0, "last_failed_at": now})
    if row.last_failed_at < now - FORGET_FAILURES_AFTER:
        row.failures = 0
    row.failures, row.last_failed_at = row.failures + 1, now
    if row.failures >= MAX_FAILED_LOGINS:
        row.failures, row.locked_until = 0, now + LOCKOUT
        return _locked_message(row.locked_until)
    left = MAX_FAILED_LOGINS - row.failures
    return f"{wrong} (หากผิดอีก {left} ครั้ง บัญชีจะถูกระงับชั่วคราว {_minutes(LOCKOUT)} นาที)"


def _count_address_failure(session: Session, ctx: Context, address_key: str, now: datetime) -> None:
    window = ctx.settings.login_throttle_window
    session.execute(delete(LoginThrottle).where(LoginThrottle.window_started_at <= now - window))
    row = _counter(session, LoginThrottle, LoginThrottle.address_hash, address_key,
                   {"failures": 0, "window_started_at": now})
    if row.window_started_at + window <= now or row.window_started_at > now:  # a new window (or a clock set back)
        row.window_started_at, row.failures = now, 0
    row.failures += 1


def _window_failures(row: LoginThrottle, ctx: Context, now: datetime) -> int:
    return row.failures if row.window_started_at <= now < row.window_started_at + ctx.settings.login_throttle_window \
        else 0


def _counter(session: Session, model: Any, key_column: Any, key: str, initial: dict[str, Any]) -> Any:
    """The counter row of ``key``, created if missing and locked (FOR UPDATE on PostgreSQL), so
    concurrent failures on two web nodes neither collide on the key nor lose a count."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(model).values({key_column.key: key, **initial}).on_conflict_do_nothing())
    return session.scalars(select(model).where(key_column == key).with_for_update()
                           .execution_options(populate_existing=True)).one()


def _digest(kind: str, text: str) -> str:
    return hashlib.sha256(f"{kind}:{text}".encode("utf-8", "surrogatepass")).hexdigest()


def set_password(ctx: Context, username: str, password: str, by: str = OPERATOR) -> None:
    """Change a user's password; it lifts a log-in lock-out of the name and ends every web session
    and every API token of the user (whoever held the old password may hold those too)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(TOO_SHORT)
    now = ctx.clock.now()
    with ctx.db.write() as session:
        user = user_named(session, username, lock=True)
        user.password_hash = hash_password(password)
        session.execute(delete(LoginFailure).where(LoginFailure.name_hash == _digest("name", user.username)))
        end_credentials(session, user.id, now, by)
        log_change(session, now, by, "password_set", user.organization_id, user.username)


TOO_SHORT = f"รหัสผ่านต้องยาวอย่างน้อย {MIN_PASSWORD_LENGTH} ตัวอักษร"


def change_password(ctx: Context, actor: Actor, current: str, new: str, repeated: str, address: str = "",
                    browser: str = "") -> str:
    """The signed-in actor changes their own password, knowing the current one: as set_password, every
    web session and API token of theirs ends, and the browser they changed it in gets a new session
    (its key, returned), so only it stays signed in. A wrong current password counts toward the
    lock-out of the name like a wrong one at the log-in (a stolen session must not try passwords
    unbounded), and a locked name changes nothing; each attempt is kept in the sign-in history.
    :raise Invalid: a field left empty, a new password too short, not typed the same twice or the same
    as the current one, a wrong current password or a locked name (nothing changed)."""
    errors = []
    if not current:
        errors.append({"field": "/current_password", "message": "กรุณากรอกรหัสผ่านปัจจุบัน"})
    if len(new or "") < MIN_PASSWORD_LENGTH:
        errors.append({"field": "/new_password", "message": TOO_SHORT})
    elif new != repeated:
        errors.append({"field": "/confirm_password", "message": "รหัสผ่านใหม่ที่กรอกสองครั้งไม่ตรงกัน"})
    if errors:
        raise Invalid("ยังไม่ได้เปลี่ยนรหัสผ่าน กรุณาแก้ไขตามที่ระบุ", errors)
    if actor.user_id is None:
        raise Forbidden("บัญชีนี้เปลี่ยนรหัสผ่านเองไม่ได้")
    now = ctx.clock.now()
    with ctx.db.write() as session:  # commits the count and the history even when the change is refused
        user = session.get(User, actor.user_id, with_for_update=True)
        if user is None or not user.is_active:
            raise Forbidden("บัญชีนี้ถูกปิดการใช้งานแล้ว")
        name_key = _digest("name", user.username)
        counted = session.get(LoginFailure, name_key)
        if counted is not None and counted.locked_until is not None and counted.locked_until > now:
            message, outcome = _locked_message(counted.locked_until), "locked"
        elif not password_matches(user, current):
            message, outcome = _count_wrong_password(session, name_key, now, WRONG_CURRENT_PASSWORD), "wrong_password"
        elif new == current:
            raise Invalid("รหัสผ่านใหม่ต้องไม่ซ้ำกับรหัสผ่านปัจจุบัน",
                          [{"field": "/new_password", "message": "รหัสผ่านใหม่ต้องไม่ซ้ำกับรหัสผ่านปัจจุบัน"}])
        else:
            user.password_hash = hash_password(new)
            session.execute(delete(LoginFailure).where(LoginFailure.name_hash == name_key))
            end_credentials(session, user.id, now, user.username)
            _record_sign_in(session, user.id, now, "password", "ok", address, browser)
            return _open_session(session, user.id, now)
        _record_sign_in(session, user.id, now, "password", outcome, address, browser)
    raise Invalid(message, [{"field": "/current_password", "message": message}])


def set_active(ctx: Context, username: str, active: bool, by: str = OPERATOR) -> None:
    """Deactivate a user (every session and token ends; they cannot log in) or activate them again
    (ended tokens stay ended: issue new ones)."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        user = user_named(session, username, lock=True)
        user.is_active = active
        if not active:
            end_credentials(session, user.id, now, by)
        log_change(session, now, by, "user_activated" if active else "user_deactivated", user.organization_id,
                   user.username)


def _locked_message(until: datetime) -> str:
    return (f"บัญชีนี้ถูกระงับชั่วคราวเพราะใส่รหัสผ่านผิดหลายครั้ง "
            f"กรุณาลองใหม่หลัง {short_datetime(until)} หรือติดต่อผู้ดูแลระบบ")


def _throttled_message(until: datetime) -> str:
    return (f"มีการเข้าสู่ระบบไม่สำเร็จจากเครื่องนี้หลายครั้งเกินไป "
            f"กรุณาลองใหม่หลัง {short_datetime(until)} หรือติดต่อผู้ดูแลระบบ")


def _minutes(period: timedelta) -> int:
    return int(period.total_seconds() // 60)


@functools.cache
def _unknown_user_hash() -> str:
    return hash_password(secrets.token_hex(16))


def login_name_key(username: str) -> str:
    """The key under which wrong passwords typed for ``username`` are counted (LoginFailure)."""
    return _digest("name", username)
