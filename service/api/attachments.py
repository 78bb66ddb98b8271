"""Attachments through the API: attach a file to an open step or to a tracked project's progress
(multipart, part ``file``), list a step's, a project's or a plan's files, download one (checked
against its SHA-256, which is its ETag)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from service import http
from service.api.blueprint import authenticated, bp, caller
from service.commands import attachments, progress_evidence
from service.errors import NotFound
from service.evidence import listing
from service.tracking import reads


@bp.post("/plans/<int:plan_id>/tasks/<task_id>/attachments")
@authenticated
def attach(plan_id: int, task_id: str) -> ResponseReturnValue:
    """:raise 403: the caller may not complete the step; 404: no such plan or step; 409: the step is
    done; 413: larger than the limit; 422: no file, empty, not a kind the step takes, attached already."""
    file = _one_file()
    added = attachments.attach(http.ctx(), caller(), plan_id, task_id, file.filename if file else None,
                               file.stream if file and file.filename else None)
    return jsonify(added), 201


def _one_file() -> FileStorage | None:
    """The request's part ``file``. :raise TooLarge: the request is beyond the limit (its Content-Length
    says so before its body is read)."""
    request.max_content_length = attachments.REQUEST_LIMIT  # before anything reads the body
    try:
        return request.files.get("file")
    except RequestEntityTooLarge as err:
        raise attachments.too_large() from err


@bp.post("/plans/<int:plan_id>/progress/<number>/evidence")
@authenticated
def attach_evidence(plan_id: int, number: str) -> ResponseReturnValue:
    """:raise 403: another unit's project, or a role that records no progress; 404: no such plan or
    project; 409: not announced yet, or withdrawn; 413: larger than the limit; 422: no file, empty, not a
    kind the progress form takes, attached already."""
    file = _one_file()
    added = progress_evidence.attach(http.ctx(), caller(), plan_id, number, file.filename if file else None,
                                     file.stream if file and file.filename else None)
    return jsonify(added), 201


@bp.get("/plans/<int:plan_id>/progress/<number>/evidence")
@authenticated
def of_project(plan_id: int, number: str) -> ResponseReturnValue:
    """The project's progress evidence and what its form takes. :raise 404: no such plan or project."""
    return jsonify(reads.evidence(http.ctx(), caller(), plan_id, number))


@bp.get("/plans/<int:plan_id>/progress/<number>/evidence/<int:attachment_id>")
@authenticated
def download_evidence(plan_id: int, number: str, attachment_id: int) -> ResponseReturnValue:
    """One file of the project's progress evidence, as kept. :raise 404: no such plan, project or file
    of it; 503: the kept file is missing or altered."""
    found, body = listing.content(http.ctx(), caller(), plan_id, attachment_id)
    if found["project"] != number:
        raise NotFound("ไม่พบไฟล์หลักฐานนี้ในผลการดำเนินงานของโครงการนี้")
    return _file(found, body)


@bp.get("/plans/<int:plan_id>/tasks/<task_id>/attachments")
@authenticated
def of_task(plan_id: int, task_id: str) -> ResponseReturnValue:
    """The step's files, what it takes (``accepts``, null: none) and whether it is open. :raise 404:"""
    return jsonify(listing.of_task(http.ctx(), caller(), plan_id, task_id))


@bp.get("/plans/<int:plan_id>/attachments")
@authenticated
def of_plan(plan_id: int) -> ResponseReturnValue:
    """:raise 404: no such plan in the caller's organizations (members and auditors see them)."""
    return jsonify({"attachments": listing.of_plan(http.ctx(), caller(), plan_id)})


@bp.get("/plans/<int:plan_id>/attachments/<int:attachment_id>")
@authenticated
def download(plan_id: int, attachment_id: int) -> ResponseReturnValue:
    """The file as kept. :raise 404: no such plan or attachment; 503: the kept file is missing or altered."""
    found, body = listing.content(http.ctx(), caller(), plan_id, attachment_id)
    return _file(found, body)


def _file(found: dict[str, Any], body: bytes) -> ResponseReturnValue:
    response = http.attachment(body, found["mimetype"], found["filename"])
    response.set_etag(found["sha256"])
    return response
