"""Who may audit: the one rule the auditors' pages and the audit API both apply.

Auditing (verifying a plan's history, its self-contained export, its events as CSV, the
deadline-compliance report) needs the auditor role in the plan's organization, or a national one.
Every member already sees a plan's history and deadlines on the plan page and through
/api/v1/plans/<id>/history; what auditing adds is the replay of the whole record and its
take-away files, which cost hundreds of milliseconds each and belong to the people who audit.
"""

from __future__ import annotations

import dataclasses

from service.auth import AUDITOR, Actor
from service.errors import Forbidden, NotFound

NOT_AN_AUDITOR = "การตรวจสอบแผนทำได้เฉพาะผู้ตรวจสอบ ท่านไม่ได้รับบทบาทผู้ตรวจสอบในองค์กรใด"
AUDITS_ANOTHER = "ท่านเป็นผู้ตรวจสอบขององค์กรอื่น ไม่มีสิทธิ์ตรวจสอบแผนขององค์กรนี้"


def auditor(actor: Actor) -> Actor:
    """The actor with its auditor memberships alone: the audit functions then answer for the
    organizations it audits and no other. :raise Forbidden: it audits no organization."""
    memberships = frozenset(m for m in actor.memberships if m[1] == AUDITOR)
    if not memberships:
        raise Forbidden(NOT_AN_AUDITOR)
    return dataclasses.replace(actor, memberships=memberships, overseen=frozenset())  # an area is no audit


def auditor_of(actor: Actor, organization_id: int | None) -> Actor:
    """The actor as auditor of this organization (None: no such plan or organization).
    :raise NotFound: not an organization the actor may see at all (its existence stays hidden);
    :raise Forbidden: the actor audits no organization, or sees this one without auditing it."""
    restricted = auditor(actor)
    if organization_id is None or not actor.can_see(organization_id):
        raise NotFound("ไม่พบแผนหรือองค์กรนี้ในองค์กรที่ท่านมีสิทธิ์")
    if not restricted.can_see(organization_id):
        raise Forbidden(AUDITS_ANOTHER)
    return restricted
