"""The time to render the operational plan of 300 projects and of 30 (WeasyPrint on this machine),
and what a download costs now that documents are rendered in the background and cached.

    .venv/bin/python bench/render.py [--repeat 3] [--out folder]

Each size is rendered once to warm up (fonts, imports), then ``--repeat`` times; the best and the
median are printed, and whether the runs gave the same bytes. Then the queue is worked (the render
job the completion queued) and a download of the cached copy is timed, and one of a changed plan
(no fresh copy: it answers "being made" at once). The aim is under 5 s for 300 projects; a download
never renders.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from common import Database, actor, arguments

from service import documents
from service.commands import admin, jobs
from service.commands import plans as commands
from service.documents import records, render
from service.models import OpenTask

STRATEGIES = ("การพัฒนาด้านโครงสร้างพื้นฐาน", "การพัฒนาด้านเศรษฐกิจ", "การพัฒนาด้านสังคมและคุณภาพชีวิต",
              "การพัฒนาด้านการศึกษา ศาสนา และวัฒนธรรม", "การพัฒนาด้านทรัพยากรธรรมชาติ",
              "การพัฒนาด้านการบริหารจัดการที่ดี")


def projects(count: int) -> list[dict]:
    """Projects spread over six strategies and every plan-program, with realistic cell lengths."""
    return [{
        "name": f"โครงการก่อสร้างถนนคอนกรีตเสริมเหล็ก สายบ้านนายสมชาย หมู่ที่ {i % 9 + 1} ลำดับ {i}",
        "activities": "ก่อสร้างถนน คสล. กว้าง 4 ม. ยาว 200 ม. หนา 0.15 ม. หรือพื้นที่ไม่น้อยกว่า 800 ตร.ม.",
        "budget": 10000 + i * 1234.5, "place": f"หมู่ที่ {i % 9 + 1}", "responsible_unit": "กองช่าง",
        "strategy": STRATEGIES[i % 6], "plan_program": records.PLAN_PROGRAMS[(i // 6) % 12], "source": "lao",
        "funding": "ordinance",
        "months": [10 + i % 3, (i % 9) + 1] if i % 2 else [i % 9 + 1, i % 9 + 2, i % 9 + 3], "is_equipment": False,
    } for i in range(count)]


def plan_with(ctx, code: str, count: int) -> tuple[int, object]:
    admin.add_organization(ctx, code, "เทศบาลตำบลกระดังงา", "จังหวัดสมุทรสงคราม")
    admin.add_user(ctx, f"{code}-support", code, ["support_committee"])
    plan_id = commands.start_plan(ctx, actor(ctx, f"{code}-support"), {
        "organization": code, "fiscal_year": 2564, "budget_announced_on": "2020-09-20"})
    support = actor(ctx, f"{code}-support")
    with ctx.db.read() as session:
        task_id = session.query(OpenTask.id).filter_by(plan_id=plan_id, name="collect_projects").scalar()
    commands.complete_task(ctx, support, task_id, {"projects": projects(count)})
    return plan_id, support


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="keep the PDFs here")
    args = parser.parse_args()
    database = Database(args.postgres)
    try:
        ctx = database.context()
        for count in (300, 30):
            plan_id, support = plan_with(ctx, f"R{count}", count)
            file = documents.load(ctx, support, plan_id)
            pdf = render.operational_plan(file)  # warm-up
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                pdf = render.operational_plan(file)
                times.append(time.perf_counter() - started)
            same = all(render.operational_plan(file) == pdf for _ in range(1))
            jobs.work(ctx, "bench")  # the render job the completion queued: the cached copy
            served = []
            for _ in range(20):
                started = time.perf_counter()
                found = documents.document(ctx, support, plan_id, "plan")
                served.append(time.perf_counter() - started)
            assert not found.pending and found.content.startswith(b"%PDF")
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"plan-{count}.pdf").write_bytes(pdf)
            print(f"operational plan, {count:3d} projects: best {min(times):5.2f} s, median "
                  f"{statistics.median(times):5.2f} s ({len(pdf) // 1024} KB), byte-identical: {same}; "
                  f"download of the cached copy: median {statistics.median(served) * 1000:.1f} ms "
                  f"(ratio render / download {min(times) / statistics.median(served):.0f})", flush=True)
    finally:
        database.close()


if __name__ == "__main__":
    sys.exit(main())
