"""What the executive waits for when announcing the operational plan of 300 projects: before, when
the completion froze the plan and the announcement inside its request, against now, when it queues
their freezing in its transaction and a worker renders them (issue 14, item 3).

    .venv/bin/python bench/freeze.py [--postgres] [--projects 300] [--repeat 2]

Two plans of the same projects are taken to the announcing step. On the first the announcing
completion is timed followed by the freezing run inline, as the request did before; on the
second the completion alone, then the worker's freezing of it (timed apart: nobody waits on it).
Both freezings must store the same bytes as rendering each document as the plan stood at its step.
``--repeat`` pairs are measured; the best of each is printed, and their ratio last.
"""

from __future__ import annotations

import sys
import time
from datetime import date, datetime
from datetime import time as daytime

from common import BANGKOK, Database, actor, arguments
from render import projects

from service import documents
from service.commands import admin, jobs, renders
from service.commands import documents as freezing
from service.commands import plans as commands
from service.documents import render
from service.models import Event, FrozenDocument, Job, OpenTask
from tests.integration.procedure import ROLE_OF, SAMPLES

BEFORE_ANNOUNCING = ("draft_plan", "propose_draft", "consider_draft", "present_to_executive", "approve_plan")


def task_of(ctx, plan_id: int, name: str) -> str:
    with ctx.db.read() as session:
        return session.query(OpenTask.id).filter_by(plan_id=plan_id, name=name).scalar()


def complete(ctx, code: str, plan_id: int, name: str, data: dict) -> None:
    days = [date.fromisoformat(v) for k, v in data.items() if isinstance(v, str) and k.endswith(("_on", "_date"))]
    if days and ctx.clock.now().astimezone(BANGKOK).date() < max(days):
        ctx.clock.set(datetime.combine(max(days), daytime(9), BANGKOK))  # nothing is recorded as done in the future
    commands.complete_task(ctx, actor(ctx, f"{code}-{ROLE_OF[name]}"), task_of(ctx, plan_id, name), data)


def plan_before_announcing(ctx, code: str, count: int) -> int:
    admin.add_organization(ctx, code, "เทศบาลตำบลกระดังงา", "จังหวัดสมุทรสงคราม")
    for role in set(ROLE_OF.values()):
        admin.add_user(ctx, f"{code}-{role}", code, [role])
    plan_id = commands.start_plan(ctx, actor(ctx, f"{code}-support_committee"), {
        "organization": code, "fiscal_year": 2564, "budget_announced_on": "2020-09-20"})
    complete(ctx, code, plan_id, "collect_projects", {"projects": projects(count)})
    for name in BEFORE_ANNOUNCING:
        complete(ctx, code, plan_id, name, SAMPLES[name])
    jobs.work(ctx, "bench")  # the drafts' renders the earlier steps queued: not part of what is measured
    return plan_id


def announce(ctx, code: str, plan_id: int) -> float:
    started = time.perf_counter()
    complete(ctx, code, plan_id, "announce_plan", SAMPLES["announce_plan"])
    return time.perf_counter() - started


def frozen_as_at_the_step(ctx, plan_id: int) -> bool:
    """Whether the stored documents are exactly those rendered as the plan stood at its step."""
    file = documents.load(ctx, None, plan_id)
    with ctx.db.read() as session:
        step = session.query(Event.seq).filter_by(plan_id=plan_id, task="announce_plan").scalar()
        stored = dict(session.query(FrozenDocument.kind, FrozenDocument.content).filter_by(plan_id=plan_id))
    return set(stored) == {"plan", "announcement"} and \
        all(stored[kind] == render.DOCUMENTS[kind](file.as_of(step)) for kind in stored)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    database = Database(args.postgres)
    try:
        ctx = database.context()
        render.operational_plan(documents.load(ctx, None, plan_before_announcing(ctx, "WARM", 5)))  # fonts, imports
        before, after, worked, same = [], [], [], True
        for n in range(args.repeat):
            inline, queued = plan_before_announcing(ctx, f"S{n}", args.projects), \
                plan_before_announcing(ctx, f"Q{n}", args.projects)
            completing = announce(ctx, f"S{n}", inline)
            with ctx.db.write() as session:  # freezing in the request had no job
                session.query(Job).filter(Job.plan_id == inline, Job.kind == renders.FREEZE).delete()
            started = time.perf_counter()
            freezing.freeze_due(ctx, inline)  # what the request did after its commit, before it answered
            before.append(completing + time.perf_counter() - started)
            jobs.work(ctx, "bench")  # the rest this plan queued, out of the way of what follows

            after.append(announce(ctx, f"Q{n}", queued))
            started = time.perf_counter()
            jobs.work(ctx, "bench")
            worked.append(time.perf_counter() - started)
            same = same and frozen_as_at_the_step(ctx, inline) and frozen_as_at_the_step(ctx, queued)
        print(f"{database.name}, operational plan of {args.projects} projects, best of {args.repeat}:")
        print(f"  announcing completion, freezing in the request (before): {min(before) * 1000:8.1f} ms")
        print(f"  announcing completion, freezing queued (after):          {min(after) * 1000:8.1f} ms")
        print(f"  the worker's jobs afterwards (freezing; nobody waits):   {min(worked) * 1000:8.1f} ms")
        print(f"  frozen bytes identical to rendering as of the step, both ways: {same}")
        print(f"ratio before / after: {min(before) / min(after):.0f}")
    finally:
        database.close()


if __name__ == "__main__":
    sys.exit(main())
