"""The designer's pages: the processes and their versions, upload a bundle (files or a zip),
see its problems or its diff and dry run, then confirm to publish; and the in-browser modeler
(bpmn-js, served from node_modules) that edits a version into drafts, validates and publishes."""

from __future__ import annotations

import base64
import json

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import http, labels, queries
from service.auth import require_designer
from service.bundles.findings import BundleRejected
from service.commands import designer
from service.config import SOURCE_ROOT
from service.errors import Invalid, NotFound
from service.http import ctx, uploaded_files
from service.web.auth import actor

bp = Blueprint("designer_web", __name__, url_prefix="/designer")
CHANGE_KINDS = {"tasks": "งาน", "lanes": "เลน/บทบาท", "forms": "แบบฟอร์ม", "timers": "กำหนดเวลา"}
CHANGES = {"added": "เพิ่ม", "removed": "ลบ", "changed": "แก้ไข"}
#: bpmn-js as `make setup` installs it (package.json); only these files of it are served.
BPMN_JS_DIST = SOURCE_ROOT / "node_modules" / "bpmn-js" / "dist"
BPMN_JS_FILES = {"bpmn-modeler.production.min.js", "assets/diagram-js.css", "assets/bpmn-js.css",
                 "assets/bpmn-font/css/bpmn-embedded.css"}


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """:raise 403: the user is no process designer."""
    require_designer(actor())
    return render_template("designer/index.html", processes=queries.processes(ctx()), drafts=queries.drafts(ctx()))


@bp.post("/check")
@login_required
def check() -> ResponseReturnValue:
    """Check an upload and show the problems, or the diff and the dry run with a confirm button."""
    require_designer(actor())
    try:
        files = uploaded_files()
    except BundleRejected as err:
        report, files = designer.Report("", False, err.findings), {}
    else:
        report, _ = designer.validate(ctx(), files)
    return _report_page(report, files)


def _report_page(report: designer.Report, files: dict[str, bytes]) -> ResponseReturnValue:
    """The problems, or the diff and the dry run with the checked files carried to the confirm button."""
    carried = base64.b64encode(json.dumps({k: base64.b64encode(v).decode() for k, v in files.items()})
                               .encode()).decode() if report.ok else ""
    return render_template("designer/report.html", report=report, carried=carried, kinds=CHANGE_KINDS,
                           changes=CHANGES, title=_title(report.name)), 200 if report.ok else 422


@bp.post("/publish")
@login_required
def publish() -> ResponseReturnValue:
    """Publish the bundle the designer has just seen checked (every check runs again)."""
    require_designer(actor())
    try:
        files = {k: base64.b64decode(v) for k, v in json.loads(base64.b64decode(request.form["bundle"])).items()}
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise Invalid("ไม่พบชุดไฟล์ที่ตรวจแล้ว กรุณาอัปโหลดใหม่") from err
    expected = request.form.get("expected_version", "")
    report = designer.deploy(ctx(), actor(), files, expected_version=http.integer(expected) or 0)
    if not report.ok:
        return render_template("designer/report.html", report=report, carried="", kinds=CHANGE_KINDS,
                               changes=CHANGES, title=_title(report.name)), 422
    version = labels.process_version(report.version)
    flash(f"เผยแพร่กระบวนงาน{_title(report.name)} {version} แล้ว แผนที่เริ่มใหม่จะใช้ฉบับนี้"
          if report.published else f"กระบวนงาน{_title(report.name)} ไม่เปลี่ยนจาก{version}", "success")
    return redirect(url_for("designer_web.index"))


# --- The modeler ------------------------------------------------------------------------------
@bp.get("/modeler/<name>")
@login_required
def modeler(name: str) -> ResponseReturnValue:
    """Open the latest version of a process (``?version=N`` an older one, ``?draft=ID`` a draft).
    :raise 404: no such process, version or draft."""
    require_designer(actor())
    draft_id, version = request.args.get("draft", ""), request.args.get("version", "")
    draft_number = http.integer(draft_id)
    if draft_number is not None:
        opened = queries.draft(ctx(), actor(), draft_number)
        if opened["name"] != name:
            raise NotFound(f"ไม่พบร่างที่ {draft_id} ของกระบวนงาน {name}")
        source = {"draft": opened["id"], "based_on": opened["based_on_version"], "saved_by": opened["saved_by"],
                  "saved_at": opened["saved_at"]}
        files = opened["files"]
    else:
        number = http.integer(version, 1)
        files = queries.version_files(ctx(), name, number)
        source = {"draft": None, "based_on": number or _latest_version(name)}
    return render_template("designer/modeler.html", name=name, title=_title(name), files=files, source=source,
                           installed=(BPMN_JS_DIST / "bpmn-modeler.production.min.js").is_file())


def _latest_version(name: str) -> int | None:
    return next((p["latest"] for p in queries.processes(ctx()) if p["name"] == name), None)


def _title(name: str) -> str:
    """A process as people call it (its process.json title); a process not published yet by its name."""
    return next((p["title"] for p in queries.processes(ctx()) if p["name"] == name and p.get("title")), name)


@bp.get("/vendor/bpmn-js/<path:filename>")
def bpmn_js(filename: str) -> ResponseReturnValue:
    """The bpmn-js Modeler bundle and its style sheets, nothing else of node_modules.
    :raise 404: another file, or bpmn-js not installed."""
    if filename not in BPMN_JS_FILES or not (BPMN_JS_DIST / filename).is_file():
        abort(404)
    return send_from_directory(BPMN_JS_DIST, filename, max_age=3600)


def _modeler_files() -> dict[str, str]:
    """The ``files`` of the modeler's JSON body. :raise Invalid: not a map of file names to text."""
    body = http.parse_json(request.get_data()) if request.get_data() else None
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise Invalid("ไม่พบไฟล์ของกระบวนงานในคำขอ กรุณาเปิดหน้าโปรแกรมออกแบบใหม่")
    return files


@bp.post("/modeler/<name>/validate")
@login_required
def modeler_validate(name: str) -> ResponseReturnValue:
    """The same checks and dry run as deploy, on the modeler's files; stores nothing."""
    require_designer(actor())
    report, _ = designer.validate(ctx(), {k: v.encode("utf-8") for k, v in _modeler_files().items()}, name)
    return jsonify(report.as_dict("th"))


@bp.post("/modeler/<name>/drafts")
@login_required
def save_draft(name: str) -> ResponseReturnValue:
    """Save the modeler's files as a new draft (not published, not run)."""
    require_designer(actor())
    body = (http.parse_json(request.get_data()) if request.get_data() else None) or {}
    based_on = body.get("based_on") if isinstance(body, dict) else None
    saved = designer.save_draft(ctx(), actor(), name, _modeler_files(),
                                based_on if isinstance(based_on, int) and not isinstance(based_on, bool) else None)
    return jsonify({**saved, "url": url_for("designer_web.modeler", name=name, draft=saved["id"])}), 201


@bp.post("/drafts/<int:draft_id>/check")
@login_required
def check_draft(draft_id: int) -> ResponseReturnValue:
    """A draft through the upload's check → diff → confirm flow. :raise 404: no such draft."""
    saved = queries.draft(ctx(), actor(), draft_id)
    files = {k: v.encode("utf-8") for k, v in saved["files"].items()}
    report, _ = designer.validate(ctx(), files, saved["name"])
    return _report_page(report, files)
