"""Lists a page at a time (issue 14, item 2): the inbox by keyset, the same order on every page,
no row twice or lost, bad cursors and sizes refused."""

from __future__ import annotations

import base64

import pytest

from service import queries
from service.auth import actor_of
from service.commands import plans as commands
from service.models import User

from .web import add_person, log_in

YEARS = range(2500, 2623)  # 123 plans: three API pages of 50, and then some


@pytest.fixture
def many(ctx, client, org, clock):
    with ctx.db.read() as session:
        actor = actor_of(session.query(User).filter(User.username == f"{org.code}-support_committee").one())
    for year in YEARS:
        commands.start_plan(ctx, actor, {"organization": org.code, "fiscal_year": year,
                                         "budget_announced_on": "2020-09-20" if year % 2 else "2020-09-01"})
        clock.advance(seconds=1)
    return actor


def pages(client, headers, **query):
    seen, after = [], None
    while True:
        params = {**query, **({"after": after} if after else {})}
        body = client.get("/api/v1/tasks", headers=headers, query_string=params).get_json()
        seen.append([t["id"] for t in body["tasks"]])
        after = body["next"]
        if after is None:
            return seen


def test_the_inbox_pages_in_one_stable_order_with_nothing_twice_or_lost(ctx, client, org, many):
    everything = [t["id"] for t in queries.inbox(ctx, many)]
    assert len(everything) == len(YEARS)
    found = pages(client, org.headers("support_committee"), limit=50)
    assert [len(p) for p in found] == [50, 50, 23]
    assert [i for p in found for i in p] == everything  # earliest due first, as the whole list
    latest = queries.inbox_page(ctx, many, limit=None, latest_due_first=True)["tasks"]
    dues = [t["due_at"] for t in latest]
    assert dues == sorted(dues, reverse=True)
    walked, after = [], None
    while True:
        page = queries.inbox_page(ctx, many, 40, after, latest_due_first=True)
        walked += [t["id"] for t in page["tasks"]]
        if not (after := page["next"]):
            break
    assert walked == [t["id"] for t in latest]


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "501"}, {"limit": "10000000000"}, {"limit": "ห้า"},
                                   {"after": "garbage"}, {"after": base64.urlsafe_b64encode(b'[2,"x","y","z"]')
                                                          .decode()},
                                   {"after": base64.urlsafe_b64encode(b'[0,"2020-01-01","2020-01-01","a"]')
                                    .decode()},  # instants without their zone
                                   {"after": "A" * 300}])
def test_bad_sizes_and_cursors_are_refused(client, org, query):
    response = client.get("/api/v1/tasks", headers=org.headers("support_committee"), query_string=query)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][0]["field"] in ("limit", "after")


def test_the_inbox_page_offers_the_next_page_keeping_its_filters(ctx, client, org, many):
    add_person(ctx, "clerk", org.code, ["support_committee"])
    log_in(client, "clerk")
    first = client.get("/?sort=due_desc").get_data(as_text=True)
    assert first.count('class="step"') == 50 and "หน้าถัดไป" in first and f"{len(YEARS)}" in first
    next_url = first.split('class="button" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "sort=due_desc" in next_url and "after=" in next_url
    second = client.get(next_url).get_data(as_text=True)
    assert second.count('class="step"') == 50 and "หน้าแรก" in second
    plan_id = queries.inbox(ctx, many)[0]["plan_id"]
    only = client.get(f"/?plan={plan_id}").get_data(as_text=True)
    assert only.count('class="step"') == 1 and "หน้าถัดไป" not in only
    assert client.get("/?after=garbage").status_code == 422
