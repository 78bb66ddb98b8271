"""Hardened XML parsing for files that designers upload (BPMN): no DOCTYPE, no entities,
no network, bounded size. SpiffWorkflow only ever sees trees parsed here."""

from __future__ import annotations

from lxml import etree

MAX_XML_BYTES = 2 * 1024 * 1024


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
