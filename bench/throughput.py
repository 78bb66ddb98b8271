"""Benchmark: the production layout under load, on PostgreSQL.

1. Latency: task completions through HTTP (gunicorn, PostgreSQL), one at a time, vs the engine
   floor for the same step (restore, complete, serialize in memory); prints both medians and
   their ratio (aim: at most 3).
2. Throughput: completions per second sustained by WORKERS gunicorn workers, driven from a
   second process over loopback by CLIENTS keep-alive connections (aim: at least 300/s).
3. Memory: peak resident memory (VmHWM) of each web worker after 1/10 and after all of the
   completions (aim: flat).
Usage: python bench/throughput.py [--plans 10000] [--workers 4] [--clients 16] [--projects 1]
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import statistics
import threading
import time
from datetime import timedelta
from pathlib import Path

from common import Database, arguments, organization_with_plan, serve

from service import engine
from service.commands import plans as commands
from service.models import OpenTask, Plan
from tests.factories import clone_plans

PROJECT = {"name": "โครงการ", "activities": "กิจกรรม", "budget": 1000.0, "place": "หมู่ 1",
           "responsible_unit": "กองช่าง", "strategy": "ยุทธศาสตร์ที่ 1", "plan_program": "การศึกษา",
           "source": "lao", "funding": "ordinance", "months": [10, 11]}
STEP_DATA = {"draft_prepared_on": "2020-09-21"}


def post(connection: http.client.HTTPConnection, path: str, token: str, body: dict) -> int:
    connection.request("POST", path, body=json.dumps(body), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    return response.status


def drive(port: int, token: str, task_ids: list[str], clients: int, results) -> None:
    """The load generator (its own process): CLIENTS threads, each with a keep-alive connection."""
    done, lock = [0], threading.Lock()

    def client(share: list[str]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for task_id in share:
            status = post(connection, f"/api/v1/tasks/{task_id}/complete", token, STEP_DATA)
            assert status == 200, status
            with lock:
                done[0] += 1

    threads = [threading.Thread(target=client, args=(task_ids[n::clients],)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((done[0], time.perf_counter() - started))


def peak_memory_mb(master: int) -> list[float]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    peaks = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--projects", type=int, default=1)
    parser.add_argument("--latency-samples", type=int, default=100)
    args = parser.parse_args()
    db = Database(postgres=True)
    server = None
    try:
        ctx = db.context()
        plan_id, token = organization_with_plan(ctx, "load")
        with ctx.db.read() as session:
            collect = session.query(OpenTask.id).filter_by(plan_id=plan_id).scalar()
        from common import actor

        commands.complete_task(ctx, actor(ctx, "load-support"), collect, {"projects": [PROJECT] * args.projects})
        clone_plans(ctx, plan_id, args.plans - 1)
        with ctx.db.read() as session:
            tasks = [row.id for row in session.query(OpenTask).filter_by(name="draft_plan").order_by(OpenTask.plan_id)]
            snapshots = {p.id: p.state_json for p in session.query(Plan)}
            task_plan = {row.id: row.plan_id for row in session.query(OpenTask)}
            model = ctx.models.published(session, session.query(Plan).first().process_version_id).model
            helpers = ctx.timer_helpers(session, ctx.clock.now())

        server, port = serve(db, args.workers)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        # 1. Latency, one request at a time, alternating with the engine floor on the same snapshot.
        floor, http_times = [], []
        now = ctx.clock.now() + timedelta(hours=1)
        for task_id in tasks[: args.latency_samples]:
            started = time.perf_counter()
            instance = engine.Instance.restore(model, snapshots[task_plan[task_id]], helpers)
            instance.complete(task_id, STEP_DATA, now)
            instance.dump()
            floor.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert post(connection, f"/api/v1/tasks/{task_id}/complete", token, STEP_DATA) == 200
            http_times.append(time.perf_counter() - started)
        floor_ms, http_ms = statistics.median(floor) * 1000, statistics.median(http_times) * 1000

        # 2 and 3. Sustained load from a second process; memory after a tenth and at the end.
        remaining = tasks[args.latency_samples:]
        tenth = len(remaining) // 10
        results = multiprocessing.Queue()
        warm = multiprocessing.Process(target=drive, args=(port, token, remaining[:tenth], args.clients, results))
        warm.start()
        warm.join()
        results.get()
        memory_early = peak_memory_mb(server.pid)
        load = multiprocessing.Process(target=drive, args=(port, token, remaining[tenth:], args.clients, results))
        load.start()
        load.join()
        completed, seconds = results.get()
        memory_late = peak_memory_mb(server.pid)

        print(f"[PostgreSQL, {args.workers} gunicorn workers, {args.projects} project(s) per plan]")
        print(f"latency: HTTP completion median {http_ms:.2f} ms, engine floor median {floor_ms:.2f} ms")
        print(f"web worker peak memory (MB) after {tenth + args.latency_samples} completions: "
              f"{', '.join(f'{m:.0f}' for m in memory_early)}; after {len(tasks)}: "
              f"{', '.join(f'{m:.0f}' for m in memory_late)}")
        print(f"throughput: {completed} completions in {seconds:.1f} s with {args.clients} clients: "
              f"{completed / seconds:.0f} completions/s")
        print(f"ratio HTTP / engine floor: {http_ms / floor_ms:.2f}")
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        db.close()


if __name__ == "__main__":
    main()
