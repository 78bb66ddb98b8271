"""Errors the service layer raises. Each names its HTTP status; service/http.py answers it with
the title of that status, in Thai, unless the error names a title of its own."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    title: str | None = None

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class Invalid(ServiceError):
    """Input that fails its rules; ``errors`` holds ``{"field": JSON pointer, "message": Thai}``."""

    status = 422


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class Unauthorized(ServiceError):
    status = 401


class TooManyAttempts(Unauthorized):
    """Too many failed log-ins from one client address: the log-in page answers 429 (an
    Unauthorized still, so that whoever handles a refused log-in handles this one too)."""

    status = 429
