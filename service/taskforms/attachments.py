"""Files attached to a step as evidence, as its form declares them: which steps take files and of
which kinds (``x-attachments`` at the top of the form), what a file is (from its first bytes, never
from its name), and the limits every file is held to. Pure rules: no database, no files."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from service.errors import Invalid, ServiceError

#: The form keyword that makes a step take attachments, e.g.
#: ``"x-attachments": {"kinds": ["pdf", "jpeg"], "label": "รายงานการประชุม"}``.
KEYWORD = "x-attachments"
MAX_BYTES = 10 * 1024 * 1024  # one file: a scanned set of minutes or a phone's photo fits
MAX_PER_TASK = 20  # files on one step: evidence, not an archive
MAX_NAME = 200  # characters of a file name kept
FIELD = "file"  # the multipart part (and the error's field) that carries the file
#: What a request may carry beyond the file itself (the multipart headers, a CSRF token).
REQUEST_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class Kind:
    name: str  # as a form names it
    mimetype: str
    title: str  # as people read it
    extension: str
    signature: bytes  # the first bytes every file of the kind starts with


KINDS = {kind.name: kind for kind in (
    Kind("pdf", "application/pdf", "PDF", ".pdf", b"%PDF-"),
    Kind("jpeg", "image/jpeg", "JPEG", ".jpg", b"\xff\xd8\xff"),
    Kind("png", "image/png", "PNG", ".png", b"\x89PNG\r\n\x1a\n"),
)}
HEAD_BYTES = max(len(kind.signature) for kind in KINDS.values())


@dataclass(frozen=True)
class Declared:
    """What a step takes: the kinds of file, and the words shown above its upload."""

    kinds: tuple[str, ...]
    label: str
    description: str = ""

    @property
    def titles(self) -> str:
        return ", ".join(KINDS[k].title for k in self.kinds)

    @property
    def accept(self) -> str:
        """The file input's ``accept``: a hint to the browser; the content decides."""
        return ",".join(f"{KINDS[k].extension},{KINDS[k].mimetype}" for k in self.kinds)

    def as_dict(self) -> dict[str, Any]:
        return {"kinds": list(self.kinds), "label": self.label, "description": self.description,
                "max_bytes": MAX_BYTES, "max_files": MAX_PER_TASK}


class TooLarge(ServiceError):
    """A file beyond MAX_BYTES (refused before it is read in full)."""

    status = 413


TOO_LARGE = f"ไฟล์แนบต้องมีขนาดไม่เกิน {MAX_BYTES // 1024 // 1024} MB ไฟล์นี้ใหญ่เกินไป ยังไม่ได้บันทึก"


def declared(schema: Any) -> Declared | None:
    """The attachments a form's step takes; None when it takes none (or its declaration is broken,
    which publishing refuses: declaration_problems)."""
    spec = schema.get(KEYWORD) if isinstance(schema, dict) else None
    if spec is None or declaration_problems(schema):
        return None
    return Declared(tuple(spec["kinds"]), spec["label"], spec.get("description", ""))


def declaration_problems(schema: Any) -> list[str]:
    """Why a form's ``x-attachments`` cannot be used (empty when it can, or when there is none)."""
    if not isinstance(schema, dict) or KEYWORD not in schema:
        return []
    spec = schema[KEYWORD]
    where = f"{KEYWORD}"
    if not isinstance(spec, dict):
        return [f"{where}: must be an object with kinds and label"]
    problems = [f"{where}: unknown key {key!r} (allowed: kinds, label, description)"
                for key in spec if key not in ("kinds", "label", "description")]
    kinds = spec.get("kinds")
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
        problems.append(f"{where}/kinds: must be a non-empty list, of {', '.join(KINDS)}")
    else:
        problems += [f"{where}/kinds: {k!r} is not a kind the system checks (use {', '.join(KINDS)})"
                     for k in kinds if k not in KINDS]
        if len(set(kinds)) != len(kinds):
            problems.append(f"{where}/kinds: a kind is listed twice")
    for key, required in (("label", True), ("description", False)):
        value = spec.get(key)
        if value is None and not required:
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            problems.append(f"{where}/{key}: must be a text of 1 to 500 characters")
    return problems


def kind_of(head: bytes) -> Kind | None:
    """The kind a file's first bytes say it is; None for anything else (an executable renamed .pdf)."""
    return next((kind for kind in KINDS.values() if head.startswith(kind.signature)), None)


def check_content(declaration: Declared, head: bytes, size: int) -> Kind:
    """The file's kind. :raise Invalid: empty, or not one of the kinds the step takes.
    :raise TooLarge: beyond MAX_BYTES."""
    if size == 0:
        raise refused("ไฟล์ที่เลือกว่างเปล่า (0 ไบต์) กรุณาเลือกไฟล์ที่มีเนื้อหา")
    if size > MAX_BYTES:
        raise TooLarge(TOO_LARGE, [{"field": FIELD, "message": TOO_LARGE}])  # read no further than that
    kind = kind_of(head)
    if kind is None:
        raise refused(f"เนื้อไฟล์ไม่ใช่ไฟล์ {declaration.titles} (ระบบตรวจจากเนื้อไฟล์ ไม่ใช่จากชื่อไฟล์) "
                      "กรุณาเลือกไฟล์ที่ถูกต้อง")
    if kind.name not in declaration.kinds:
        raise refused(f"ขั้นตอนนี้รับเฉพาะไฟล์ {declaration.titles} แต่ไฟล์นี้เป็น {kind.title}")
    return kind


def refused(message: str) -> Invalid:
    return Invalid(message, [{"field": FIELD, "message": message}])


def clean_name(filename: str | None, kind: Kind) -> str:
    """The name kept and shown: the last part of what the browser sent, without control or
    invisible characters, at most MAX_NAME characters; a name of the file's kind when none is left."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:MAX_NAME - len(extension) - 1] + dot + extension) if dot and len(extension) <= 10 \
            else name[:MAX_NAME]
    return name or f"ไฟล์แนบ{kind.extension}"
