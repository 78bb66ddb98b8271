"""Organizations are isolated: no endpoint shows or changes another organization's plans."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from service.commands import admin
from service.models import Organization, User

from .procedure import SAMPLES, Procedure


@pytest.fixture
def national(ctx):
    return {"Authorization": f"Bearer {admin.add_user(ctx, 'dla-admin', None, ['admin'], with_token=True)}"}


def test_a_national_admin_creates_an_organization_and_its_first_users(ctx, client, national):
    body = {"code": "chiangkhan", "name": "เทศบาลตำบลเชียงคาน", "province": "เลย",
            "users": [{"username": "ck-support", "roles": ["support_committee"]},
                      {"username": "ck-mayor", "roles": ["executive"], "display_name": "นายกเทศมนตรี"}]}
    response = client.post("/api/v1/organizations", headers=national, json=body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["organization"]["name"] == "เทศบาลตำบลเชียงคาน"
    token = {u["username"]: u["token"] for u in created["users"]}
    start = client.post("/api/v1/plans", headers={"Authorization": f"Bearer {token['ck-support']}"},
                        json={"organization": "chiangkhan", "fiscal_year": 2569, "budget_announced_on": "2020-09-20"})
    assert start.status_code == 201
    listed = client.get("/api/v1/organizations", headers=national).get_json()["organizations"]
    assert [o["code"] for o in listed] == ["chiangkhan"]


@pytest.mark.parametrize("body, status", [
    ({"code": "x y", "name": "ก"}, 422),
    ({"name": "ไม่มีรหัส"}, 422),
    ({"code": "okcode", "name": "ก", "users": [{"username": "u1", "roles": ["support_committee"]},
                                             {"username": "u2", "roles": ["mayor"]}]}, 422),
    ({"code": "okcode", "name": "ก", "users": [{"username": "u1", "roles": ["executive"]},
                                             {"username": "u1", "roles": ["executive"]}]}, 409),
    ({"code": "okcode", "name": "ก", "users": "u1"}, 422),
])
def test_a_bad_organization_request_creates_nothing(ctx, client, national, body, status):
    response = client.post("/api/v1/organizations", headers=national, json=body)
    assert response.status_code == status, response.get_json()
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Organization)) == 0
        assert session.scalar(select(func.count()).select_from(User)) == 1  # the national admin only


def test_only_a_national_admin_creates_organizations(client, org):
    response = client.post("/api/v1/organizations", headers=org.headers("admin"), json={"code": "z", "name": "ก"})
    assert response.status_code == 403


def test_an_auditor_assigned_two_organizations_sees_those_two_only(ctx, client, org, other_org):
    from ..conftest import Org

    third = Org(ctx, "third", "องค์การบริหารส่วนจังหวัดทดสอบ")
    plans = {o.code: Procedure(client, o).start()["id"] for o in (org, other_org, third)}
    token = admin.add_user(ctx, "sao-auditor", org.code, ["auditor"], with_token=True)
    admin.grant_role(ctx, "sao-auditor", other_org.code, "auditor")
    headers = {"Authorization": f"Bearer {token}"}
    seen = client.get("/api/v1/plans", headers=headers).get_json()["plans"]
    assert sorted(p["organization"] for p in seen) == sorted([org.code, other_org.code])
    assert client.get(f"/api/v1/plans/{plans['third']}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/plans/{plans[other_org.code]}/history", headers=headers).status_code == 200
    task = Procedure(client, other_org).open_task(plans[other_org.code], "collect_projects")
    complete = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json=SAMPLES["collect_projects"])
    assert complete.status_code == 403


def test_no_api_endpoint_leaks_across_organizations(ctx, app, client, org, other_org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    task = run.open_task(pid, "collect_projects")
    secret = "เทศบาลตำบลกระดังงา"
    values = {"plan_id": str(pid), "task_id": task["id"], "id": str(pid)}
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or not rule.arguments:
            continue
        path = re.sub(r"<(?:[\w()=,]+:)?(\w+)>", lambda m: values.get(m.group(1), "pdf"), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role in ("support_committee", "development_committee", "executive", "planning_office",
                         "admin", "auditor"):
                response = client.open(path, method=method, headers=other_org.headers(role), json={})
                assert response.status_code in (403, 404), (method, path, role, response.status_code)
                assert secret not in response.get_data(as_text=True)
                checked += 1
    assert checked >= 6 * 4
    assert run.open_names(pid) == ["collect_projects"]
