"""Many plans quickly, for load tests and benchmarks."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from service.commands.recording import append_event
from service.models import OpenTask, Plan

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def clone_plans(ctx, plan_id: int, copies: int, organization_ids: list[int] | None = None) -> list[int]:
    """Copies of a plan that differ only in their task ids (and, if given, their organization,
    round robin), with their inbox rows, inserted in one transaction."""
    with ctx.db.write() as session:
        source = session.get(Plan, plan_id)
        tasks = session.scalars(select(OpenTask).where(OpenTask.plan_id == plan_id)).all()
        ids = []
        for n in range(copies):
            fresh: dict[str, str] = {}
            state = UUID.sub(lambda m, fresh=fresh: fresh.setdefault(m.group(0), str(uuid.uuid4())), source.state_json)
            organization_id = (organization_ids[n % len(organization_ids)] if organization_ids
                               else source.organization_id)
            plan = Plan(organization_id=organization_id, fiscal_year=source.fiscal_year,
                        process_version_id=source.process_version_id, state_json=state,
                        deadlines=source.deadlines, next_timer_at=source.next_timer_at,
                        started_at=source.started_at, started_by=source.started_by)
            session.add(plan)
            session.flush()
            for task in tasks:
                session.add(OpenTask(id=fresh[task.id], plan_id=plan.id, organization_id=organization_id,
                                     name=task.name, title=task.title, lane=task.lane, role=task.role,
                                     due_at=task.due_at, opened_at=task.opened_at))
            append_event(session, plan, source.started_at, "system", None, "plan_started", {},
                                  state_digest=source.state_digest)
            ids.append(plan.id)
        return ids
