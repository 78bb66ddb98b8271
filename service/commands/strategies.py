"""The development strategies an organization keeps, from its development plan (แผนพัฒนาท้องถิ่น):
an ordered list of names, each with an optional code, from which projects pick their strategy
(forms name the list with ``"x-choices": "strategies"``; see taskforms/choices.py).

The organization's admin or a national admin keeps it, replacing the whole list at once. Plans
keep the name they recorded: a change of the list rewrites no plan, and a strategy removed from
the list stays valid in a plan that recorded it."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.auth import ADMIN, Actor
from service.context import Context
from service.errors import Forbidden, Invalid, NotFound
from service.models import Organization, Strategy

MAX_STRATEGIES = 100  # a development plan has a handful; far more is a pasted file gone wrong
MAX_NAME = 300  # the form's maxLength for a project's strategy
MAX_CODE = 20
_BLANKS = "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u3000\ufeff"


def require_keeper(actor: Actor, organization_id: int) -> None:
    """:raise Forbidden: the actor is neither the organization's admin nor a national admin."""
    if ADMIN not in actor.roles_in(organization_id):
        raise Forbidden("เฉพาะผู้ดูแลระบบขององค์กรนี้หรือผู้ดูแลระบบระดับประเทศเท่านั้นที่กำหนดยุทธศาสตร์การพัฒนาได้")


def listing(ctx: Context, actor: Actor | None, code: str, keeper: bool = False) -> dict[str, Any]:
    """The organization's strategies in order. ``actor`` None: the operator (the command line);
    ``keeper``: only for one who may change them (the admin page).
    :raise NotFound: no such organization, or one the actor cannot see; Forbidden: ``keeper`` and not one."""
    with ctx.db.read() as session:
        org = _organization(session, actor, code)
        if keeper and actor is not None:
            require_keeper(actor, org.id)
        return _view(org, _kept(session, org.id))


def kept_by_admin(ctx: Context, actor: Actor) -> list[str]:
    """The codes of the organizations whose strategies the actor keeps as their admin."""
    own = {org for org, role in actor.memberships if role == ADMIN and org is not None}
    with ctx.db.read() as session:
        return list(session.scalars(select(Organization.code).where(Organization.id.in_(own))
                                    .order_by(Organization.code))) if own else []


def keep(ctx: Context, actor: Actor | None, code: str, body: Any) -> dict[str, Any]:
    """Replace the organization's list with ``body`` (a list of names, or of {"name", "code"}, or
    {"strategies": that list}). :raise Invalid: not such a list; Forbidden: not a keeper; NotFound:"""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        org = _organization(session, None, code)  # another organization's admin is refused, not misled
        if actor is not None:
            require_keeper(actor, org.id)  # who may, before what: a stranger learns nothing from the body's faults
        entries = checked(body.get("strategies") if isinstance(body, dict) else body)
        session.execute(delete(Strategy).where(Strategy.organization_id == org.id))
        session.flush()  # the old positions go before the new ones take them
        by = actor.username if actor is not None else "operator"
        for position, (entry_code, name) in enumerate(entries, start=1):
            session.add(Strategy(organization_id=org.id, position=position, code=entry_code, name=name,
                                 kept_by=by, kept_at=now))
        session.flush()
        return _view(org, _kept(session, org.id))


def lines(text: str) -> list[dict[str, str]]:
    """A text's list, one strategy a line: "CODE<TAB>NAME", "CODE | NAME" or "NAME"; blank lines skipped."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        for mark in ("\t", " | "):
            code, sep, name = line.partition(mark)
            if sep:
                found.append({"code": code, "name": name})
                break
        else:
            found.append({"name": line})
    return found


def checked(value: Any) -> list[tuple[str, str]]:
    """(code, name) of each entry of a proposed list. :raise Invalid: with a Thai message per entry."""
    if not isinstance(value, list):
        raise Invalid("รายการยุทธศาสตร์ต้องเป็นรายการ (JSON array) ของชื่อยุทธศาสตร์",
                      [{"field": "/strategies", "message": "ต้องเป็นรายการของชื่อยุทธศาสตร์ เรียงตามแผนพัฒนาท้องถิ่น"}])
    if len(value) > MAX_STRATEGIES:
        raise Invalid("รายการยุทธศาสตร์ยาวเกินไป",
                      [{"field": "/strategies", "message": f"มีได้ไม่เกิน {MAX_STRATEGIES:,} ยุทธศาสตร์"}])
    errors: list[dict[str, str]] = []
    entries: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(value):
        where = f"/strategies/{index}"
        raw_name, raw_code = (item.get("name"), item.get("code", "")) if isinstance(item, dict) else (item, "")
        if isinstance(item, dict) and set(item) - {"name", "code"}:
            errors.append({"field": where, "message": "แต่ละยุทธศาสตร์มีได้เฉพาะ name และ code"})
            continue
        name, code = _clean(raw_name), _clean(raw_code if raw_code is not None else "")
        if name is None and isinstance(raw_name, str):
            errors.append({"field": f"{where}/name", "message": f"ยุทธศาสตร์ลำดับที่ {index + 1}: ชื่อต้องเป็นข้อความบรรทัดเดียว "
                                                                "ไม่มีอักขระควบคุม"})
        elif name is None or not name:
            errors.append({"field": f"{where}/name", "message": f"ยุทธศาสตร์ลำดับที่ {index + 1}: กรุณาระบุชื่อยุทธศาสตร์"})
        elif len(name) > MAX_NAME:
            errors.append({"field": f"{where}/name",
                           "message": f"ยุทธศาสตร์ลำดับที่ {index + 1}: ชื่อยาวได้ไม่เกิน {MAX_NAME} ตัวอักษร"})
        elif name.casefold() in seen:
            errors.append({"field": f"{where}/name", "message": f"ยุทธศาสตร์ลำดับที่ {index + 1} “{name[:80]}” ซ้ำกับ"
                                                                f"ลำดับที่ {seen[name.casefold()] + 1}"})
        if code is None or len(code) > MAX_CODE:
            errors.append({"field": f"{where}/code",
                           "message": f"ยุทธศาสตร์ลำดับที่ {index + 1}: รหัสต้องเป็นข้อความไม่เกิน {MAX_CODE} ตัวอักษร"})
        if name and code is not None:
            seen.setdefault(name.casefold(), index)
            entries.append((code, name))
    if errors:
        raise Invalid("รายการยุทธศาสตร์ไม่ถูกต้อง กรุณาแก้ไขรายการที่ระบุ", errors)
    return entries


def _clean(value: Any) -> str | None:
    """The text as kept: NFC, inner runs of spaces as one, no control characters. None: not text."""
    if not isinstance(value, str) or any(unicodedata.category(ch) == "Cc" for ch in value):
        return None
    text = unicodedata.normalize("NFC", value)
    for blank in _BLANKS:
        text = text.replace(blank, " ")
    return " ".join(text.split())


def _organization(session: Session, actor: Actor | None, code: str) -> Organization:
    org = session.scalars(select(Organization).where(Organization.code == code)).first() \
        if isinstance(code, str) and len(code) <= 32 else None
    if org is None or (actor is not None and not actor.can_see(org.id)):
        raise NotFound(f"ไม่พบองค์กรรหัส {code}")
    return org


def _kept(session: Session, organization_id: int) -> list[Strategy]:
    return list(session.scalars(select(Strategy).where(Strategy.organization_id == organization_id)
                                .order_by(Strategy.position)))


def _view(org: Organization, rows: list[Strategy]) -> dict[str, Any]:
    return {"organization": org.code, "organization_name": org.name,
            "strategies": [{"position": r.position, "code": r.code, "name": r.name} for r in rows],
            "kept_by": rows[0].kept_by if rows else None,
            "kept_at": rows[0].kept_at.isoformat() if rows else None}
