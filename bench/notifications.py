"""Benchmark: notifications through the outbox.

1. Throughput: N notifications (each with an e-mail address) delivered by one sender (the job
   queue's worker) to a real SMTP server on loopback (aiosmtpd), in messages a second.
2. What writing them adds to a command: starting a plan (which opens its first step) in an
   organization whose role has PEOPLE members with an address vs one whose role has none (so no
   notification is written), alternately; the ratio of the medians (aim <= 1.1).
Usage: python bench/notifications.py [--postgres] [--messages 300] [--people 10] [--starts 60]
"""

from __future__ import annotations

import statistics
import time

from aiosmtpd.controller import Controller
from common import Database, actor, arguments, free_port
from sqlalchemy import delete, select

from service.commands import admin, jobs, notices
from service.commands import plans as commands
from service.models import Job, NoticeSetting, User


class Counting:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.received += 1
        return "250 OK"


def with_people(ctx, code: str, people: int, email: bool) -> None:
    admin.add_organization(ctx, code, f"เทศบาลตำบล {code}")
    admin.add_user(ctx, f"{code}-starter", code, ["planning_office"])
    for n in range(people if email else 0):
        admin.add_user(ctx, f"{code}-member-{n}", code, ["support_committee"])
    with ctx.db.write() as session:
        for user_id, in session.execute(select(User.id).where(User.username.like(f"{code}-member-%"))):
            session.add(NoticeSetting(user_id=user_id, email=f"m{user_id}@example.go.th", line_user_id=None,
                                      muted=[], changed_at=ctx.clock.now()))


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--people", type=int, default=10)
    parser.add_argument("--starts", type=int, default=60)
    args = parser.parse_args()
    db = Database(args.postgres)
    try:
        ctx = db.context()
        inbox = Counting()
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        ctx.settings.smtp_host, ctx.settings.smtp_port = "127.0.0.1", port

        with_people(ctx, "told", args.people, email=True)
        with_people(ctx, "quiet", 0, email=False)
        told, quiet = actor(ctx, "told-starter"), actor(ctx, "quiet-starter")
        timings: dict[str, list[float]] = {"told": [], "quiet": []}
        for n in range(args.starts):
            for code, who in (("told", told), ("quiet", quiet)):
                started = time.perf_counter()
                commands.start_plan(ctx, who, {"organization": code, "fiscal_year": 2564 + n,
                                               "budget_announced_on": "2020-09-20"})
                timings[code].append(time.perf_counter() - started)
        with_notes, without = statistics.median(timings["told"]), statistics.median(timings["quiet"])

        queued = args.starts * args.people
        extra = max(0, args.messages - queued)
        for n in range(-(-extra // args.people)):  # more plans, to reach the messages asked for
            commands.start_plan(ctx, told, {"organization": "told", "fiscal_year": 2700 - n,
                                            "budget_announced_on": "2020-09-20"})
        with ctx.db.write() as session:  # the plans' document renders are not what is measured here
            session.execute(delete(Job).where(Job.kind != notices.DELIVER))
        started = time.perf_counter()
        jobs.work(ctx)
        elapsed = time.perf_counter() - started
        controller.stop()
        print(f"{db.name}: {inbox.received} messages delivered to a loopback SMTP server by one sender in "
              f"{elapsed:.2f} s: {inbox.received / elapsed:.0f} messages/s")
        print(f"{db.name}: starting a plan that tells {args.people} people {with_notes * 1000:.2f} ms vs one that "
              f"tells no one {without * 1000:.2f} ms (medians of {args.starts}): ratio "
              f"{with_notes / without:.2f} (aim <= 1.1)")
    finally:
        db.close()


if __name__ == "__main__":
    main()
