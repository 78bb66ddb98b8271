"""What the pages and the JSON API share about requests and answers: the context of the running
app, the one table of Thai titles for HTTP statuses, the one error policy (a problem document
for programs, the Thai error page for people), the bearer token, uploads and attachments."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from service import oplog
from service.auth import Actor, actor_for_token
from service.bundles import intake
from service.bundles.findings import BundleRejected, finding
from service.context import Context
from service.errors import ServiceError

#: Every status the system answers with, in the words shown to people and programs alike.
TITLES = {
    400: "คำขอไม่ถูกต้อง", 401: "กรุณาเข้าสู่ระบบ", 403: "ท่านไม่มีสิทธิ์ดำเนินการนี้", 404: "ไม่พบข้อมูลที่ต้องการ",
    405: "ไม่รองรับการเรียกด้วยวิธีนี้", 409: "ข้อมูลถูกเปลี่ยนไปแล้ว", 413: "ไฟล์หรือข้อมูลที่ส่งมีขนาดใหญ่เกินไป",
    422: "ข้อมูลไม่ถูกต้อง", 500: "ระบบขัดข้อง", 503: "ระบบยังไม่พร้อมให้บริการ",
}
#: What an HTTP error (not one of the service's) means to the person who met it.
DETAILS = {
    404: "ไม่พบหน้าหรือข้อมูลที่ต้องการ อาจพิมพ์ที่อยู่ผิด หรือข้อมูลนี้ไม่อยู่ในองค์กรของท่าน",
    405: "ไม่รองรับการเรียกหน้านี้ด้วยวิธีนี้", 413: "ไฟล์หรือข้อมูลที่ส่งมีขนาดใหญ่เกินไป",
}
UNEXPECTED = "ระบบขัดข้อง ยังไม่ได้บันทึกสิ่งใด กรุณาลองใหม่ หรือแจ้งผู้ดูแลระบบ"
CSRF_FAILED = ("แบบฟอร์มนี้หมดอายุหรือไม่ได้ส่งมาจากหน้าของระบบ จึงยังไม่ได้บันทึกสิ่งใด "
               "กรุณากลับไปเปิดหน้าเดิมใหม่แล้วลองอีกครั้ง")


def ctx() -> Context:
    return current_app.extensions["phaen"]


def title(status: int) -> str:
    return TITLES.get(status, "คำขอไม่สำเร็จ")


# --- Who is calling ----------------------------------------------------------------------
def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def bearer_actor(token: str) -> Actor | None:
    with ctx().db.read() as session:
        return actor_for_token(session, token)


def wants_problem() -> bool:
    """A program is calling (the API, a bearer token, a script posting JSON): answer in JSON."""
    return request.path.startswith("/api/") or bearer_token() is not None or request.is_json


# --- Answers -----------------------------------------------------------------------------
def problem(status: int, detail: str, errors: list | None = None, heading: str | None = None) -> Response:
    """An RFC 9457 problem document in Thai; ``errors``: the fields at fault (a 422 always lists them)."""
    body: dict[str, Any] = {"type": "about:blank", "title": heading or title(status), "status": status,
                            "detail": detail}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def error_page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title(status), message=message), status


def attachment(body: bytes, mimetype: str, filename: str) -> Response:
    """A download, never cached; a Thai name as browsers read it (RFC 6266: an ASCII fallback and
    the UTF-8 name)."""
    response = Response(body, mimetype=mimetype)
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in ".-_") else "_" for ch in filename)
    disposition = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        disposition += f"; filename*=UTF-8''{quote(filename)}"
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "no-store"
    return response


def pdf(content: bytes, filename: str, sha256: str | None = None) -> Response:
    """A PDF inline; a frozen document carries its SHA-256 as its ETag, the one in the event log."""
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if sha256:
        response.set_etag(sha256)
    return response


def uploaded_files() -> dict[str, bytes]:
    """The files of a multipart request, or of one zip (as a part or as the whole body).
    :raise BundleRejected: a zip that cannot be read or holds too much."""
    if request.mimetype in ("application/zip", "application/x-zip-compressed"):
        return intake.files_from_zip(request.get_data(cache=False))
    parts = [storage for _, storage in request.files.items(multi=True)]
    if len(parts) == 1 and (parts[0].filename or "").lower().endswith(".zip"):
        return intake.files_from_zip(parts[0].stream.read(intake.MAX_BUNDLE_BYTES + 1))
    files: dict[str, bytes] = {}
    for storage in parts:
        name = storage.filename or storage.name or ""
        if name in files:
            raise BundleRejected([finding(name, None, "duplicate_file")])
        files[name] = storage.stream.read(intake.MAX_FILE_BYTES + 1)
    return files


# --- The one error policy ----------------------------------------------------------------
def init_app(app: Flask) -> None:
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _service_error(err: ServiceError) -> ResponseReturnValue:
    if wants_problem():
        return problem(err.status, err.message, err.errors if err.errors or err.status == 422 else None, err.title)
    return error_page(err.status, err.message)


def _csrf_error(err: CSRFError) -> ResponseReturnValue:
    return error_page(400, CSRF_FAILED)


def _http_error(err: HTTPException) -> ResponseReturnValue:
    status = err.code or 500
    detail = DETAILS.get(status, title(status))
    response = current_app.make_response(problem(status, detail) if wants_problem() else error_page(status, detail))
    if isinstance(err, MethodNotAllowed) and err.valid_methods:
        response.headers["Allow"] = ", ".join(err.valid_methods)
    return response


def _unexpected_error(err: Exception) -> ResponseReturnValue:
    """A bug must still answer in Thai, and leave its trace in the log."""
    if isinstance(err, HTTPException):
        return _http_error(err)
    oplog.logger.exception("unexpected error", extra={"fields": {"event": "error", "path": request.path}})
    return problem(500, UNEXPECTED) if wants_problem() else error_page(500, UNEXPECTED)
