"""The oversight dashboard (service/oversight.py): an overseer of a province or a district sees
exactly its organizations, each with its plan of the year and where it stands; counts, filters,
orders, pages and the CSV agree with a computation made here from the plans' stored deadlines; the
plans of the area open read-only, and nothing of another province opens at all."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from service import deadlines, oversight
from service.auth import ADMIN, Actor, hash_password
from service.commands import admin, administration
from service.models import OpenTask, Organization, OversightArea, Plan, PlanStanding, User
from tests.conftest import bangkok

from .procedure import Procedure
from .web import PASSWORD, log_in, post_form

NATIONAL_ADMIN = Actor(None, "national-admin", None, frozenset({(None, ADMIN)}))
PROVINCE, OTHER = "เชียงใหม่", "ลำพูน"
DISTRICTS = ("เมืองเชียงใหม่", "สันทราย", "ฝาง")
TYPES = ("sao", "subdistrict", "town")
YEAR = 2564
NOW = bangkok(2020, 11, 10, 9, 0)


def _deadline(key, name, due, state, kind="limit", actual=None):
    return {"key": key, "name": name, "basis": "ข้อ 26", "kind": kind, "due_at": due.isoformat(), "state": state,
            "actual_at": actual.isoformat() if actual else None}


def _variant(n: int):
    """(status, deadlines, open step) of the n-th plan: on time, overdue, missed and done, met, completed."""
    soon, past = NOW + timedelta(days=3 + n % 7), NOW - timedelta(days=1 + n % 9)
    return [
        ("running", [_deadline("plan", "จัดทำแผนภายใน 30 วัน", soon, "pending")], "จัดทำร่างแผน"),
        ("running", [_deadline("plan", "จัดทำแผนภายใน 30 วัน", past, "pending")], "พิจารณาร่างแผน"),
        ("running", [_deadline("plan", "จัดทำแผนภายใน 30 วัน", past, "missed", actual=NOW),
                     _deadline("posting", "ปิดประกาศภายใน 15 วัน", soon, "pending")], "ปิดประกาศ"),
        ("running", [_deadline("plan", "จัดทำแผนภายใน 30 วัน", past, "met", actual=past)], "ปิดประกาศ"),
        ("completed", [_deadline("plan", "จัดทำแผนภายใน 30 วัน", past, "met", actual=past)], None),
    ][n % 5]


def build_area(ctx, prefix: str, province: str, count: int, version_id: int, every_nth_without_plan: int = 6):
    """``count`` organizations of ``province`` in bulk, most with a plan of YEAR (their standings
    written by oversight.note, as each save of a plan writes them)."""
    now = ctx.clock.now()
    with ctx.db.write() as session:
        session.execute(insert(Organization), [
            {"code": f"{prefix}{n:05d}", "name": f"องค์กร {prefix} {n:05d}", "province": province,
             "district": DISTRICTS[n % 3], "type": TYPES[n % 3], "created_at": now, "active": True}
            for n in range(count)])
        ids = dict(session.execute(select(Organization.code, Organization.id)
                                   .where(Organization.code.like(f"{prefix}%"))).all())
        plans = []
        for n in range(count):
            if n % every_nth_without_plan == every_nth_without_plan - 1:
                continue
            status, listed, step = _variant(n)
            plans.append({"organization_id": ids[f"{prefix}{n:05d}"], "fiscal_year": YEAR,
                          "process_version_id": version_id, "status": status, "state_json": "", "deadlines": listed,
                          "started_at": now, "started_by": "test", "version": 1, "_step": step})
        session.execute(insert(Plan), [{k: v for k, v in p.items() if k != "_step"} for p in plans])
        rows = session.scalars(select(Plan).where(Plan.organization_id.in_(ids.values()))).all()
        steps = {p["organization_id"]: p["_step"] for p in plans}
        for plan in rows:
            oversight.note(session, plan, {"default": True})
            if steps[plan.organization_id]:
                session.add(OpenTask(id=f"t-{plan.id}", plan_id=plan.id, organization_id=plan.organization_id,
                                     name="step", title=steps[plan.organization_id], role="support_committee",
                                     opened_at=now))
    return ids


def expected_standing(plan) -> str:
    """The standing computed here, from the verdicts on the stored deadlines, without SQL."""
    if plan is None:
        return "not_started"
    if plan.status == "completed":
        return "completed"
    return "late" if any(v["state"] == "missed" for v in deadlines.verdicts(plan.deadlines, NOW)) else "on_time"


def overseer(ctx, username: str, province: str, district: str = "", with_token: bool = True) -> dict:
    """A user of no organization and no role, who oversees an area (granted as a national admin does)."""
    with ctx.db.write() as session:
        session.add(User(username=username, display_name=username, password_hash=hash_password(PASSWORD),
                         created_at=ctx.clock.now()))
    administration.set_oversight(ctx, NATIONAL_ADMIN, username, province, district)
    return {"Authorization": f"Bearer {admin.issue_token(ctx, username, None)}"} if with_token else {}


@pytest.fixture
def world(ctx, client, org):
    """Province เชียงใหม่ (120 organizations) and ลำพูน (30), plans of 2564 built in bulk; a real plan
    of kradangnga (in ลำพูน, started through the API) gives the process version."""
    with ctx.db.write() as session:
        session.execute(Organization.__table__.update().where(Organization.code == org.code)
                        .values(province=OTHER, district="เมืองลำพูน", type="subdistrict"))
    real = Procedure(client, org).start(fiscal_year=YEAR, budget_announced_on="2020-09-20")
    with ctx.db.read() as session:
        version_id = session.get(Plan, real["id"]).process_version_id
    ctx.clock.set(NOW)
    cm = build_area(ctx, "cm", PROVINCE, 120, version_id)
    lp = build_area(ctx, "lp", OTHER, 30, version_id)
    return {"cm": cm, "lp": lp, "real": real["id"]}


def all_pages(client, headers, **query):
    rows, after, counts = [], None, None
    while True:
        answer = client.get("/api/v1/oversight", headers=headers,
                            query_string={**query, "limit": 17, **({"after": after} if after else {})})
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        counts = counts or body["counts"]
        rows += body["organizations"]
        after = body["next"]
        if after is None:
            return rows, counts


def test_a_province_overseer_sees_its_organizations_with_counts_as_computed_from_the_deadlines(ctx, client, world):
    headers = overseer(ctx, "sto-cm", PROVINCE)
    with ctx.db.read() as session:
        plans = {p.organization_id: p for p in session.scalars(select(Plan).where(Plan.fiscal_year == YEAR))}
        orgs = session.scalars(select(Organization).where(Organization.province == PROVINCE)).all()
        expected = {o.code: expected_standing(plans.get(o.id)) for o in orgs}
    rows, counts = all_pages(client, headers, fiscal_year=YEAR)
    assert sorted(r["organization"]["code"] for r in rows) == sorted(expected)  # each once, no other province's
    assert {r["organization"]["code"]: r["standing"] for r in rows} == expected
    assert counts == {k: sum(1 for v in expected.values() if v == k) for k in oversight.CATEGORIES}
    assert all(counts[k] > 0 for k in oversight.CATEGORIES)
    names = [r["organization"]["name"] for r in rows]
    assert names == sorted(names)  # by name (the codes are in the names: one order on both databases)
    late = next(r for r in rows if r["standing"] == "late" and r["deadlines"][0]["overdue"])
    assert late["deadlines"][0]["days_late"] > 0 and late["plan"]["steps"] == ["พิจารณาร่างแผน"]
    on_time = next(r for r in rows if r["standing"] == "on_time" and r["deadlines"][0]["state"] == "pending")
    assert on_time["deadlines"][0]["days_left"] >= 3
    assert next(r for r in rows if r["standing"] == "not_started")["plan"] is None
    assert next(r for r in rows if r["standing"] == "completed")["plan"]["steps"] == []


@pytest.mark.parametrize("sort", ["district", "status", "overdue"])
def test_every_order_pages_through_each_organization_once(ctx, client, world, sort):
    headers = overseer(ctx, "sto-cm", PROVINCE)
    rows, _ = all_pages(client, headers, sort=sort)
    assert len({r["organization"]["code"] for r in rows}) == len(rows) == 120
    if sort == "district":
        keys = [(r["organization"]["district"], r["organization"]["name"]) for r in rows]
        assert keys == sorted(keys)
    if sort == "status":
        rank = ["late", "on_time", "not_started", "completed"]
        assert [rank.index(r["standing"]) for r in rows] == sorted(rank.index(r["standing"]) for r in rows)
    if sort == "overdue":
        overdue = [r for r in rows if any(d["overdue"] for d in r["deadlines"])]
        assert rows[:len(overdue)] == overdue  # the overdue first, the most days first
        days = [max(d["days_late"] for d in r["deadlines"] if d["overdue"]) for r in overdue]
        assert days == sorted(days, reverse=True)


def test_filters_narrow_the_list_and_the_status_filter_leaves_the_counts(ctx, client, world):
    headers = overseer(ctx, "sto-cm", PROVINCE)
    everything, counts = all_pages(client, headers)
    for query, keep in [({"district": "ฝาง"}, lambda r: r["organization"]["district"] == "ฝาง"),
                        ({"type": "town"}, lambda r: r["organization"]["type"] == "town"),
                        ({"status": "late"}, lambda r: r["standing"] == "late"),
                        ({"status": "not_started", "district": "สันทราย"},
                         lambda r: r["standing"] == "not_started" and r["organization"]["district"] == "สันทราย"),
                        ({"q": "cm00042"}, lambda r: r["organization"]["code"] == "cm00042"),
                        ({"q": "%"}, lambda r: False)]:
        rows, narrowed_counts = all_pages(client, headers, **query)
        assert [r["organization"]["code"] for r in rows] == [r["organization"]["code"] for r in everything
                                                              if keep(r)], query
        if set(query) == {"status"}:
            assert narrowed_counts == counts
    assert all_pages(client, headers, fiscal_year=2565)[1] == {"on_time": 0, "late": 0, "not_started": 120,
                                                               "completed": 0}


def test_the_csv_holds_every_organization_the_filters_select(ctx, client, world):
    overseer(ctx, "sto-cm", PROVINCE, with_token=False)
    log_in(client, "sto-cm")
    answer = client.get("/oversight.csv", query_string={"status": "late", "sort": "overdue"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert tuple(table[0]) == oversight.CSV_HEADER
    api = all_pages(client, overseer(ctx, "sto-cm2", PROVINCE), status="late", sort="overdue")[0]
    assert [row[0] for row in table[1:]] == [r["organization"]["code"] for r in api]
    assert all(row[7] == "ล่าช้า" for row in table[1:]) and any("เกินกำหนด" in row[9] for row in table[1:])


def test_the_page_shows_counts_filters_and_pages_without_javascript(ctx, client, world):
    overseer(ctx, "sto-cm", PROVINCE, with_token=False)
    log_in(client, "sto-cm")
    html = client.get("/oversight").get_data(as_text=True)
    assert "ภาพรวมการจัดทำแผนการดำเนินงาน จังหวัดเชียงใหม่" in html and "ปีงบประมาณ พ.ศ. 2564" in html
    assert "ยังไม่เริ่ม" in html and "เกินกำหนด" in html and "หน้าถัดไป" in html and "<script" not in html
    assert "cm00000" in html and "lp00000" not in html
    second = client.get("/oversight?district=ฝาง&status=late").get_data(as_text=True)
    assert "ฝาง" in second and "cm00001" not in second  # cm00001 is in สันทราย
    assert client.get("/oversight?sort=price").status_code == 422
    assert "ภาพรวมพื้นที่" in client.get("/account").get_data(as_text=True)


def test_a_district_overseer_sees_its_district_only(ctx, client, world):
    headers = overseer(ctx, "sto-fang", PROVINCE, "ฝาง")
    rows, counts = all_pages(client, headers)
    assert {r["organization"]["district"] for r in rows} == {"ฝาง"} and len(rows) == 40 == sum(counts.values())
    outside = next(code for code in world["cm"] if int(code[2:]) % 3 != 2)
    with ctx.db.read() as session:
        plan_id = session.scalar(select(Plan.id).where(Plan.organization_id == world["cm"][outside]))
    assert client.get(f"/api/v1/plans/{plan_id}", headers=headers).status_code == 404


def test_an_overseer_reads_plans_of_its_area_and_nothing_else_and_changes_nothing(ctx, client, world, org):
    headers = overseer(ctx, "sto-lp", OTHER)  # kradangnga's real plan is in ลำพูน
    real = world["real"]
    plan = client.get(f"/api/v1/plans/{real}", headers=headers)
    assert plan.status_code == 200
    task = plan.get_json()["tasks"][0]
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=headers).status_code == 200
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={}).status_code == 403
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers).status_code == 403
    assert client.post("/api/v1/plans", headers=headers, json={
        "organization": org.code, "fiscal_year": 2565, "budget_announced_on": "2020-09-20"}).status_code == 403
    assert client.get(f"/api/v1/plans/{real}/verify", headers=headers).status_code == 403  # no auditor
    listed = {p["organization"] for p in client.get("/api/v1/plans?limit=200", headers=headers).get_json()["plans"]}
    assert listed and all(code.startswith("lp") or code == org.code for code in listed)
    with ctx.db.read() as session:
        elsewhere = session.scalar(select(Plan.id).where(Plan.organization_id == world["cm"]["cm00000"]))
    assert client.get(f"/api/v1/plans/{elsewhere}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/plans/{elsewhere}", headers=headers).get_json() == \
        client.get("/api/v1/plans/2000000000", headers=headers).get_json()
    overseer(ctx, "sto-lp-web", OTHER, with_token=False)
    log_in(client, "sto-lp-web")
    assert client.get(f"/plans/{real}").status_code == 200
    assert client.get(f"/plans/{elsewhere}").status_code == 404
    assert post_form(client, f"/tasks/{task['id']}", {}, page=f"/tasks/{task['id']}").status_code in (403, 404)
    with ctx.db.read() as session:
        assert session.get(Plan, real).event_seq == 1  # only its start


def test_the_dashboard_is_refused_to_anyone_overseeing_nothing(ctx, client, world, org):
    assert client.get("/api/v1/oversight", headers=org.headers("admin")).status_code == 403
    assert client.get("/api/v1/oversight", headers=org.headers("auditor")).status_code == 403
    national = admin.add_user(ctx, "n-auditor", None, ["auditor"], with_token=True)
    rows, counts = all_pages(client, {"Authorization": f"Bearer {national}"})
    assert sum(counts.values()) == len(rows) == 151  # the whole country: both provinces and kradangnga


@pytest.mark.parametrize("query", [{"fiscal_year": "abc"}, {"fiscal_year": "1999"}, {"sort": "x"},
                                   {"status": "lost"}, {"type": "city-state"}, {"district": "ก" * 101},
                                   {"after": "not-a-cursor"}, {"limit": "0"}, {"limit": "201"}])
def test_bad_queries_are_told_in_thai(ctx, client, world, query):
    answer = client.get("/api/v1/oversight", headers=overseer(ctx, "sto-cm", PROVINCE), query_string=query)
    assert answer.status_code == 422 and answer.get_json()["title"]


def test_a_cursor_of_one_order_is_refused_by_another(ctx, client, world):
    headers = overseer(ctx, "sto-cm", PROVINCE)
    after = client.get("/api/v1/oversight?limit=5", headers=headers).get_json()["next"]
    assert client.get(f"/api/v1/oversight?after={after}&sort=status", headers=headers).status_code == 422
    assert client.get(f"/api/v1/oversight?after={after}", headers=headers).status_code == 200


def test_each_save_of_a_plan_keeps_its_standing(ctx, client, org):
    run = Procedure(client, org)
    plan_id = run.start(fiscal_year=YEAR, budget_announced_on="2020-09-20")["id"]
    with ctx.db.read() as session:
        standing = session.get(PlanStanding, plan_id)
        assert standing is not None and standing.status == "running" and not standing.missed
        due = standing.due_at
    national = {"Authorization": f"Bearer {admin.add_user(ctx, 'n-admin', None, ['admin'], with_token=True)}"}
    row = client.get("/api/v1/oversight", headers=national, query_string={"fiscal_year": YEAR}).get_json()
    assert row["organizations"][0]["standing"] == "on_time"
    ctx.clock.set(due + timedelta(days=2))
    row = client.get("/api/v1/oversight", headers=national, query_string={"fiscal_year": YEAR}).get_json()
    assert row["organizations"][0]["standing"] == "late" and row["counts"]["late"] == 1
    run.complete(plan_id, "collect_projects")
    with ctx.db.read() as session:
        assert session.get(PlanStanding, plan_id).status == "running"  # rewritten by the save


def test_only_a_national_admin_grants_an_area_and_it_must_have_organizations(ctx, client, org):
    admin.add_user(ctx, "person", org.code, ["executive"], PASSWORD)
    with pytest.raises(Exception) as refused:
        administration.set_oversight(ctx, Actor(None, "x", None, frozenset({(None, "auditor")})), "person",
                                     "จังหวัดทดสอบ")
    assert refused.value.status == 403
    with pytest.raises(Exception) as unknown:
        administration.set_oversight(ctx, NATIONAL_ADMIN, "person", "แอตแลนติส")
    assert unknown.value.status == 422
    admin.add_user(ctx, "boss", None, ["admin"], PASSWORD)
    log_in(client, "boss")
    page = "/admin/users/person"
    assert post_form(client, "/admin/users/person/oversight", {"province": "จังหวัดทดสอบ", "district": ""},
                     page=page).status_code == 302
    assert "กำกับดูแลจังหวัดจังหวัดทดสอบ" in client.get(page).get_data(as_text=True)
    with ctx.db.read() as session:
        assert session.scalar(select(OversightArea.province)) == "จังหวัดทดสอบ"
    assert post_form(client, "/admin/users/person/oversight", {"province": ""}, page=page).status_code == 302
    with ctx.db.read() as session:
        assert session.scalar(select(OversightArea.province)) is None
    log = administration.log_page(ctx, NATIONAL_ADMIN)["entries"]
    assert [e["action"] for e in log[:2]] == ["oversight_removed", "oversight_granted"]
