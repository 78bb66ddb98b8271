"""Bad input gets a clear answer in Thai and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from service.commands import plans as commands
from service.commands import recording
from service.context import Context
from service.models import Event, Plan

from .procedure import PROJECT, SAMPLES, Procedure, complete_at_once


def snapshot(ctx: Context):
    with ctx.db.read() as session:
        plans = [(p.id, p.version, p.state_json) for p in session.query(Plan).order_by(Plan.id)]
        events = session.query(Event).count()
    return plans, events


@pytest.mark.parametrize("body, field", [
    ({"organization": "nowhere", "fiscal_year": 2564, "budget_announced_on": "2020-09-20"}, "/organization"),
    ({"organization": "kradangnga", "fiscal_year": 2499, "budget_announced_on": "2020-09-20"}, "/fiscal_year"),
    ({"organization": "kradangnga", "fiscal_year": 2701, "budget_announced_on": "2020-09-20"}, "/fiscal_year"),
    ({"organization": "kradangnga", "fiscal_year": "2564", "budget_announced_on": "2020-09-20"}, "/fiscal_year"),
    ({"organization": "kradangnga", "fiscal_year": 2564, "budget_announced_on": "20 ก.ย. 2563"},
     "/budget_announced_on"),
    ({"organization": "kradangnga", "fiscal_year": 2564, "budget_announced_on": "2020-02-31"}, "/budget_announced_on"),
    ({"organization": "kradangnga", "fiscal_year": 2564}, "/budget_announced_on"),
    ({"organization": "kradangnga", "fiscal_year": 2564, "budget_announced_on": "2020-09-20", "x": 1}, "/x"),
    ({"organization": "kradangnga", "fiscal_year": 2564, "budget_announced_on": "2020-09-20", "process": "nope"},
     "/process"),
])
def test_starting_a_plan_with_bad_input_is_422_and_changes_nothing(ctx, client, org, body, field):
    before = snapshot(ctx)
    response = client.post("/api/v1/plans", headers=org.headers("support_committee"), json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert field in [e["field"] for e in problem["errors"]]
    assert all(e["message"] for e in problem["errors"])
    assert snapshot(ctx) == before


def test_body_that_is_not_json_is_422(client, org):
    response = client.post("/api/v1/plans", headers={**org.headers("support_committee"),
                                                       "Content-Type": "application/json"}, data=b"{not json")
    assert response.status_code == 422 and "JSON" in response.get_json()["detail"]


def test_no_token_or_a_wrong_token_is_401(client, org):
    assert client.get("/api/v1/tasks").status_code == 401
    response = client.get("/api/v1/tasks", headers={"Authorization": "Bearer phaen_not-a-token"})
    assert response.status_code == 401 and response.get_json()["detail"]


def test_starting_needs_a_starter_role_of_that_organization(ctx, client, org, other_org):
    body = {"organization": org.code, "fiscal_year": 2564, "budget_announced_on": "2020-09-20"}
    assert client.post("/api/v1/plans", headers=org.headers("executive"), json=body).status_code == 403
    assert client.post("/api/v1/plans", headers=other_org.headers("support_committee"), json=body).status_code == 403
    assert snapshot(ctx) == ([], 0)


def test_a_second_plan_for_the_same_year_is_409(client, org):
    run = Procedure(client, org)
    run.start()
    body = {"organization": org.code, "fiscal_year": 2564, "budget_announced_on": "2020-09-21"}
    assert client.post("/api/v1/plans", headers=org.headers("support_committee"), json=body).status_code == 409


@pytest.mark.parametrize("data, field", [
    ({"projects": [{**PROJECT, "budget": -5}]}, "/projects/0/budget"),
    ({"projects": [{**PROJECT, "budget": "5,000"}]}, "/projects/0/budget"),
    ({"projects": [{**PROJECT, "months": [1, 13]}]}, "/projects/0/months/1"),
    ({"projects": [{k: v for k, v in PROJECT.items() if k != "place"}]}, "/projects/0/place"),
    ({"projects": []}, "/projects"),
    ({}, "/projects"),
    ({"projects": [PROJECT], "budget_announced_on": "2021-01-01"}, "/budget_announced_on"),
])
def test_completing_with_bad_form_data_is_422_with_the_field(ctx, client, org, data, field):
    run = Procedure(client, org)
    pid = run.start()["id"]
    before = snapshot(ctx)
    task = run.open_task(pid, "collect_projects")
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=org.headers("support_committee"), json=data)
    assert response.status_code == 422, response.get_json()
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert snapshot(ctx) == before
    assert run.open_names(pid) == ["collect_projects"]


def test_a_task_of_another_role_or_organization_is_403(ctx, client, org, other_org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    task = run.open_task(pid, "collect_projects")
    before = snapshot(ctx)
    for headers in (org.headers("executive"), org.headers("development_committee"), org.headers("auditor"),
                    other_org.headers("support_committee")):
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers,
                               json=SAMPLES["collect_projects"])
        assert response.status_code == 403, response.get_json()
        assert response.get_json()["detail"]
    assert snapshot(ctx) == before
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=other_org.headers("support_committee")).status_code == 404


def test_completing_a_completed_task_is_409(ctx, client, org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    task = run.open_task(pid, "collect_projects")
    run.complete(pid, "collect_projects")
    before = snapshot(ctx)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=org.headers("support_committee"),
                           json=SAMPLES["collect_projects"])
    assert response.status_code == 409 and response.get_json()["detail"]
    assert snapshot(ctx) == before


def test_an_unknown_task_is_404(client, org):
    response = client.post("/api/v1/tasks/00000000-0000-0000-0000-000000000000/complete",
                           headers=org.headers("support_committee"), json={})
    assert response.status_code == 404


def test_two_concurrent_completions_one_wins_one_gets_409(ctx, app, org):
    run = Procedure(app.test_client(), org)
    pid = run.start()["id"]
    task = run.open_task(pid, "collect_projects")
    statuses = complete_at_once(app, org, task["id"], 2)
    assert sorted(statuses) == [200, 409]
    history = run.client.get(f"/api/v1/plans/{pid}/history", headers=org.headers("auditor")).get_json()["events"]
    assert [e["kind"] for e in history] == ["plan_started", "task_completed"]
    assert run.open_names(pid) == ["draft_plan"]


def test_a_save_that_lost_the_race_is_409_and_changes_nothing(ctx, client, org, monkeypatch):
    """The version counter: another writer saved the plan between this command's load and save."""
    run = Procedure(client, org)
    pid = run.start()["id"]
    task = run.open_task(pid, "collect_projects")
    original_save = commands.record

    def save_after_another_writer(session, plan, *args, **kwargs):
        session.execute(text("UPDATE plans SET version = version + 1 WHERE id = :id"), {"id": plan.id})
        return original_save(session, plan, *args, **kwargs)

    monkeypatch.setattr(commands, "record", save_after_another_writer)
    before = snapshot(ctx)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=org.headers("support_committee"),
                           json=SAMPLES["collect_projects"])
    assert response.status_code == 409 and response.get_json()["detail"]
    assert snapshot(ctx) == before


def test_unknown_api_paths_and_methods_answer_problem_json(client, org):
    missing = client.get("/api/v1/nothing-here", headers=org.headers("support_committee"))
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    wrong_method = client.delete("/api/v1/tasks", headers=org.headers("support_committee"))
    assert wrong_method.status_code == 405 and wrong_method.get_json()["title"]


def test_an_unexpected_failure_is_a_thai_500_and_changes_nothing(ctx, client, org, monkeypatch):
    run = Procedure(client, org)
    pid = run.start()["id"]
    task = run.open_task(pid, "collect_projects")
    before = snapshot(ctx)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(recording, "append_event", broken)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=org.headers("support_committee"),
                           json=SAMPLES["collect_projects"])
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    assert "ยังไม่ได้บันทึก" in response.get_json()["detail"]
    assert snapshot(ctx) == before
