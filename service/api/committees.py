"""An organization's committee members and their terms (commands/committees.py), for its admin
or a national admin: the documents print who sat on each meeting's day."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from service import http
from service.api.blueprint import authenticated, bp, caller, json_body
from service.commands import committees


@bp.get("/organizations/<code>/committees")
@authenticated
def list_committees(code: str) -> ResponseReturnValue:
    """Every committee, every term kept, who sits today. :raise 403: not its admin; 404: not one the caller sees."""
    return jsonify(committees.listing(http.ctx(), caller(), code))


@bp.post("/organizations/<code>/committees")
@authenticated
def add_committee_seat(code: str) -> ResponseReturnValue:
    """{committee, name, seat, position, starts_on, ends_on, username}. :raise 403, 404; 409: an overlap; 422:"""
    return jsonify(committees.add(http.ctx(), caller(), code, json_body())), 201


@bp.patch("/organizations/<code>/committees/<int:seat_id>")
@authenticated
def correct_committee_seat(code: str, seat_id: int) -> ResponseReturnValue:
    """Correct a mistyped term (recorded in the admin log). :raise 403, 404; 409: an overlap; 422:"""
    return jsonify(committees.correct(http.ctx(), caller(), code, seat_id, json_body()))


@bp.post("/organizations/<code>/committees/<int:seat_id>/end")
@authenticated
def end_committee_seat(code: str, seat_id: int) -> ResponseReturnValue:
    """{ends_on}: the term's last day. :raise 403, 404; 409: ended already; 422:"""
    return jsonify(committees.end(http.ctx(), caller(), code, seat_id, json_body()))


@bp.post("/organizations/<code>/committees/<int:seat_id>/replace")
@authenticated
def replace_committee_seat(code: str, seat_id: int) -> ResponseReturnValue:
    """{name, starts_on, position, username}: the term ends the day before; the new one. :raise 403, 404, 409, 422:"""
    return jsonify(committees.replace(http.ctx(), caller(), code, seat_id, json_body())), 201
