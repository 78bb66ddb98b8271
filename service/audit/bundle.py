"""A plan's self-contained bundle: exported with everything needed to verify it with no database
(the events, the process files, the holidays, the current state, the attached files), and verified
offline by the same checks as in place (audit/verify.py), each attached file against the SHA-256
its event records."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import engine, eventlog
from service.audit.verify import Divergence, PlanRecord, Verification, load_record, verify_record
from service.auth import Actor
from service.context import Context
from service.deadlines import verdicts
from service.evidence.listing import store_of
from service.models import Attachment, Event, FrozenDocument
from service.thai import legaldays

BUNDLE_FORMAT = "phaen-plan-bundle"
BUNDLE_VERSION = 1
EVENT_FIELDS = ("seq", "at", "actor", "role", "kind", "task", "task_id", "data", "state_digest", "prev_hash", "hash")


def export_bundle(ctx: Context, plan_id: int, actor: Actor | None = None) -> bytes:
    """One self-contained JSON file: the plan's events, the process it ran on, its current state."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        record = load_record(session, plan_id, actor)
        body = {
            "format": BUNDLE_FORMAT, "format_version": BUNDLE_VERSION,
            "exported_at": now.isoformat(), "exported_by": actor.username if actor else "operator",
            "plan": {"id": record.plan_id, "fiscal_year": record.fiscal_year, "status": record.status,
                     "state_json": record.state_json, "deadlines": record.deadlines, "claims": record.claims,
                     # the verdicts at export, as every page and report gives them (not replayed)
                     "verdicts": verdicts(record.deadlines, now)},
            "organization": record.organization,
            "process": record.process,
            "process_version_id": record.process_version_id,
            "earlier_versions": record.earlier_versions,
            "holidays": [holiday.as_dict() for holiday in record.holidays],
            "events": [event_dict(e) for e in record.events],
            "head": record.events[-1].hash if record.events else None,
            "frozen_documents": frozen_documents(session, plan_id),
            "attachments": attached_files(ctx, session, plan_id),
        }
    body["bundle_sha256"] = bundle_digest(body)
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


def frozen_documents(session: Session, plan_id: int) -> list[dict[str, Any]]:
    """The plan's documents as announced: kind, SHA-256 and size (the PDFs stay in the system)."""
    rows = session.execute(select(FrozenDocument.kind, FrozenDocument.sha256, func.length(FrozenDocument.content),
                                  FrozenDocument.as_of_seq, FrozenDocument.frozen_at)
                           .where(FrozenDocument.plan_id == plan_id).order_by(FrozenDocument.id))
    return [{"kind": kind, "sha256": sha256, "bytes": size, "as_of_seq": seq, "frozen_at": at.isoformat()}
            for kind, sha256, size, seq, at in rows]


def attached_files(ctx: Context, session: Session, plan_id: int) -> list[dict[str, Any]]:
    """The files attached to the plan's steps, their bytes as kept (base64; null when the kept file
    is missing): verify-bundle checks each against the SHA-256 its event records."""
    store = store_of(ctx)
    files = []
    for row in session.scalars(select(Attachment).where(Attachment.plan_id == plan_id).order_by(Attachment.id)):
        body = store.read(row.sha256)
        files.append({"seq": row.seq, "task": row.task, "task_id": row.task_id, "filename": row.filename,
                      "type": row.kind, "bytes": row.size, "sha256": row.sha256,
                      "content_base64": base64.b64encode(body).decode("ascii") if body is not None else None})
    return files


def event_dict(event: Event) -> dict[str, Any]:
    return {"seq": event.seq, "at": event.at.isoformat(), "actor": event.actor, "role": event.role,
            "kind": event.kind, "task": event.task, "task_id": event.task_id, "data": event.data,
            "state_digest": event.state_digest, "prev_hash": event.prev_hash, "hash": event.hash}


def bundle_digest(body: dict[str, Any]) -> str:
    content = {k: v for k, v in body.items() if k != "bundle_sha256"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


class BundleRefused(ValueError):
    """The file is not a complete, well-formed plan bundle."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.divergence = Divergence(None, "bundle", reason, None, None, detail)


def verify_bundle(path: Path | str) -> Verification:
    """Verify an exported bundle with no database: parse its BPMN, replay, check chain and digests."""
    raw = Path(path).read_bytes()
    try:
        body, record = read_bundle(raw)
        model = engine.parse_texts(record.process["bpmn_files"], record.process["process_id"])
    except BundleRefused as refused:
        return Verification(None, 0, None, refused.divergence)
    except engine.InvalidProcess as err:
        return Verification(None, 0, None, Divergence(None, "bundle", "process_invalid", None, None,
                                                      f"the bundle's BPMN does not parse: {err}"))
    result = verify_record(record, model)
    if result.ok:
        result.first_divergence = attachment_divergence(body, record.events)
    if result.ok:
        found = bundle_digest(body)
        if found != body.get("bundle_sha256"):
            result.first_divergence = Divergence(None, "bundle", "bundle_altered", body.get("bundle_sha256"), found,
                                                 "the bundle was edited after export: its digest does not match")
        elif body.get("head") != result.head:
            result.first_divergence = Divergence(None, "bundle", "bundle_altered", body.get("head"), result.head,
                                                 "the bundle's head hash is not its last event's hash")
    return result


def attachment_divergence(body: dict[str, Any], events: list[Event]) -> Divergence | None:
    """The first attachment the verified log records that the bundle lacks or carries altered, or
    a file the bundle carries that the log never recorded; None when every file is as recorded."""
    carried = body.get("attachments") or []
    if not isinstance(carried, list) or not all(isinstance(item, dict) for item in carried):
        return Divergence(None, "bundle", "bundle_incomplete", "a list of objects", type(carried).__name__,
                          "the bundle's attachments are not a list of files")
    by_seq = {item.get("seq"): item for item in carried}
    recorded = [e for e in events if e.kind in eventlog.EVIDENCE_KINDS]
    for event in recorded:
        expected = (event.data or {}).get("sha256")
        name = (event.data or {}).get("filename")
        item = by_seq.get(event.seq) or {}
        content = item.get("content_base64")
        if not isinstance(content, str):
            return Divergence(event.seq, event.kind, "attachment_missing", expected, None,
                              f"the file {name!r} attached at event {event.seq} is missing from the bundle "
                              "(removed from it, or already missing from the system's store when exported)")
        try:
            found = hashlib.sha256(base64.b64decode(content, validate=True)).hexdigest()
        except (binascii.Error, ValueError):
            found = "(not base64)"
        if found != expected or item.get("sha256") != expected:
            return Divergence(event.seq, event.kind, "attachment_altered", expected, found,
                              f"the file {name!r} attached at event {event.seq} is not the file recorded: "
                              "its SHA-256 differs from the one in the event log")
    unrecorded = sorted(set(by_seq) - {e.seq for e in recorded}, key=str)
    if unrecorded:
        return Divergence(None, "bundle", "attachment_unrecorded", None, unrecorded,
                          f"the bundle carries files no event records (seq {', '.join(map(str, unrecorded))})")
    return None


def read_bundle(raw: bytes) -> tuple[dict[str, Any], PlanRecord]:
    """Parse and shape-check a bundle file. :raise BundleRefused: naming what is wrong and where."""
    complete = raw.rstrip().endswith(b"}")  # a bundle is one JSON object: a cut file ends elsewhere
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        where = (f"at byte {err.start}" if isinstance(err, UnicodeDecodeError)
                 else f"{err.msg} at line {err.lineno}, column {err.colno}")
        if not complete:
            raise BundleRefused("bundle_truncated", f"the file is cut short ({where}; {len(raw)} bytes, "
                                "the closing brace missing)") from err
        raise BundleRefused("bundle_unreadable", f"the file is not valid UTF-8 JSON ({where})") from err
    if not isinstance(body, dict) or body.get("format") != BUNDLE_FORMAT:
        raise BundleRefused("bundle_unreadable", "the file is not a Phaen plan bundle")
    if body.get("format_version") != BUNDLE_VERSION:
        raise BundleRefused("bundle_unreadable", f"bundle format version {body.get('format_version')} is not supported")
    try:
        plan, process = _typed(body, "plan", dict), _typed(body, "process", dict)
        _typed(process, "bpmn_files", dict)
        events = [_event_from(plan["id"], i, item) for i, item in enumerate(_typed(body, "events", list))]
        record = PlanRecord(
            plan_id=_typed(plan, "id", int), organization=_typed(body, "organization", dict),
            fiscal_year=_typed(plan, "fiscal_year", int), status=_typed(plan, "status", str),
            process={key: process[key] for key in ("name", "version", "process_id", "title", "digest", "bpmn_files",
                                                   "forms", "lane_roles", "meta")},
            events=events, state_json=_typed(plan, "state_json", str), deadlines=_typed(plan, "deadlines", list),
            claims=_typed(plan, "claims", dict),
            holidays=[legaldays.KeptHoliday.from_dict(h) for h in body["holidays"]],
            process_version_id=body.get("process_version_id"), earlier_versions=body.get("earlier_versions") or {},
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BundleRefused("bundle_incomplete", f"the bundle lacks or garbles {err}") from err
    return body, record


def _typed(container: dict[str, Any], key: str, kind: type) -> Any:
    value = container[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"'{key}' (expected {kind.__name__})")
    return value


def _event_from(plan_id: int, index: int, item: Any) -> Event:
    if not isinstance(item, dict):
        raise TypeError(f"events[{index}] (expected an object)")
    missing = [name for name in EVENT_FIELDS if name not in item]
    if missing:
        raise KeyError(f"events[{index}].{missing[0]}")
    try:
        at = datetime.fromisoformat(item["at"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"events[{index}].at (not an ISO date-time)") from err
    if at.tzinfo is None:
        raise ValueError(f"events[{index}].at (no time zone)")
    return Event(plan_id=plan_id, at=at, **{name: item[name] for name in EVENT_FIELDS if name != "at"})
