"""A designer's bundle can reach nothing outside the sandbox and stop no one (issue 12): forms resolve
references inside themselves only, data is bounded whatever the form says, the timer sweep survives
a plan whose process fails, only national designers publish, and valid models from other modelers
are accepted (a merging gateway, vendor extension ids, a plain task)."""

from __future__ import annotations

import http.server
import threading

import pytest
from sqlalchemy import select, update

from service.commands import admin, incidents
from service.commands import plans as commands
from service.models import Incident, Plan, ProcessVersion

from ..conftest import bangkok
from .procedure import PROJECT, SAMPLES, Procedure
from .test_designer_bad_bundles import BASE, post


@pytest.fixture
def national(ctx):
    return {"Authorization": f"Bearer {admin.add_user(ctx, 'designer-nat', None, ['designer'], with_token=True)}"}


@pytest.fixture
def local_designer(ctx, org):
    return {"Authorization": f"Bearer {admin.add_user(ctx, 'designer-org', org.code, ['designer'], with_token=True)}"}


@pytest.fixture
def listener():
    """A server on loopback that counts every request made to it: a form must never make one."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/evil.schema.json", hits
    server.shutdown()
    server.server_close()


def with_form_field(files: dict[str, bytes], field: str) -> dict[str, bytes]:
    old = '"filled_on": {"type": "string", "format": "date", "title": "วันที่"},'.encode()
    assert old in files["fill.schema.json"]
    return {**files, "fill.schema.json": files["fill.schema.json"].replace(old, field.encode() + b",")}


# --- Forms reach nothing outside themselves ------------------------------------------------
def test_a_remote_ref_is_refused_at_deploy_and_never_fetched(client, national, listener):
    url, hits = listener
    response = post(client, national, with_form_field(BASE, f'"filled_on": {{"$ref": "{url}"}}'))
    assert response.status_code == 422
    assert any(e["code"] == "form_not_schema" and "$ref" in e["message"] for e in response.get_json()["errors"])
    assert hits == []


def test_a_published_form_with_a_remote_ref_answers_422_fetches_nothing_and_changes_nothing(
        ctx, client, org, listener):
    """A version published before the check existed (or edited in the database)."""
    url, hits = listener
    run = Procedure(client, org)
    pid = run.start()["id"]
    with ctx.db.write() as session:
        version = session.scalars(select(ProcessVersion).where(ProcessVersion.name == "operational_plan")).one()
        forms = dict(version.forms)
        form = dict(forms["collect_projects.schema.json"])
        form["properties"] = {**form["properties"], "projects": {"$ref": url}}
        forms["collect_projects.schema.json"] = form
        session.execute(update(ProcessVersion).where(ProcessVersion.id == version.id).values(forms=forms))
    ctx.models = type(ctx.models)()  # the cache holds the version as it was read
    before = run.plan(pid)
    task = run.open_task(pid, "collect_projects")
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=org.headers("support_committee"),
                           json=SAMPLES["collect_projects"])
    assert response.status_code == 422 and "แบบฟอร์ม" in response.get_json()["detail"]
    assert hits == [] and run.plan(pid) == before


# --- Data bounded whatever the form says ---------------------------------------------------
def test_a_list_past_the_system_limit_is_refused_and_changes_nothing(client, org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    task = run.open_task(pid, "collect_projects")
    before = run.plan(pid)
    body = {**SAMPLES["collect_projects"], "projects": [PROJECT] * 5001}
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=org.headers("support_committee"),
                           json=body)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "/projects", "message": "รายการมีได้ไม่เกิน 5,000 รายการ"}]
    assert run.plan(pid) == before


# --- One plan's failure never stops the sweep ----------------------------------------------
def test_a_plan_whose_process_fails_is_an_incident_retried_later_and_the_sweep_goes_on(ctx, client, org, clock,
                                                                                     monkeypatch):
    first, second = Procedure(client, org).start()["id"], Procedure(client, org).start(fiscal_year=2565)["id"]
    real = commands.record

    def fails_on_first(session, plan, *args, **kwargs):
        if plan.id == first:
            raise SystemError("the process of this plan is broken")
        return real(session, plan, *args, **kwargs)

    monkeypatch.setattr(commands, "record", fails_on_first)
    clock.set(bangkok(2021, 1, 10, 9, 0))  # past the 30-day budget deadline (ข้อ 27) of both plans
    fired = dict(commands.fire_due_timers(ctx))
    assert second in fired and first not in fired  # the sweep went past the broken plan
    with ctx.db.read() as session:
        incident = session.scalars(select(Incident).where(Incident.plan_id == first)).one()
        assert incident.failures == 1 and incident.resolved_at is None and "broken" in incident.message
        assert session.get(Plan, first).next_timer_at == clock.now() + incidents.FIRST_PAUSE

    assert commands.fire_due_timers(ctx) == []  # held back until its retry time
    clock.advance(minutes=5)
    commands.fire_due_timers(ctx)
    with ctx.db.read() as session:
        assert session.scalars(select(Incident).where(Incident.plan_id == first)).one().failures == 2
        assert session.get(Plan, first).next_timer_at == clock.now() + 2 * incidents.FIRST_PAUSE

    monkeypatch.undo()  # the process is mended: the next retry moves the plan on and ends the incident
    clock.advance(minutes=10)
    assert first in dict(commands.fire_due_timers(ctx))
    with ctx.db.read() as session:
        assert session.scalars(select(Incident).where(Incident.plan_id == first)).one().resolved_at == clock.now()


def test_the_pause_grows_and_stops_at_a_day():
    assert [incidents.pause_after(n).total_seconds() / 60 for n in (1, 2, 3)] == [5, 10, 20]
    assert incidents.pause_after(50) == incidents.LONGEST_PAUSE


# --- Who publishes ---------------------------------------------------------------------------
def test_an_organizations_designer_checks_but_only_a_national_designer_publishes(client, national, local_designer):
    checked = post(client, local_designer, BASE, validate_only="1")
    assert checked.status_code == 200 and checked.get_json()["ok"]
    refused = post(client, local_designer, BASE)
    assert refused.status_code == 403 and "ระดับประเทศ" in refused.get_json()["detail"]
    assert post(client, national, BASE).status_code == 201


# --- Valid models from other modelers are accepted --------------------------------------------
MERGE = (b'<bpmn:sequenceFlow id="f_ok" sourceRef="decide" targetRef="wait" />',
         b'<bpmn:sequenceFlow id="f_ok" sourceRef="decide" targetRef="merge" />'
         b'<bpmn:exclusiveGateway id="merge"><bpmn:incoming>f_ok</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming>'
         b'<bpmn:outgoing>f_merged</bpmn:outgoing></bpmn:exclusiveGateway>'
         b'<bpmn:sequenceFlow id="f_merged" sourceRef="merge" targetRef="wait" />')


def edited(*changes: tuple[bytes, bytes]) -> dict[str, bytes]:
    bpmn = BASE["sample.bpmn"]
    for old, new in changes:
        assert old in bpmn
        bpmn = bpmn.replace(old, new)
    return {**BASE, "sample.bpmn": bpmn}


@pytest.mark.parametrize("changes", [
    pytest.param([MERGE,
                  (b'<bpmn:sequenceFlow id="f3" sourceRef="note" targetRef="wait" />',
                   b'<bpmn:sequenceFlow id="f3" sourceRef="note" targetRef="merge" />'),
                  (b"<bpmn:incoming>f_ok</bpmn:incoming>\n      <bpmn:incoming>f3</bpmn:incoming>",
                   b"<bpmn:incoming>f_merged</bpmn:incoming>")], id="a converging gateway with no condition"),
    pytest.param([(b'<spiffworkflow:properties>',
                   b'<zeebe:ioMapping xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="io" />'
                   b'<zeebe:ioMapping xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="io" />'
                   b'<spiffworkflow:properties>')], id="vendor extension elements repeating an id"),
    pytest.param([('<bpmn:scriptTask id="note" name="บันทึกหมายเหตุ">'.encode(),
                   b'<bpmn:task id="note" name="a plain task">'),
                  (b'<bpmn:script>noted = decision == "revise"</bpmn:script>\n    </bpmn:scriptTask>',
                   b'</bpmn:task>')], id="a plain task, which passes through"),
])
def test_valid_models_are_accepted_and_run_to_the_end(client, national, changes):
    response = post(client, national, edited(*changes), validate_only="1")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["ok"] and all(run["finished"] for run in report["dry_run"]), report


def test_the_dry_run_names_the_step_whose_script_failed(client, national):
    failing = edited((b'<bpmn:script>noted = decision == "revise"</bpmn:script>',
                      b'<bpmn:script>noted = 1 / 0</bpmn:script>'))
    response = post(client, national, failing, validate_only="1")
    assert response.status_code == 422
    failed = [e for e in response.get_json()["errors"] if e["code"] == "dry_run_failed"]
    assert failed and all("บันทึกหมายเหตุ" in e["message"] for e in failed), failed


def test_the_console_lists_the_open_incidents(ctx, client, org, clock, monkeypatch):
    from click.testing import CliRunner

    from service import cli

    pid = Procedure(client, org).start()["id"]
    monkeypatch.setattr(commands, "record", lambda *args, **kwargs: (_ for _ in ()).throw(ValueError("broken")))
    clock.set(bangkok(2021, 1, 10, 9, 0))
    commands.fire_due_timers(ctx)
    monkeypatch.setattr(cli, "_context", lambda: ctx)
    listed = CliRunner().invoke(cli.main, ["timers", "incidents"])
    assert listed.exit_code == 0
    assert f"plan {pid} ({org.code})" in listed.output and "ValueError: broken" in listed.output
