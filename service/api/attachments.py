"""Attachments through the API: attach a file to an open step (multipart, part ``file``), list a
step's or a plan's files, download one (checked against its SHA-256, which is its ETag)."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from service import http
from service.api.blueprint import authenticated, bp, caller
from service.commands import attachments
from service.evidence import listing


@bp.post("/plans/<int:plan_id>/tasks/<task_id>/attachments")
@authenticated
def attach(plan_id: int, task_id: str) -> ResponseReturnValue:
    """:raise 403: the caller may not complete the step; 404: no such plan or step; 409: the step is
    done; 413: larger than the limit; 422: no file, empty, not a kind the step takes, attached already."""
    request.max_content_length = attachments.REQUEST_LIMIT  # before anything reads the body
    try:
        file = request.files.get("file")
    except RequestEntityTooLarge as err:
        raise attachments.too_large() from err
    added = attachments.attach(http.ctx(), caller(), plan_id, task_id, file.filename if file else None,
                               file.stream if file and file.filename else None)
    return jsonify(added), 201


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
    response = http.attachment(body, found["mimetype"], found["filename"])
    response.set_etag(found["sha256"])
    return response
