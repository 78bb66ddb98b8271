"""The names a plan's documents are downloaded under: in Thai for people
("แผนการดำเนินงาน-2570-เทศบาลตำบลกระดังงา.pdf"), with an ASCII name for clients that cannot take it."""

from __future__ import annotations

import re
from urllib.parse import quote

from service.documents.records import TITLES

#: Each document's name in ASCII, for the fallback ``filename`` (RFC 6266).
ASCII = {"plan": "operational-plan", "announcement": "announcement", "posting-certificate": "posting-certificate",
         "record": "plan-record", "evaluation": "evaluation-report"}
#: What a file name may not hold on common systems, and runs of spaces: each becomes one hyphen.
_UNSAFE = re.compile(r'[\s\\/:*?"<>|\x00-\x1f\x7f;,%]+')
_NOT_ASCII_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def filename(kind: str, fiscal_year: int, organization: str, title: str | None = None) -> str:
    """``<title>-<พ.ศ.>-<organization>.pdf``, e.g. แผนการดำเนินงาน-2570-เทศบาลตำบลกระดังงา.pdf
    (``title``: as the plan's process words it, else the kind's own)."""
    parts = [title or TITLES[kind], str(fiscal_year), organization]
    return "-".join(p for p in (_UNSAFE.sub("-", part).strip("-.") for part in parts) if p) + ".pdf"


def ascii_filename(kind: str, fiscal_year: int, organization_code: str) -> str:
    code = _NOT_ASCII_NAME.sub("-", organization_code).strip("-.")
    return "-".join(p for p in (ASCII[kind], str(fiscal_year), code) if p) + ".pdf"


def content_disposition(name: str, fallback: str, disposition: str = "inline") -> str:
    """The header value with both names: ``filename`` in ASCII and ``filename*`` in UTF-8 (RFC 5987)."""
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
