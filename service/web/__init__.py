"""The pages officials use: log-in, inbox, task forms and plans, in Thai. Each blueprint calls
the same service functions as the JSON API."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from flask import Flask, render_template, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from service import oplog
from service.errors import ServiceError
from service.thai import dates

login_manager = LoginManager()
csrf = CSRFProtect()

ERROR_TITLES = {
    400: "คำขอไม่ถูกต้อง", 401: "กรุณาเข้าสู่ระบบ", 403: "ท่านไม่มีสิทธิ์เข้าถึงหน้านี้", 404: "ไม่พบหน้าที่ต้องการ",
    405: "ไม่รองรับการเรียกหน้านี้ด้วยวิธีนี้", 409: "ข้อมูลถูกเปลี่ยนไปแล้ว", 413: "ไฟล์หรือข้อมูลที่ส่งมีขนาดใหญ่เกินไป",
    422: "ข้อมูลไม่ถูกต้อง", 500: "ระบบขัดข้อง",
}


def session_config() -> dict:
    """Cookie and CSRF settings; Secure cookies when PHAEN_SECURE_COOKIES=1 (served over HTTPS)."""
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("PHAEN_SECURE_COOKIES", "").strip() == "1",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=10),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lasts as long as the session: long forms take time
    }


def init_app(app: Flask) -> None:
    """Sessions, CSRF, log-in and the page blueprints; the JSON API keeps its bearer tokens."""
    from service import api
    from service.api import claims
    from service.web import audit, auth, inbox, plans, tasks

    login_manager.init_app(app)
    csrf.init_app(app)
    for blueprint in (auth.bp, inbox.bp, tasks.bp, plans.bp, audit.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(claims.bp)
    from service.web.documents import bp as documents_bp
    app.register_blueprint(documents_bp)
    csrf.exempt(api.bp)
    csrf.exempt(claims.bp)
    app.jinja_env.filters.update(thai_date=dates.short, thai_datetime=_thai_datetime)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _thai_datetime(value) -> str:
    return dates.short_datetime(datetime.fromisoformat(value) if isinstance(value, str) else value)


def error_page(status: int, message: str):
    return render_template("error.html", status=status, title=ERROR_TITLES.get(status, "คำขอไม่สำเร็จ"),
                           message=message), status


def _csrf_error(err: CSRFError):
    return error_page(400, "แบบฟอร์มนี้หมดอายุหรือไม่ได้ส่งมาจากหน้าของระบบ จึงยังไม่ได้บันทึกสิ่งใด "
                           "กรุณากลับไปเปิดหน้าเดิมใหม่แล้วลองอีกครั้ง")


def _unexpected_error(err: Exception):
    """A bug must still answer in Thai, and leave its trace in the log."""
    if isinstance(err, HTTPException):
        return _http_error(err)
    oplog.logger.exception("unexpected error", extra={"fields": {"event": "error", "path": request.path}})
    message = "ระบบขัดข้อง ยังไม่ได้บันทึกสิ่งใด กรุณาลองใหม่ หรือแจ้งผู้ดูแลระบบ"
    if request.path.startswith("/api/"):
        from service.api import problem

        return problem(500, ERROR_TITLES[500], message)
    return error_page(500, message)


def _service_error(err: ServiceError):
    return error_page(err.status, err.message)


def _http_error(err: HTTPException):
    if request.path.startswith("/api/"):
        from service.api import _http_error as api_error

        return api_error(err)
    messages = {404: "ไม่พบหน้าหรือข้อมูลที่ต้องการ อาจพิมพ์ที่อยู่ผิด หรือข้อมูลนี้ไม่อยู่ในองค์กรของท่าน",
                405: "ไม่รองรับการเรียกหน้านี้ด้วยวิธีนี้", 413: "ไฟล์หรือข้อมูลที่ส่งมีขนาดใหญ่เกินไป"}
    return error_page(err.code or 500, messages.get(err.code, ERROR_TITLES.get(err.code, err.name)))
