"""The in-browser modeler's server side: designers only, CSRF on every POST, only bpmn-js's own
files served, drafts that are not versions, validation through the same checks as deploy; and
the XML bpmn-js itself exports after an edit parses, deploys and runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service import engine, queries
from service.commands import designer
from service.models import Draft, ProcessVersion
from service.web import designer as designer_web

from .procedure import Procedure
from .web import add_person, csrf_token, log_in

ROOT = Path(__file__).parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
BPMN_JS = designer_web.BPMN_JS_DIST / "bpmn-modeler.production.min.js"


@pytest.fixture
def page_client(ctx, app, org):
    """A designer logged in to the pages, and the CSRF token the modeler page hands its script."""
    client = app.test_client()
    add_person(ctx, "modeler-designer", None, ["designer"])
    log_in(client, "modeler-designer")
    page = client.get("/designer/modeler/operational_plan").get_data(as_text=True)
    client.csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    return client


def v1_files(ctx) -> dict[str, str]:
    return queries.version_files(ctx, "operational_plan", 1)


def files_on(html: str) -> dict[str, str]:
    """The bundle files a modeler page hands its script."""
    return json.loads(re.search(r'<script type="application/json" id="modeler-files">(.*?)</script>', html, re.S)
                      .group(1))


def post_json(client, path, body, csrf=True):
    return client.post(path, json=body, headers={"X-CSRFToken": client.csrf} if csrf else {})


def drafts(ctx) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(Draft))


def versions(ctx) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).where(ProcessVersion.name == "operational_plan"))


def test_designers_only(ctx, app, org):
    client = app.test_client()
    assert client.get("/designer/modeler/operational_plan").status_code == 302  # to the log-in page
    add_person(ctx, "modeler-executive", org.code, ["executive"])
    log_in(client, "modeler-executive")
    assert client.get("/designer/modeler/operational_plan").status_code == 403
    token = csrf_token(client, "/")
    headers = {"X-CSRFToken": token}
    body = {"files": v1_files(ctx)}
    assert client.post("/designer/modeler/operational_plan/validate", json=body, headers=headers).status_code == 403
    assert client.post("/designer/modeler/operational_plan/drafts", json=body, headers=headers).status_code == 403
    assert client.post("/designer/drafts/1/check", data={"csrf_token": token}).status_code == 403
    assert drafts(ctx) == 0


def test_page_opens_a_version_with_its_files(ctx, page_client):
    page = page_client.get("/designer/modeler/operational_plan?version=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="modeler-canvas"' in html
    files = files_on(html)
    assert set(files) >= {"operational_plan.bpmn", "roles.json", "process.json", "collect_projects.schema.json"}
    assert "/designer/vendor/bpmn-js/bpmn-modeler.production.min.js" in html
    assert page_client.get("/designer/modeler/no_such_process").status_code == 404
    assert page_client.get("/designer/modeler/operational_plan?version=9").status_code == 404
    assert page_client.get("/designer/").get_data(as_text=True).count("/designer/modeler/operational_plan") >= 2
    assert 'href="/designer/"' in html  # the navigation links designers to their pages


@pytest.mark.skipif(not BPMN_JS.is_file(), reason="bpmn-js is not installed (make setup runs npm ci)")
def test_only_the_bpmn_js_files_are_served(client):
    with client.get("/designer/vendor/bpmn-js/bpmn-modeler.production.min.js") as script:
        assert script.status_code == 200 and "javascript" in script.mimetype
        assert b"bpmn-js - bpmn-modeler" in script.data[:200]
    for name in ("assets/diagram-js.css", "assets/bpmn-js.css", "assets/bpmn-font/css/bpmn-embedded.css"):
        with client.get(f"/designer/vendor/bpmn-js/{name}") as style:
            assert style.status_code == 200 and style.mimetype == "text/css", name
    for name in ("bpmn-viewer.development.js", "../package.json", "../../bpmn-moddle/package.json",
                 "%2e%2e/package.json", "assets/bpmn-font/font/bpmn.woff"):
        assert client.get(f"/designer/vendor/bpmn-js/{name}").status_code == 404, name


def test_draft_needs_the_csrf_header_and_is_no_version(ctx, page_client):
    files = v1_files(ctx)
    files["operational_plan.bpmn"] = files["operational_plan.bpmn"].replace("รวบรวมโครงการ/กิจกรรม", "รวบรวมโครงการ")
    assert post_json(page_client, "/designer/modeler/operational_plan/drafts", {"files": files},
                     csrf=False).status_code == 400
    saved = post_json(page_client, "/designer/modeler/operational_plan/drafts", {"files": files, "based_on": 1})
    assert saved.status_code == 201, saved.get_json()
    draft = saved.get_json()
    assert draft["saved_by"] == "modeler-designer" and draft["based_on_version"] == 1
    assert draft["url"] == f"/designer/modeler/operational_plan?draft={draft['id']}"
    assert drafts(ctx) == 1 and versions(ctx) == 1  # a draft is not a version

    reopened = page_client.get(draft["url"]).get_data(as_text=True)
    assert f"ร่างที่ {draft['id']}" in reopened
    assert 'name="รวบรวมโครงการ"' in files_on(reopened)["operational_plan.bpmn"]
    assert page_client.get(f"/designer/modeler/amendment?draft={draft['id']}").status_code == 404
    assert f"ร่างที่ {draft['id']}" in page_client.get("/designer/").get_data(as_text=True)

    bad = post_json(page_client, "/designer/modeler/operational_plan/drafts",
                    {"files": {**files, "../evil.json": "{}"}})
    assert bad.status_code == 422 and "ชื่อไฟล์ใช้ไม่ได้" in bad.get_json()["detail"]
    assert post_json(page_client, "/designer/modeler/operational_plan/drafts", {"files": "nope"}).status_code == 422
    assert post_json(page_client, "/designer/modeler/Bad-Name/drafts", {"files": files}).status_code == 422
    assert drafts(ctx) == 1


def test_validate_lists_thai_findings_with_file_and_line(ctx, page_client):
    files = v1_files(ctx)
    ok = post_json(page_client, "/designer/modeler/operational_plan/validate", {"files": files})
    assert ok.status_code == 200 and ok.get_json()["ok"] and ok.get_json()["diff"]["against_version"] == 1
    files["operational_plan.bpmn"] = files["operational_plan.bpmn"].replace("legal_deadline(announced_on, 15)", "P15D")
    files["collect_projects.schema.json"] = '{"type": "object",\n "properties": }'
    report = post_json(page_client, "/designer/modeler/operational_plan/validate", {"files": files}).get_json()
    assert not report["ok"] and drafts(ctx) == 0
    found = {p["code"]: p for p in report["problems"]}
    timer = found["timer_unquoted"]
    line = files["operational_plan.bpmn"].splitlines().index(
        next(x for x in files["operational_plan.bpmn"].splitlines() if ">P15D<" in x)) + 1
    assert timer["file"] == "operational_plan.bpmn" and timer["line"] == line
    assert 'เขียน "P15D" แทน P15D' in timer["message"]
    assert found["json_invalid"]["file"] == "collect_projects.schema.json" and found["json_invalid"]["line"] == 2
    assert post_json(page_client, "/designer/modeler/operational_plan/validate", {"files": files},
                     csrf=False).status_code == 400


def test_a_draft_goes_through_check_diff_confirm(ctx, page_client):
    files = v1_files(ctx)
    files["operational_plan.bpmn"] = files["operational_plan.bpmn"].replace(
        "legal_deadline(announced_on, 15)", "legal_deadline(announced_on, 10)")
    draft = post_json(page_client, "/designer/modeler/operational_plan/drafts", {"files": files}).get_json()
    token = csrf_token(page_client, "/designer/")
    assert page_client.post(f"/designer/drafts/{draft['id']}/check").status_code == 400  # no CSRF token
    checked = page_client.post(f"/designer/drafts/{draft['id']}/check", data={"csrf_token": token})
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "legal_deadline(announced_on, 10)" in html
    assert versions(ctx) == 1
    carried = html.split('name="bundle" value="')[1].split('"')[0]
    done = page_client.post("/designer/publish", data={"csrf_token": token, "bundle": carried, "expected_version": "1"})
    assert done.status_code == 302 and versions(ctx) == 2
    assert page_client.post("/designer/drafts/999/check", data={"csrf_token": token}).status_code == 404


@pytest.mark.skipif(not BPMN_JS.is_file() or not Path(CHROMIUM).exists(),
                    reason="needs bpmn-js (make setup) and Debian's chromium")
def test_xml_exported_by_bpmn_js_after_edits_parses_deploys_and_runs(ctx, client, org):
    """bpmn-js, with this project's modeler script, renames a task, rebuilds its form property from
    nothing and changes a timer; the XML it writes is what the engine then runs."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    files = v1_files(ctx)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        page.set_content('<div id="canvas" style="width:1200px;height:800px"></div>')
        page.add_script_tag(path=str(BPMN_JS))
        page.add_script_tag(path=str(ROOT / "service" / "static" / "modeler.js"))
        exported = page.evaluate("""async (xml) => {
            const P = window.PhaenModeler;
            const modeler = new BpmnJS({container: "#canvas", moddleExtensions: {spiffworkflow: P.extension}});
            const imported = await modeler.importXML(xml);
            const registry = modeler.get("elementRegistry");
            const task = registry.get("collect_projects");
            P.setName(modeler, task, "รวบรวมโครงการและกิจกรรมพัฒนา");
            modeler.get("modeling").updateProperties(task, {extensionElements: undefined});
            P.setProperty(modeler, task, P.FORM_PROPERTY, "collect_projects.schema.json");
            P.setTimer(modeler, registry.get("posting_deadline"), "timeDate", "legal_deadline(announced_on, 10)");
            const saved = await modeler.saveXML({format: true});
            return {xml: saved.xml, warnings: imported.warnings.map(w => w.message),
                    form: P.property(task, P.FORM_PROPERTY)};
        }""", files["operational_plan.bpmn"])
        browser.close()
    assert exported["warnings"] == [] and exported["form"] == "collect_projects.schema.json"
    xml = exported["xml"]
    assert xml != files["operational_plan.bpmn"] and 'name="รวบรวมโครงการและกิจกรรมพัฒนา"' in xml
    assert '<spiffworkflow:property name="deadlineBasis"' in xml  # the properties it did not edit are kept

    model = engine.parse_process({"operational_plan.bpmn": xml.encode()})
    assert model.user_tasks["collect_projects"]["properties"][engine.FORM_PROPERTY] == "collect_projects.schema.json"

    add_person(ctx, "export-designer", None, ["designer"])
    report = designer.deploy(ctx, queries.actor_named(ctx, "export-designer"),
                             {**{k: v.encode() for k, v in files.items()}, "operational_plan.bpmn": xml.encode()})
    assert report.ok and report.published and report.version == 2, [str(p) for p in report.problems]
    assert all(run.finished for run in report.runs)
    run = Procedure(client, org)
    plan = run.start()
    assert run.plan(plan["id"])["process"]["version"] == 2
    assert run.open_task(plan["id"], "collect_projects")["title"] == "รวบรวมโครงการและกิจกรรมพัฒนา"
    run.through_announcement(plan["id"])
    assert run.deadline(plan["id"], "posting_deadline")["due_on"] == "2020-10-12"  # the 10-day rule
