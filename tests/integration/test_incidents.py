"""Incidents are visible to administrators (issue 12, item 3): GET /api/v1/incidents (national admin:
every organization; an organization's admin: their own; anyone else 403), paged by id, open ones by
default; the page /incidents linked for admins only, and a red notice on the plan's page."""

from __future__ import annotations

import pytest

from service.commands import admin, incidents

from .procedure import Procedure
from .web import add_person, log_in


@pytest.fixture
def plans(client, org, other_org):
    """One running plan in each organization."""
    return Procedure(client, org).start()["id"], Procedure(client, other_org).start()["id"]


@pytest.fixture
def national_admin(ctx):
    return {"Authorization": f"Bearer {admin.add_user(ctx, 'admin-nat', None, ['admin'], with_token=True)}"}


def fail(ctx, clock, plan_id: int, times: int = 1) -> None:
    for _ in range(times):
        incidents.record_failure(ctx, plan_id, ValueError("the script of this plan is broken"), clock.now())
        clock.advance(minutes=1)


def resolve(ctx, clock, plan_id: int) -> None:
    with ctx.db.write() as session:
        incidents.resolve(session, plan_id, clock.now())


def listed(client, headers, **query) -> dict:
    response = client.get("/api/v1/incidents", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_national_admin_sees_every_organization_and_an_organizations_admin_their_own(
        ctx, clock, client, org, other_org, plans, national_admin):
    mine, theirs = plans
    fail(ctx, clock, mine, times=2)
    fail(ctx, clock, theirs)
    everyone = listed(client, national_admin)
    assert [(i["plan_id"], i["organization"], i["failures"]) for i in everyone["incidents"]] == [
        (theirs, other_org.code, 1), (mine, org.code, 2)]
    assert everyone["next"] is None
    assert everyone["incidents"][1]["message"] == "ValueError: the script of this plan is broken"
    assert [i["plan_id"] for i in listed(client, org.headers("admin"))["incidents"]] == [mine]
    assert [i["plan_id"] for i in listed(client, other_org.headers("admin"))["incidents"]] == [theirs]


@pytest.mark.parametrize("role", ["support_committee", "executive", "planning_office", "auditor"])
def test_anyone_but_an_admin_is_refused(client, org, plans, role):
    response = client.get("/api/v1/incidents", headers=org.headers(role))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json" and "ผู้ดูแลระบบ" in response.get_json()["detail"]


def test_without_a_token_401(client):
    assert client.get("/api/v1/incidents").status_code == 401


def test_resolved_incidents_only_with_all(ctx, clock, client, org, plans, national_admin):
    mine, theirs = plans
    fail(ctx, clock, mine)
    fail(ctx, clock, theirs)
    resolve(ctx, clock, mine)
    assert [i["plan_id"] for i in listed(client, national_admin)["incidents"]] == [theirs]
    every = listed(client, national_admin, all="1")["incidents"]
    assert [(i["plan_id"], i["resolved_at"] is not None) for i in every] == [(theirs, False), (mine, True)]


def test_pages_follow_next_without_gaps_or_repeats(ctx, clock, client, org, plans, national_admin):
    mine, _ = plans
    for _ in range(5):  # five incidents of one plan, each resolved before the next opens
        fail(ctx, clock, mine)
        resolve(ctx, clock, mine)
    seen, after, pages = [], None, 0
    while True:
        page = listed(client, national_admin, all="1", limit="2", **({"after": str(after)} if after else {}))
        assert len(page["incidents"]) <= 2
        seen += [i["id"] for i in page["incidents"]]
        pages, after = pages + 1, page["next"]
        if after is None:
            break
    assert pages == 3 and len(seen) == 5 and seen == sorted(set(seen), reverse=True)


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "201"}, {"limit": "x"}, {"limit": "²"},
                                   {"after": "0"}, {"after": "99999999999999999999999"}])
def test_bad_paging_is_a_thai_422(client, national_admin, query):
    response = client.get("/api/v1/incidents", headers=national_admin, query_string=query)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] in query


# --- The pages -----------------------------------------------------------------------------
def test_the_admins_page_lists_the_incidents_and_the_plan_page_warns_them(ctx, clock, client, org, other_org, plans):
    mine, theirs = plans
    fail(ctx, clock, mine, times=3)
    fail(ctx, clock, theirs)
    log_in(client, add_person(ctx, "web-admin", org.code, ["admin"]))
    page = client.get("/incidents")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "เหตุขัดข้องของแผน" in html and 'href="/incidents"' in html
    assert f'href="/plans/{mine}"' in html and f'href="/plans/{theirs}"' not in html
    assert "ValueError: the script of this plan is broken" in html and "ยังค้างอยู่" in html
    plan_page = client.get(f"/plans/{mine}").get_data(as_text=True)
    assert 'class="notice notice-error" role="alert">แผนนี้มีเหตุขัดข้อง' in plan_page and "3 ครั้งติดต่อกัน" in plan_page

    resolve(ctx, clock, mine)
    assert "แผนนี้มีเหตุขัดข้อง" not in client.get(f"/plans/{mine}").get_data(as_text=True)
    assert "ไม่มีเหตุขัดข้องที่ค้างอยู่" in client.get("/incidents").get_data(as_text=True)
    assert "แก้ไขแล้ว" in client.get("/incidents?all=1").get_data(as_text=True)


def test_members_see_neither_the_link_nor_the_notice_and_the_page_refuses_them(ctx, clock, client, org, plans):
    mine, _ = plans
    fail(ctx, clock, mine)
    log_in(client, add_person(ctx, "web-member", org.code, ["support_committee"]))
    assert 'href="/incidents"' not in client.get("/").get_data(as_text=True)
    assert "แผนนี้มีเหตุขัดข้อง" not in client.get(f"/plans/{mine}").get_data(as_text=True)
    refused = client.get("/incidents")
    assert refused.status_code == 403 and "ผู้ดูแลระบบ" in refused.get_data(as_text=True)
