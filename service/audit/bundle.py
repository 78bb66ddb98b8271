"""A plan's self-contained bundle: exported with everything needed to verify it with no database
(the events, the process files, the holidays, the current state), and verified offline by the
same checks as in place (audit/verify.py)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import engine
from service.audit.verify import Divergence, PlanRecord, Verification, load_record, verify_record
from service.auth import Actor
from service.context import Context
from service.models import Event, FrozenDocument
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
                     "state_json": record.state_json, "deadlines": record.deadlines, "claims": record.claims},
            "organization": record.organization,
            "process": record.process,
            "process_version_id": record.process_version_id,
            "earlier_versions": record.earlier_versions,
            "holidays": [holiday.as_dict() for holiday in record.holidays],
            "events": [event_dict(e) for e in record.events],
            "head": record.events[-1].hash if record.events else None,
            "frozen_documents": frozen_documents(session, plan_id),
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
        found = bundle_digest(body)
        if found != body.get("bundle_sha256"):
            result.first_divergence = Divergence(None, "bundle", "bundle_altered", body.get("bundle_sha256"), found,
                                                 "the bundle was edited after export: its digest does not match")
        elif body.get("head") != result.head:
            result.first_divergence = Divergence(None, "bundle", "bundle_altered", body.get("head"), result.head,
                                                 "the bundle's head hash is not its last event's hash")
    return result


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
