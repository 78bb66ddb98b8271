"""Who is acting: password and token checks, the actor a request or command runs as, the roles
every deployment has, and the one rule of who may complete an open task."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, object_session
from werkzeug.security import check_password_hash, generate_password_hash

from service.errors import Forbidden
from service.models import ApiToken, Organization, OversightArea, RoleMembership, User

#: Roles that exist whatever the processes say; a process's own roles come from its lane map.
ADMIN = "admin"  # of one organization, or national (organization None): organizations, people, holidays
AUDITOR = "auditor"  # reads and verifies the plans of the organizations audited, changes nothing
DESIGNER = "designer"  # publishes process versions
SYSTEM_ROLES = (ADMIN, AUDITOR, DESIGNER)
#: Held in one organization only: an official of one or more of its responsible units (UnitMembership),
#: who records the progress of the projects the plan gives those units (service/tracking).
UNIT = "unit"
ORGANIZATION_ROLES = (UNIT,)


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    organization_id: int | None
    memberships: frozenset[tuple[int | None, str]]  # (organization id or None = national, role)
    #: the organizations of the area the actor oversees (models.OversightArea): seen, read-only, with no role
    overseen: frozenset[int] = frozenset()

    def roles_in(self, organization_id: int) -> set[str]:
        return {role for org, role in self.memberships if org == organization_id or org is None}

    def can_see(self, organization_id: int) -> bool:
        return bool(self.roles_in(organization_id)) or organization_id in self.overseen

    @property
    def national_roles(self) -> set[str]:
        return {role for org, role in self.memberships if org is None}

    def visible_organizations(self) -> set[int] | None:
        """The organizations this actor may see; None means every one."""
        if self.national_roles:
            return None
        return {org for org, _ in self.memberships if org is not None} | self.overseen


SYSTEM = Actor(None, "system", None, frozenset())


def require_national_admin(actor: Actor, what: str) -> None:
    """:raise Forbidden: the actor is no national administrator; ``what`` says what only one may do."""
    if ADMIN not in actor.national_roles:
        raise Forbidden(f"เฉพาะผู้ดูแลระบบระดับประเทศเท่านั้นที่{what}ได้")


def require_designer(actor: Actor) -> None:
    if not any(role == DESIGNER for _, role in actor.memberships):
        raise Forbidden("เฉพาะผู้ออกแบบกระบวนงานเท่านั้นที่ตรวจและเผยแพร่กระบวนงานได้")


def completion_refusal(actor: Actor, role: str | None, organization_id: int, claimed_by: str | None) -> str | None:
    """Why the actor may not complete an open task of ``role`` held by ``claimed_by``; None if they may."""
    if role not in actor.roles_in(organization_id):
        return "งานนี้เป็นของบทบาทหรือองค์กรอื่น ท่านไม่มีสิทธิ์บันทึกงานนี้"
    if claimed_by and claimed_by != actor.username:
        return f"งานนี้ {claimed_by} รับไปดำเนินการแล้ว ท่านบันทึกได้เมื่อผู้รับงานคืนงาน"
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def password_matches(user: User, password: str) -> bool:
    return bool(user.password_hash and check_password_hash(user.password_hash, password))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A new API token and the digest that is stored in its place."""
    token = "phaen_" + secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_hint(token: str) -> str:
    """What is kept to tell a token among one's own: its last four characters (of 256 random bits)."""
    return token[-4:]


def new_session_key() -> tuple[str, str]:
    """A web session's random key (in the signed cookie) and the digest the server keeps."""
    key = secrets.token_urlsafe(32)
    return key, token_digest(key)


def actor_of(user: User) -> Actor:
    session = object_session(user)
    return Actor(user.id, user.username, user.organization_id,
                 frozenset((m.organization_id, m.role) for m in user.memberships),
                 overseen_by(session, user.id) if session is not None else frozenset())


def overseen_by(session: Session, user_id: int) -> frozenset[int]:
    """The organizations of the area the user oversees (none: no area)."""
    return frozenset(session.scalars(select(Organization.id).join(OversightArea, and_(
        OversightArea.user_id == user_id, Organization.province == OversightArea.province,
        or_(OversightArea.district == "", Organization.district == OversightArea.district)))))


def actor_for_token(session: Session, token: str, now: datetime) -> Actor | None:
    """The actor a token stands for (one query; a second for one who oversees an area), or None for an
    unknown, revoked, expired (at ``now``, the application clock) or inactive one."""
    condition = [ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None),
                 ApiToken.expires_at > now, User.is_active.is_(True)]
    rows = session.execute(
        select(User.id, User.username, User.organization_id, OversightArea.user_id, RoleMembership.organization_id,
               RoleMembership.role)
        .join(ApiToken, ApiToken.user_id == User.id)
        .outerjoin(RoleMembership, RoleMembership.user_id == User.id)
        .outerjoin(OversightArea, OversightArea.user_id == User.id)
        .where(*condition)
    ).all()
    if not rows:
        return None
    user_id, username, organization_id, oversees = rows[0][:4]
    return Actor(user_id, username, organization_id,
                 frozenset((org, role) for *_, org, role in rows if role is not None),
                 overseen_by(session, user_id) if oversees is not None else frozenset())
