"""The designer's JSON API: list processes, check and publish a bundle (multipart files or one
zip), and the administrator's migration of a running plan to a newer version."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from service import http, queries
from service.api.blueprint import authenticated, bp, caller, json_body
from service.auth import require_designer
from service.bundles.findings import BundleRejected
from service.commands import designer
from service.errors import Invalid


def lang() -> str:
    return "en" if request.values.get("lang", request.accept_languages.best_match(["th", "en"]) or "th") == "en" \
        else "th"


@bp.get("/processes")
@authenticated
def list_processes() -> ResponseReturnValue:
    require_designer(caller())
    return jsonify({"processes": queries.processes(http.ctx())})


@bp.post("/processes")
@authenticated
def deploy() -> ResponseReturnValue:
    """Check a bundle and publish it; with ``validate_only=1`` check, simulate and diff only.
    :raise 422: the bundle has problems (each with its file and line)."""
    require_designer(caller())
    language = lang()
    try:
        files = http.uploaded_files()
    except BundleRejected as err:
        report = designer.Report("", False, err.findings)
    else:
        expected = http.query_integer("expected_version", 0, http.MAX_INTEGER,
                                      "expected_version ต้องเป็นเลขฉบับ (ตัวเลข 0 ขึ้นไป)", request.values)
        if request.values.get("validate_only") in ("1", "true"):
            report, _ = designer.validate(http.ctx(), files, request.values.get("name"))
        else:
            report = designer.deploy(http.ctx(), caller(), files, request.values.get("name"), expected)
    if not report.ok:
        return http.problem(422, f"{len(report.problems)} problem(s)" if language == "en" else
                            f"พบปัญหา {len(report.problems)} รายการ กรุณาแก้ไขแล้วส่งใหม่",
                            [{"field": p["file"], **p} for p in report.as_dict(language)["problems"]],
                            "กระบวนงานไม่ผ่านการตรวจสอบ" if language == "th" else "The process has problems")
    return jsonify(report.as_dict(language)), 201 if report.published else 200


@bp.post("/plans/<int:plan_id>/migrate")
@authenticated
def migrate(plan_id: int) -> ResponseReturnValue:
    """Move a running plan to a newer version of its process (admin of its organization).
    :raise 409: a step the plan has reached or passed was changed (reasons listed)."""
    body = json_body() or {}
    version = body.get("version") if isinstance(body, dict) else None
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)
                                or not 1 <= version <= http.MAX_INTEGER):  # 0 would mean "the latest"
        raise Invalid("version ต้องเป็นเลขฉบับ", [{"field": "/version", "message": "ต้องเป็นจำนวนเต็มตั้งแต่ 1 ขึ้นไป"}])
    return jsonify(designer.migrate_plan(http.ctx(), caller(), plan_id, version))
