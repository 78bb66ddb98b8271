"""Hardened XML for files people upload: no DOCTYPE, no entities, no network, bounded size.
SpiffWorkflow only ever sees trees parsed here; a spreadsheet's XML, which openpyxl parses, is
scanned for a DOCTYPE here first."""

from __future__ import annotations

import re
from typing import IO

from lxml import etree  # type: ignore[import-untyped]

MAX_XML_BYTES = 2 * 1024 * 1024
#: A DOCTYPE or an entity declaration: it could read files or the network, or expand without end.
DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


class UnsafeXml(ValueError):
    pass


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, dtd_validation=False, load_dtd=False,
    huge_tree=False, remove_comments=False,
)


def parse(data: bytes, filename: str = "<bpmn>") -> etree._ElementTree:
    if len(data) > MAX_XML_BYTES:
        raise UnsafeXml(f"{filename}: file is larger than {MAX_XML_BYTES // 1024} KB")
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser=_PARSER))
    except etree.XMLSyntaxError as err:
        raise UnsafeXml(f"{filename}: line {err.lineno}: XML is not well formed: {err.msg}") from err
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXml(f"{filename}: a DOCTYPE is not allowed (entities could read files or the network)")
    return tree


def declaration_line(data: bytes) -> int | None:
    """The line of the first DOCTYPE or ENTITY declaration in ``data``; None when there is none."""
    found = DECLARATION.search(data)
    return data[:found.start()].count(b"\n") + 1 if found else None


def stream_declares(stream: IO[bytes], chunk_size: int = 65536) -> bool:
    """Whether a stream (a member of a zip, read once) holds a DOCTYPE or ENTITY declaration."""
    tail = b""
    while chunk := stream.read(chunk_size):
        if DECLARATION.search(tail + chunk):
            return True
        tail = chunk[-16:]
    return False
