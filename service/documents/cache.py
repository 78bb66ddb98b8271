"""The render cache: each of a plan's documents is kept as last rendered (models.RenderedDocument)
with the digest of what it was made from, so a download serves bytes and never renders.

The digest (``source_key``) covers what the document shows and the code that draws it: the plan's
records the document reads (the submitted data, or for the record the head of the event log, the
deadlines, the people's names; the committees' terms), the process version, the organization, the day in Bangkok (the
deadlines' verdicts and the printing date move with it), and the version of the templates, the
fonts' style sheets and the code under service/documents and the flowchart. Whatever changes one
of them makes the copy stale; a render job (commands/renders.py) makes the new one.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import select

from service.config import SOURCE_ROOT
from service.context import Context
from service.documents.records import PlanFile
from service.models import RenderedDocument
from service.thai.legaldays import day_of

#: What a document's look is made by: a change to any of these files renders every document again.
CODE = ("reports", "service/documents", "service/bundles/flowchart.py", "service/bundles/diagram.py",
        "service/bundles/committees.py", "service/thai", "service/deadlines.py", "service/labels.py")
#: The records each kind reads beyond the plan's data (see ``source_key``).
READS_HISTORY = {"record"}
READS_DEADLINES = {"record", "posting-certificate"}


@cache
def code_version() -> str:
    """SHA-256 of the templates and the code that renders them, and of the renderer's version."""
    digest = hashlib.sha256()
    for name in CODE:
        root = SOURCE_ROOT / name
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc") if root.is_dir() else [root]
        for path in files:
            digest.update(str(path.relative_to(SOURCE_ROOT)).encode() + b"\0" + _read(path) + b"\0")
    digest.update(metadata.version("weasyprint").encode())
    return digest.hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def source_key(file: PlanFile, kind: str) -> str:
    """The digest of what the document ``kind`` of ``file`` (the plan as it stands, or as of its
    freezing step) is made from, and of the code that makes it."""
    content: dict[str, Any] = {
        "code": code_version(), "kind": kind, "plan": file.id, "fiscal_year": file.fiscal_year,
        "status": file.status, "organization": file.organization, "process": file.process.get("digest"),
        "day": day_of(file.now).isoformat(), "data": file.data, "frozen": file.frozen,
        "public_url": file.public_url,  # printed with the QR code on the documents that freeze
        "seats": file.seats,  # who sat in the committees when: printed by the meetings' dates
    }
    if kind in READS_HISTORY:
        content["history"] = [file.events[-1]["seq"], file.events[-1]["hash"]] if file.events else []
        content["people"] = file.people
        content["roles"] = file.lane_roles
    if kind in READS_DEADLINES:
        content["deadlines"] = file.deadlines
        content["holidays"] = sorted(day.isoformat() for day in file.holidays)
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def lookup(ctx: Context, plan_id: int, kind: str, key: str) -> bytes | None:
    """The cached copy of the document if it was rendered from ``key``, else None."""
    with ctx.db.read() as session:
        return session.scalars(select(RenderedDocument.content).where(
            RenderedDocument.plan_id == plan_id, RenderedDocument.kind == kind,
            RenderedDocument.source_key == key)).first()


def is_fresh(ctx: Context, plan_id: int, kind: str, key: str) -> bool:
    with ctx.db.read() as session:
        return session.scalars(select(RenderedDocument.id).where(
            RenderedDocument.plan_id == plan_id, RenderedDocument.kind == kind,
            RenderedDocument.source_key == key)).first() is not None
