"""Errors the service layer raises; the web layer maps each to one HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    title = "คำขอไม่ถูกต้อง"

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class Invalid(ServiceError):
    """Input that fails its rules; ``errors`` holds ``{"field": JSON pointer, "message": Thai}``."""

    status = 422
    title = "ข้อมูลไม่ถูกต้อง"


class NotFound(ServiceError):
    status = 404
    title = "ไม่พบข้อมูล"


class Forbidden(ServiceError):
    status = 403
    title = "ไม่มีสิทธิ์"


class Conflict(ServiceError):
    status = 409
    title = "ข้อมูลถูกเปลี่ยนไปแล้ว"


class Unauthorized(ServiceError):
    status = 401
    title = "ต้องเข้าสู่ระบบ"
