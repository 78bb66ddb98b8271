"""Who sat in an organization's committees on a day (models.CommitteeSeat), as the documents print
them and the forms offer them: the one lookup by date, chair first.

A committee is a role the processes' lanes declare (roles.json); which ones an organization keeps
members for is its admin's data, never named here. A form field declares
``"x-default-from": {"committee": "<role>", "field": "name" | "position"}`` to be prefilled with
that of the first seat sitting today (chair or single holder first); a step's form declares
``"x-committee-date": true`` on the date its committee met, so the plan's record prints who sat
that day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import CommitteeSeat

#: The seats, in the order a committee is printed (chair first), with the words printed for each.
#: ``holder``: the one holder of a role such as the executive's; their position is what is printed.
SEATS = {"holder": "ผู้ดำรงตำแหน่ง", "chair": "ประธานกรรมการ", "vice_chair": "รองประธานกรรมการ",
         "member": "กรรมการ", "secretary": "กรรมการและเลขานุการ", "assistant_secretary": "ผู้ช่วยเลขานุการ"}
#: Seats one person holds at a time in a committee: two such terms may not overlap.
SINGLE_SEATS = ("holder", "chair")
DEFAULT_FROM = "x-default-from"
COMMITTEE_DATE = "x-committee-date"
DEFAULT_FIELDS = ("name", "position")


def view(row: CommitteeSeat) -> dict[str, Any]:
    return {"id": row.id, "committee": row.committee, "name": row.name, "seat": row.seat,
            "seat_title": row.position if row.seat == "holder" and row.position else SEATS.get(row.seat, row.seat),
            "position": row.position, "starts_on": row.starts_on.isoformat(),
            "ends_on": row.ends_on.isoformat() if row.ends_on else None}


def seats_of(session: Session, organization_id: int, committees: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every term kept for the organization (of ``committees`` only, when given), ended ones too,
    in print order: by committee, seat, start."""
    query = select(CommitteeSeat).where(CommitteeSeat.organization_id == organization_id)
    if committees is not None:
        query = query.where(CommitteeSeat.committee.in_(sorted(set(committees))))
    return sorted((view(row) for row in session.scalars(query)), key=_order)


def _order(seat: Mapping[str, Any]) -> tuple[Any, ...]:
    rank = list(SEATS).index(seat["seat"]) if seat["seat"] in SEATS else len(SEATS)
    return seat["committee"], rank, seat["starts_on"], seat["id"]


def sitting(seats: Iterable[Mapping[str, Any]], committee: str, on: date | str | None) -> list[dict[str, Any]]:
    """The seats of ``committee`` whose term holds the day ``on`` (its first and last day included),
    chair (or holder) first; none for no day or a day that is not one."""
    try:
        day = (date.fromisoformat(on) if isinstance(on, str) else on).isoformat() if on else None
    except ValueError:
        return []
    if day is None:
        return []
    found = [dict(s) for s in seats if s["committee"] == committee and s["starts_on"] <= day
             and (s["ends_on"] is None or day <= s["ends_on"])]
    return sorted(found, key=_order)


def declared_defaults(schema: Any) -> set[str]:
    """The committees a form's fields take their defaults from."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return set()
    return {str(spec[DEFAULT_FROM].get("committee")) for spec in properties.values()
            if isinstance(spec, dict) and isinstance(spec.get(DEFAULT_FROM), dict)}


def with_defaults(session: Session, organization_id: int, schema: Mapping[str, Any], today: date) -> dict[str, Any]:
    """``schema`` with each field that declares ``x-default-from`` (and has no default of its own)
    defaulting to the name or position of the first seat of that committee sitting ``today``; a
    form that declares none costs no query."""
    wanted = declared_defaults(schema)
    if not wanted:
        return dict(schema)
    seats = seats_of(session, organization_id, wanted)
    properties = dict(schema["properties"])
    for key, spec in properties.items():
        source = spec.get(DEFAULT_FROM) if isinstance(spec, dict) else None
        if not isinstance(source, dict) or "default" in spec or source.get("field", "name") not in DEFAULT_FIELDS:
            continue
        first = next(iter(sitting(seats, str(source.get("committee")), today)), None)
        value = first[source.get("field", "name")] if first else ""
        if value:
            properties[key] = {**spec, "default": value}
    return {**schema, "properties": properties}


def committee_date(form: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    """The day a step's committee met, as its form marks it (``x-committee-date``) and the step recorded it."""
    for key, spec in (form.get("properties") or {}).items():
        if isinstance(spec, dict) and spec.get(COMMITTEE_DATE) is True and isinstance(data.get(key), str):
            return str(data[key])
    return None
