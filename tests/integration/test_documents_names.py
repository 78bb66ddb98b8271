"""Every document is downloaded under a name people understand, in Thai, with an ASCII name for
clients that cannot take it (RFC 6266 ``filename`` and RFC 5987 ``filename*``), from the pages and the API."""

from __future__ import annotations

import re
from urllib.parse import unquote

from service.documents import names

from .documents_queue import get_document
from .procedure import Procedure

TITLES = {"plan": "แผนการดำเนินงาน", "announcement": "ประกาศใช้แผนการดำเนินงาน",
          "posting-certificate": "หนังสือรับรองการปิดประกาศ", "record": "บันทึกการจัดทำแผนการดำเนินงาน"}
WEB_NAMES = {"plan": "operational-plan", "announcement": "announcement", "record": "record"}


def parsed(header: str) -> tuple[str, str, str]:
    """(disposition, ASCII filename, filename* decoded)."""
    match = re.fullmatch(r'(inline|attachment); filename="([ -~]+)"; filename\*=UTF-8\'\'([A-Za-z0-9%._~-]+)', header)
    assert match, header
    return match.group(1), match.group(2), unquote(match.group(3))


def test_the_plans_documents_are_named_by_title_year_and_organization_on_the_api_and_the_pages(client, org):
    run = Procedure(client, org)
    pid = run.start(fiscal_year=2564)["id"]
    run.through_announcement(pid)
    for kind in ("plan", "announcement", "record"):
        api = get_document(client, f"/api/v1/plans/{pid}/documents/{kind}.pdf", headers=org.headers("auditor"))
        web = get_document(client, f"/plans/{pid}/{WEB_NAMES[kind]}.pdf", headers=org.headers("auditor"))
        assert api.status_code == web.status_code == 200, kind
        for response in (api, web):
            disposition, fallback, name = parsed(response.headers["Content-Disposition"])
            assert disposition == "inline"
            assert name == f"{TITLES[kind]}-2564-เทศบาลตำบลกระดังงา.pdf"
            assert fallback == f"{names.ASCII[kind]}-2564-kradangnga.pdf"
    assert names.filename("plan", 2570, "เทศบาลตำบลกระดังงา") == "แผนการดำเนินงาน-2570-เทศบาลตำบลกระดังงา.pdf"


def test_names_hold_nothing_a_file_system_or_a_header_cannot_take():
    name = names.filename("posting-certificate", 2570, 'อบต. "บ้าน/ใหม่"\r\n; ทดสอบ')
    assert name == "หนังสือรับรองการปิดประกาศ-2570-อบต.-บ้าน-ใหม่-ทดสอบ.pdf"
    assert not set(name) & set('/\\:*?"<>|;\r\n')
    header = names.content_disposition(name, names.ascii_filename("posting-certificate", 2570, "บ้าน ใหม่/01"))
    assert "\r" not in header and "\n" not in header
    _, fallback, decoded = parsed(header)
    assert fallback == "posting-certificate-2570-01.pdf" and decoded == name
    assert names.ascii_filename("record", 2570, "") == "plan-record-2570.pdf"
