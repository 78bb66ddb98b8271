"""The designer's pages: the processes and their versions, upload a bundle (files or a zip),
see its problems or its diff and dry run, then confirm to publish."""

from __future__ import annotations

import base64
import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from . import designer, lint
from .designer_api import uploaded_files
from .errors import Invalid
from .web.auth import actor, ctx

bp = Blueprint("designer_web", __name__, url_prefix="/designer")
CHANGE_KINDS = {"tasks": "งาน", "lanes": "เลน/บทบาท", "forms": "แบบฟอร์ม", "timers": "กำหนดเวลา"}
CHANGES = {"added": "เพิ่ม", "removed": "ลบ", "changed": "แก้ไข"}


@bp.get("/")
@login_required
def index():
    """:raise 403: the user is no process designer."""
    designer.require_designer(actor())
    return render_template("designer/index.html", processes=designer.processes(ctx()))


@bp.post("/check")
@login_required
def check():
    """Check an upload and show the problems, or the diff and the dry run with a confirm button."""
    designer.require_designer(actor())
    try:
        files = uploaded_files()
    except lint.BundleRejected as err:
        report, files = designer.Report("", False, err.findings), {}
    else:
        report, _ = designer.validate(ctx(), files)
    carried = base64.b64encode(json.dumps({k: base64.b64encode(v).decode() for k, v in files.items()})
                               .encode()).decode() if report.ok else ""
    return render_template("designer/report.html", report=report, carried=carried, kinds=CHANGE_KINDS,
                           changes=CHANGES), 200 if report.ok else 422


@bp.post("/publish")
@login_required
def publish():
    """Publish the bundle the designer has just seen checked (every check runs again)."""
    designer.require_designer(actor())
    try:
        files = {k: base64.b64decode(v) for k, v in json.loads(base64.b64decode(request.form["bundle"])).items()}
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise Invalid("ไม่พบชุดไฟล์ที่ตรวจแล้ว กรุณาอัปโหลดใหม่") from err
    expected = request.form.get("expected_version", "")
    report = designer.deploy(ctx(), actor(), files, expected_version=int(expected) if expected.isdigit() else 0)
    if not report.ok:
        return render_template("designer/report.html", report=report, carried="", kinds=CHANGE_KINDS,
                               changes=CHANGES), 422
    flash(f"เผยแพร่กระบวนงาน {report.name} ฉบับที่ {report.version} แล้ว แผนที่เริ่มใหม่จะใช้ฉบับนี้"
          if report.published else f"กระบวนงาน {report.name} ไม่เปลี่ยนจากฉบับที่ {report.version}", "success")
    return redirect(url_for("designer_web.index"))
