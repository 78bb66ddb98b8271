"""Process designers change the procedure without code: deploy from the API, the CLI and the
web page with the same checks; running plans stay on their version; migration by an admin."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from service import audit, cli
from service.bundles import intake
from service.commands import admin
from service.commands import plans as commands
from service.models import Event, ProcessVersion

from ..conftest import bangkok
from .procedure import Procedure
from .web import PASSWORD, add_person, csrf_token, log_in

ROOT = Path(__file__).parents[2]
V1 = ROOT / "processes" / "operational_plan"
V2 = ROOT / "tests" / "fixtures" / "operational_plan_v2"


def bundle(folder: Path = V2) -> dict[str, bytes]:
    return intake.files_of_folder(folder, ROOT / "forms")


def multipart(files: dict[str, bytes], **fields) -> dict:
    return {**fields, "files": [(io.BytesIO(content), name) for name, content in files.items()]}


def zipped(files: dict[str, bytes], folder: str = "bundle/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(folder + name, content)
    return buffer.getvalue()


@pytest.fixture
def designer_headers(ctx, org):
    token = admin.add_user(ctx, "designer-1", None, ["designer"], with_token=True)
    return {"Authorization": f"Bearer {token}"}


def verify_events(ctx, plan_id: int) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(Event).where(Event.plan_id == plan_id))


def versions(ctx) -> int:
    """Versions of operational_plan (other shipped processes, e.g. amendment, are published too)."""
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(ProcessVersion)
                              .where(ProcessVersion.name == "operational_plan"))


def deploy(client, headers, files=None, **fields):
    return client.post("/api/v1/processes", headers=headers, data=multipart(files or bundle(), **fields),
                       content_type="multipart/form-data")


def test_regulation_change_running_plans_keep_their_version(ctx, client, org, clock, designer_headers):
    run = Procedure(client, org)
    before = run.start(fiscal_year=2564)["id"]
    run.through_announcement(before)  # announced 1 Oct 2020 under version 1: post within 15 days
    assert run.deadline(before, "posting_deadline")["due_on"] == "2020-10-16"

    checked = deploy(client, designer_headers, validate_only="1")
    # checked, simulated, diffed, not stored
    assert checked.status_code == 200 and versions(ctx) == 1, checked.get_json()
    response = deploy(client, designer_headers)
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["version"] == 2 and report["published"] and report["problems"] == []
    changes = report["diff"]["changes"]
    assert report["diff"]["against_version"] == 1
    assert {(c["key"], c["change"]) for c in changes["tasks"]} >= {("review_posting", "added")}
    assert ("สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัด", "added") in {(c["key"], c["change"]) for c in changes["lanes"]}
    timer = next(c for c in changes["timers"] if c["key"] == "posting_deadline")
    assert timer["before"]["expression"] == "legal_deadline(announced_on, 15)"
    assert timer["after"]["expression"] == "legal_deadline(announced_on, 10)"
    assert [c["key"] for c in changes["forms"]] == ["review_posting.schema.json"]
    assert all(r["finished"] for r in report["dry_run"]) and len(report["dry_run"]) == 5
    assert any(s.get("id") == "review_posting" for s in report["dry_run"][0]["steps"])
    assert deploy(client, designer_headers).status_code == 200  # the same bundle again: no version 3

    listed = client.get("/api/v1/processes", headers=designer_headers).get_json()["processes"]
    ours = next(entry for entry in listed if entry["name"] == "operational_plan")
    assert [v["version"] for v in ours["versions"]] == [2, 1]

    admin.add_user(ctx, "province", org.code, ["provincial_office"], with_token=True)
    org.tokens["provincial_office"] = admin.issue_token(ctx, "province")
    after = run.start(fiscal_year=2565)["id"]
    assert run.plan(after)["process"]["version"] == 2
    run.through_announcement(after)
    assert run.deadline(after, "posting_deadline")["due_on"] == "2020-10-12"  # 11 Oct is a Sunday
    assert run.plan(before)["process"]["version"] == 1
    assert run.deadline(before, "posting_deadline")["due_on"] == "2020-10-16"

    clock.set(bangkok(2020, 10, 2, 10, 0))
    for plan_id in (before, after):
        run.complete(plan_id, "post_announcement")
    clock.set(bangkok(2020, 11, 2, 0, 0))
    commands.fire_due_timers(ctx)
    for plan_id in (before, after):
        run.complete(plan_id, "certify_posting")
    assert run.plan(before)["status"] == "completed"
    assert run.open_names(after) == ["review_posting"]
    run.complete(after, "review_posting", {"reviewed_on": "2020-11-25", "review_result": "complete"},
                 role="provincial_office")
    assert run.plan(after)["status"] == "completed"


def test_zip_upload_and_designers_only(ctx, client, org, designer_headers):
    files = bundle()
    assert client.post("/api/v1/processes", headers=org.headers("admin"), data=multipart(files),
                       content_type="multipart/form-data").status_code == 403
    assert client.get("/api/v1/processes", headers=org.headers("executive")).status_code == 403
    assert client.get("/api/v1/processes").status_code == 401
    response = client.post("/api/v1/processes", headers=designer_headers,
                           data={"files": (io.BytesIO(zipped(files)), "v2.zip")}, content_type="multipart/form-data")
    assert response.status_code == 201 and response.get_json()["version"] == 2
    raw = client.post("/api/v1/processes?validate_only=1",
                      headers={**designer_headers, "Content-Type": "application/zip"},
                      data=zipped(files, ""))
    assert raw.status_code == 200 and raw.get_json()["diff"]["against_version"] == 2


def test_problems_in_thai_or_english_with_file_and_line(ctx, client, designer_headers):
    files = bundle()
    files["operational_plan.bpmn"] = files["operational_plan.bpmn"].replace(
        b"legal_deadline(announced_on, 10)", b"P10D")
    del files["review_posting.schema.json"]
    thai = deploy(client, designer_headers, files)
    assert thai.status_code == 422 and thai.mimetype == "application/problem+json"
    errors = thai.get_json()["errors"]
    assert {e["code"] for e in errors} == {"timer_unquoted", "form_missing"}  # every problem at once
    timer = next(e for e in errors if e["code"] == "timer_unquoted")
    assert timer["file"] == "operational_plan.bpmn" and timer["line"] > 1
    assert 'เขียน "P10D"' in timer["message"]
    english = deploy(client, designer_headers, files, lang="en").get_json()["errors"]
    assert any('write "P10D"' in e["message"] for e in english)
    assert versions(ctx) == 1


def test_migration_accepted_ahead_and_refused_behind(ctx, client, org, clock, designer_headers, tmp_path):
    run = Procedure(client, org)
    early = run.start(fiscal_year=2564)["id"]
    late = run.start(fiscal_year=2565)["id"]
    run.through_announcement(late)
    assert deploy(client, designer_headers).status_code == 201

    assert client.post(f"/api/v1/plans/{early}/migrate", headers=org.headers("executive"), json={}).status_code == 403
    moved = client.post(f"/api/v1/plans/{early}/migrate", headers=org.headers("admin"), json={"version": 2})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["from_version"] == 1 and moved.get_json()["to_version"] == 2
    assert run.plan(early)["process"]["version"] == 2
    with ctx.db.read() as session:
        event = session.scalars(select(Event).where(Event.plan_id == early).order_by(Event.seq.desc())).first()
        assert event.kind == "version_migrated" and event.actor == "kradangnga-admin"
        assert event.data["from_version"] == 1 and event.data["to_version"] == 2

    refused = client.post(f"/api/v1/plans/{late}/migrate", headers=org.headers("admin"), json={})
    assert refused.status_code == 409
    body = refused.get_json()
    assert {e["field"] for e in body["errors"]} >= {"posting_deadline", "post_announcement"}
    assert run.plan(late)["process"]["version"] == 1

    run.through_announcement(early)
    assert run.deadline(early, "posting_deadline")["due_on"] == "2020-10-12"  # the new 10-day rule
    run.complete(early, "post_announcement")
    clock.set(bangkok(2020, 11, 2, 0, 0))
    commands.fire_due_timers(ctx)
    run.complete(early, "certify_posting")
    assert run.open_names(early) == ["review_posting"]

    # The migrated plan's history still verifies: replayed on version 1, then moved to version 2.
    assert audit.verify_plan(ctx, early).first_divergence is None
    exported = tmp_path / "early.json"
    exported.write_bytes(audit.export_bundle(ctx, early))
    offline = audit.verify_bundle(exported)
    assert offline.first_divergence is None and offline.events == verify_events(ctx, early)


def test_cli_deploy_list_and_check_only(ctx, settings, org, monkeypatch):
    admin.add_user(ctx, "designer-cli", None, ["designer"])
    monkeypatch.setattr(cli, "_context", lambda: ctx)
    runner = CliRunner()
    refused = runner.invoke(cli.main, ["process", "deploy", str(V2), "--user", "kradangnga-executive"])
    assert refused.exit_code == 1 and "ผู้ออกแบบกระบวนงาน" in refused.output
    checked = runner.invoke(cli.main, ["process", "deploy", str(V2), "--user", "designer-cli", "--check-only"])
    assert checked.exit_code == 0, checked.output
    assert "added task review_posting" in checked.output and versions(ctx) == 1
    published = runner.invoke(cli.main, ["process", "deploy", str(V2), "--user", "designer-cli"])
    assert published.exit_code == 0 and "version 2 published" in published.output
    listed = runner.invoke(cli.main, ["process", "list"])
    assert "operational_plan\t2\t" in listed.output and "operational_plan\t1\t" in listed.output


def test_web_page_checks_shows_diff_then_publishes(ctx, app, org):
    client = app.test_client()
    add_person(ctx, "page-designer", None, ["designer"])
    add_person(ctx, "page-executive", org.code, ["executive"])
    log_in(client, "page-executive")
    assert client.get("/designer/").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    log_in(client, "page-designer", PASSWORD)
    page = client.get("/designer/")
    assert page.status_code == 200 and "operational_plan" in page.get_data(as_text=True)
    token = csrf_token(client, "/designer/")
    files = bundle()
    checked = client.post("/designer/check", data={"csrf_token": token, **multipart(files)},
                          content_type="multipart/form-data")
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "review_posting" in html and "legal_deadline(announced_on, 10)" in html
    assert versions(ctx) == 1
    carried = html.split('name="bundle" value="')[1].split('"')[0]
    done = client.post("/designer/publish", data={"csrf_token": token, "bundle": carried, "expected_version": "1"})
    assert done.status_code == 302 and versions(ctx) == 2
    stale = client.post("/designer/publish", data={"csrf_token": token, "bundle": carried, "expected_version": "1"})
    assert stale.status_code == 409  # another version was published after this diff was shown
    files["operational_plan.bpmn"] = b"<not xml"
    bad = client.post("/designer/check", data={"csrf_token": token, **multipart(files)},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "operational_plan.bpmn:1" in bad.get_data(as_text=True)
