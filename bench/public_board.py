"""Benchmark: the public notice board under a crowd (issue 16).

1. One announced item's page (/public/<code>/plans/<id>) made from the records vs served as the
   process made it before vs answered 304 from its ETag, alternating, in-process (Flask test client:
   server time only); prints the medians and their ratios, and the same for the organization's board.
2. CLIENTS concurrent readers (threads in a second process, one keep-alive connection each) reading
   the item page from `phaen serve --production` over loopback, half of them revalidating with the
   ETag as a browser does: requests per second, median and p99 latency.
Usage: python bench/public_board.py [--postgres] [--clients 200] [--requests 20] [--workers 2] [--projects 30]
"""

from __future__ import annotations

import http.client
import multiprocessing
import statistics
import threading
import time

from common import Database, arguments, serve

from service.app import create_app
from tests.conftest import Org
from tests.integration.procedure import PROJECT, Procedure


def announced_item(ctx, projects: int) -> tuple[str, str]:
    """An organization with one announced plan, its documents frozen; (item path, board path)."""
    client = create_app(context=ctx, test_config={"TESTING": True}).test_client()
    org = Org(ctx, "board", "เทศบาลตำบลป้ายประกาศ")
    run = Procedure(client, org)
    plan_id = run.start(fiscal_year=2564)["id"]
    run.complete(plan_id, "collect_projects", {"projects": [{**PROJECT, "name": f"โครงการที่ {n}"}
                                                            for n in range(projects)]})
    for name in ("draft_plan", "propose_draft", "consider_draft", "present_to_executive", "approve_plan",
                 "announce_plan", "post_announcement"):
        run.complete(plan_id, name)
    return f"/public/board/plans/{plan_id}", "/public/board/"


def server_times(ctx, paths: list[str], rounds: int) -> list[tuple[str, float, float, float]]:
    """Per page: made from the records, served as this process made it last, and 304 (medians, ms)."""
    from service.web import public

    client = create_app(context=ctx, test_config={"TESTING": True}).test_client()
    figures = []
    for path in paths:
        tag = client.get(path).headers["ETag"]
        made, kept, revalidated = [], [], []
        for _ in range(rounds):
            public._kept.clear()
            for times, headers in ((made, {}), (kept, {}), (revalidated, {"If-None-Match": tag})):
                started = time.perf_counter()
                assert client.get(path, headers=headers).status_code in (200, 304)
                times.append(time.perf_counter() - started)
        figures.append((path, *(statistics.median(t) * 1000 for t in (made, kept, revalidated))))
    return figures


def crowd(port: int, path: str, tag: str, clients: int, requests: int, results) -> None:
    """The readers (their own process): each thread one keep-alive connection; odd ones revalidate."""
    latencies: list[float] = []
    lock = threading.Lock()

    def reader(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        headers = {"If-None-Match": tag} if number % 2 else {}
        for _ in range(requests):
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status in (200, 304), response.status
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((latencies, time.perf_counter() - started))


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--projects", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    db = Database(postgres=args.postgres)
    server = None
    try:
        ctx = db.context()
        item, board = announced_item(ctx, args.projects)
        for path, made, kept, revalidated in server_times(ctx, [item, board], args.rounds):
            print(f"{path}: made {made:.2f} ms, as made before {kept:.2f} ms, 304 {revalidated:.2f} ms; "
                  f"ratio made / as made before {made / kept:.1f}, made / 304 {made / revalidated:.1f}")

        server, port = serve(db, args.workers)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", item)
        response = connection.getresponse()
        response.read()
        tag = response.headers["ETag"]
        results: multiprocessing.Queue = multiprocessing.Queue()
        driver = multiprocessing.Process(target=crowd, args=(port, item, tag, args.clients, args.requests, results))
        driver.start()
        latencies, elapsed = results.get()
        driver.join()
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"{args.clients} concurrent readers x {args.requests} requests ({db.name}, {args.workers} workers): "
              f"{len(latencies) / elapsed:.0f} requests/s, median {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms")
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        db.close()


if __name__ == "__main__":
    main()
