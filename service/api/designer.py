"""The designer's JSON API: list processes, check and publish a bundle (multipart files or one
zip), and the administrator's migration of a running plan to a newer version."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from service.api import authenticated, ctx, json_body, problem
from service.bundles import lint
from service.commands import designer
from service.errors import Invalid, ServiceError
from service.web import csrf

bp = Blueprint("designer_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, like the rest of the API


@bp.errorhandler(ServiceError)
def _service_error(err: ServiceError):
    """Like the main API, but a refused migration (409) lists its reasons too."""
    return problem(err.status, err.title, err.message, err.errors or None)


def uploaded_files() -> dict[str, bytes]:
    """The files of a multipart request, or of one zip (as a part or as the whole body).
    :raise BundleRejected: a zip that cannot be read or holds too much."""
    if request.mimetype in ("application/zip", "application/x-zip-compressed"):
        return lint.files_from_zip(request.get_data(cache=False))
    parts = [storage for _, storage in request.files.items(multi=True)]
    if len(parts) == 1 and (parts[0].filename or "").lower().endswith(".zip"):
        return lint.files_from_zip(parts[0].stream.read(lint.MAX_BUNDLE_BYTES + 1))
    files: dict[str, bytes] = {}
    for storage in parts:
        name = storage.filename or storage.name or ""
        if name in files:
            raise lint.BundleRejected([lint.finding(name, None, "duplicate_file")])
        files[name] = storage.stream.read(lint.MAX_FILE_BYTES + 1)
    return files


def lang() -> str:
    return "en" if request.values.get("lang", request.accept_languages.best_match(["th", "en"]) or "th") == "en" \
        else "th"


@bp.get("/processes")
@authenticated
def list_processes():
    designer.require_designer(g.actor)
    return jsonify({"processes": designer.processes(ctx())})


@bp.post("/processes")
@authenticated
def deploy():
    """Check a bundle and publish it; with ``validate_only=1`` check, simulate and diff only.
    :raise 422: the bundle has problems (each with its file and line)."""
    designer.require_designer(g.actor)
    language = lang()
    try:
        files = uploaded_files()
    except lint.BundleRejected as err:
        report = designer.Report("", False, err.findings)
    else:
        expected = request.values.get("expected_version")
        if expected is not None and not expected.isdigit():
            raise Invalid("expected_version ต้องเป็นเลขฉบับ", [{"field": "expected_version", "message": "ต้องเป็นตัวเลข"}])
        if request.values.get("validate_only") in ("1", "true"):
            report, _ = designer.validate(ctx(), files, request.values.get("name"))
        else:
            report = designer.deploy(ctx(), g.actor, files, request.values.get("name"),
                                     int(expected) if expected is not None else None)
    if not report.ok:
        response = problem(422, "กระบวนงานไม่ผ่านการตรวจสอบ" if language == "th" else "The process has problems",
                           f"{len(report.problems)} problem(s)" if language == "en" else
                           f"พบปัญหา {len(report.problems)} รายการ กรุณาแก้ไขแล้วส่งใหม่",
                           [{"field": p["file"], **p} for p in report.as_dict(language)["problems"]])
        return response
    return jsonify(report.as_dict(language)), 201 if report.published else 200


@bp.post("/plans/<int:plan_id>/migrate")
@authenticated
def migrate(plan_id: int):
    """Move a running plan to a newer version of its process (admin of its organization).
    :raise 409: a step the plan has reached or passed was changed (reasons listed)."""
    body = json_body() or {}
    version = body.get("version") if isinstance(body, dict) else None
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise Invalid("version ต้องเป็นเลขฉบับ", [{"field": "/version", "message": "ต้องเป็นจำนวนเต็ม"}])
    return jsonify(designer.migrate_plan(ctx(), g.actor, plan_id, version))
