"""Lists a page at a time (issue 14, item 2): the inbox, the plan lists, a plan's history, incidents and
the auditors' lists by keyset, the same order on every page (ties on the sort keys too), no row twice
or lost, nothing of another organization even through a crafted cursor, bad cursors and sizes refused."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from service import queries
from service.auth import actor_of
from service.commands import admin, claims
from service.commands import plans as commands
from service.models import OpenTask, Organization, Plan, User
from tests.factories import clone_plans

from .procedure import Procedure
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
                                   {"after": base64.urlsafe_b64encode(b'["t",0,"2020-01-01","2020-01-01","a"]')
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


# --- Every other list: plans, a plan's history, incidents, the auditors' lists ----------------------
def walk(client, path, headers, key, limit, **query):
    """Every page of an API list: the ids (or seqs) in the order given, and the number of pages."""
    seen, after, count = [], None, 0
    while True:
        response = client.get(path, headers=headers, query_string={**query, "limit": limit,
                                                                   **({"after": after} if after else {})})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert len(body[key]) <= limit
        seen += [item.get("id", item.get("seq")) for item in body[key]]
        count += 1
        if (after := body["next"]) is None:
            return seen, count


@pytest.fixture
def ties(ctx, org, other_org, many):
    """30 more plans of one fiscal year (the same year, due dates and opening times: ties on every sort
    key but the id) in the organization, and 5 in another organization."""
    first = queries.inbox(ctx, many)[0]["plan_id"]
    clone_plans(ctx, first, 30, [queries.organization_id(ctx, org.code)])
    theirs = clone_plans(ctx, first, 5, [queries.organization_id(ctx, other_org.code)])
    return theirs


def stored_plans(ctx, code):
    with ctx.db.read() as session:
        rows = session.scalars(select(Plan).join(Organization).where(Organization.code == code)).all()
        return [p.id for p in sorted(rows, key=lambda p: (p.fiscal_year, p.id), reverse=True)]


def test_the_plan_list_walks_every_plan_once_newest_year_first_and_only_the_callers(client, ctx, org, other_org,
                                                                                       ties):
    mine = stored_plans(ctx, org.code)
    assert len(mine) == len(YEARS) + 30
    seen, count = walk(client, "/api/v1/plans", org.headers("support_committee"), "plans", 7)
    assert seen == mine and count == -(-len(mine) // 7)  # each once, in (year, id) descending order
    assert walk(client, "/api/v1/plans", org.headers("support_committee"), "plans", 200)[0] == mine
    theirs = walk(client, "/api/v1/plans", other_org.headers("support_committee"), "plans", 2)[0]
    assert set(theirs) == set(stored_plans(ctx, other_org.code)) and not set(theirs) & set(mine)
    # a cursor made by hand, before every plan there is: still only the caller's own
    crafted = base64.urlsafe_b64encode(json.dumps(["p", 9999, 2**31 - 1]).encode()).decode()
    body = client.get("/api/v1/plans", headers=other_org.headers("support_committee"),
                      query_string={"after": crafted}).get_json()
    assert {p["id"] for p in body["plans"]} == set(theirs)


def test_the_inbox_merges_the_runs_of_several_organizations_and_roles_in_one_order(ctx, org, other_org, ties):
    add_person(ctx, "both", org.code, ["support_committee", "executive"])
    admin.grant_role(ctx, "both", other_org.code, "support_committee")
    both = queries.actor_named(ctx, "both")
    with ctx.db.read() as session:
        rows = session.scalars(select(OpenTask).where(OpenTask.role == "support_committee")).all()
        expected = [t.id for t in sorted(rows, key=lambda t: (t.due_at is None, t.due_at or t.opened_at,
                                                              t.opened_at, t.id))]
    walked, after = [], None
    while True:
        page = queries.inbox_page(ctx, both, 9, after)
        walked += [t["id"] for t in page["tasks"]]
        if not (after := page["next"]):
            break
    assert walked == expected and len(set(walked)) == len(walked)


def test_a_plans_history_pages_in_order_and_hides_another_organizations(ctx, client, org, other_org, many):
    task = queries.inbox(ctx, many)[0]
    for _ in range(12):  # 24 more events: a claim and a release each
        claims.claim(ctx, many, task["id"])
        claims.release(ctx, many, task["id"])
    path = f"/api/v1/plans/{task['plan_id']}/history"
    seen, count = walk(client, path, org.headers("auditor"), "events", 5)
    assert seen == list(range(1, 26)) and count == 5
    assert walk(client, path, org.headers("auditor"), "events", 50) == (seen, 1)
    cursor = client.get(path, headers=org.headers("auditor"), query_string={"limit": 5}).get_json()["next"]
    assert client.get(path, headers=other_org.headers("auditor"), query_string={"after": cursor}).status_code == 404
    newest = queries.history(ctx, many, task["plan_id"], 10, newest_first=True)
    assert [e["seq"] for e in newest["events"]] == list(range(25, 15, -1))


LISTS = ["/api/v1/plans", "/api/v1/plans/1/history", "/api/v1/incidents"]


def cursor_of(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "201"}, {"limit": "1000000000"}, {"limit": "ห้า"},
                                   {"limit": "-1"}, {"after": "garbage"}, {"after": "A" * 300},
                                   {"after": cursor_of("t", 0, "2020-01-01T00:00:00+00:00",
                                                       "2020-01-01T00:00:00+00:00", "x")},  # the inbox's
                                   {"after": cursor_of("p", "2564", 1)}, {"after": cursor_of("p", 2564, 2**31)},
                                   {"after": cursor_of("h", True)}, {"after": cursor_of("i", -1)},
                                   {"after": cursor_of("h", 1, 2)}, {"after": cursor_of("i")}])
def test_every_list_refuses_a_bad_size_or_a_cursor_it_did_not_give(client, org, path, query):
    assert Procedure(client, org).start()["id"] == 1
    response = client.get(path, headers=org.headers("admin"), query_string=query)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["errors"][0]
    assert error["field"] in ("limit", "after") and any("\u0e00" <= ch <= "\u0e7f" for ch in error["message"])


def test_the_pages_of_plans_and_histories_link_their_next_and_first_pages(ctx, client, org, many):
    add_person(ctx, "clerk", org.code, ["support_committee", "auditor"])
    log_in(client, "clerk")
    pages, url = [], "/plans"
    while url:
        html = client.get(url).get_data(as_text=True)
        assert (url == "/plans") != ("หน้าแรก" in html)
        pages.append(html.count('class="plan"'))
        url = html.split('class="button" href="')[1].split('"')[0].replace("&amp;", "&") \
            if "หน้าถัดไป" in html else None
    assert pages == [50, 50, 23]
    inbox = client.get("/").get_data(as_text=True)
    assert "ดูแผนทั้งหมด" in inbox and inbox.count("แผนการดำเนินงาน ปีงบประมาณ") == 10
    audit = client.get("/audit/").get_data(as_text=True)
    assert audit.count('class="step"') == 20 and "หน้าถัดไป" in audit
    assert client.get("/audit/?after=garbage").status_code == 422
    task = queries.inbox(ctx, many)[0]
    for _ in range(30):
        claims.claim(ctx, many, task["id"])
        claims.release(ctx, many, task["id"])
    plan_page = client.get(f"/plans/{task['plan_id']}").get_data(as_text=True)
    assert plan_page.count('<span class="when">') == 50 and "ดูเพิ่มเติม" in plan_page
    more = plan_page.split("ดูเพิ่มเติม")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    older = client.get(more).get_data(as_text=True)
    assert older.count('<span class="when">') == 11 and "ดูเพิ่มเติม" not in older and "หน้าแรก" in older
    audit_plan = client.get(f"/audit/plans/{task['plan_id']}").get_data(as_text=True)
    assert audit_plan.count('<span class="seq">') == 50 and "ดูเพิ่มเติม" in audit_plan
    more = audit_plan.split("ดูเพิ่มเติม")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(more).get_data(as_text=True)
    assert rest.count('<span class="seq">') == 11 and "หน้าแรก" in rest
    assert client.get(f"/plans/{task['plan_id']}?after=garbage").status_code == 422
