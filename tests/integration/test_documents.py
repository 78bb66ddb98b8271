"""The plan's documents as PDFs through the API, read back with poppler's pdftotext/pdfinfo."""

from __future__ import annotations

import gc
import os
import re
import subprocess
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest

from service.commands import plans as commands
from service.documents.records import PLAN_PROGRAMS
from service.thai.baht import bahttext
from service.thai.dates import to_thai_digits as thai_digits

from ..conftest import bangkok
from .documents_queue import get_document
from .procedure import PROJECT, SAMPLES, Procedure

#: Thai marks above and below the line: pdftotext maps Laksaman's mark variants and SARA AM
#: inconsistently, so text is compared without them (and without whitespace, which it moves).
_MARKS = re.compile("[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\\s]")


def key(text: str) -> str:
    return _MARKS.sub("", text.replace("\u0e33", "\u0e32"))


class Pdf:
    def __init__(self, data: bytes, path: Path):
        assert data.startswith(b"%PDF")
        path.write_bytes(data)
        self.path = path
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
        self.pages = out.stdout.decode("utf-8").split("\f")[:-1]
        info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(path)], capture_output=True, check=True)
        self.sizes = [tuple(float(v) for v in m) for m in
                      re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info.stdout.decode())]
        assert len(self.sizes) == len(self.pages)

    @property
    def text(self) -> str:
        return key("".join(self.pages))

    def landscape(self, index: int) -> bool:
        width, height = self.sizes[index]
        return width > height

    def watermarked_pages(self) -> int:
        """Pages carrying a word taller than any body text: the diagonal "ร่าง"."""
        out = subprocess.run(["pdftotext", "-bbox", str(self.path), "-"], capture_output=True, check=True).stdout
        pages = out.decode("utf-8").split("<page ")[1:]
        tall = re.compile(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)<')
        return sum(any(float(b) - float(a) > 100 and w in "ร่าง" for a, b, w in tall.findall(p)) for p in pages)

    def png(self, first: int, last: int, prefix: str) -> None:
        subprocess.run(["pdftoppm", "-r", "60", "-f", str(first), "-l", str(last), "-png", str(self.path),
                        str(self.path.parent / prefix)], check=True)


@pytest.fixture
def out(tmp_path) -> Path:
    """Where the PDFs and page images of this test are kept (PHAEN_TEST_OUTPUT to keep them)."""
    base = os.environ.get("PHAEN_TEST_OUTPUT")
    folder = Path(base) / tmp_path.name if base else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fetch(client, org, plan_id, kind, role="auditor"):
    return get_document(client, f"/api/v1/plans/{plan_id}/documents/{kind}.pdf", headers=org.headers(role))


def test_documents_of_a_plan_from_draft_to_certified_posting(ctx, client, org, other_org, clock, out):
    run = Procedure(client, org)
    pid = run.start(fiscal_year=2564)["id"]
    equipment = {**PROJECT, "name": "เครื่องคอมพิวเตอร์สำหรับงานประมวลผล", "is_equipment": True, "budget": 44000,
                 "equipment_category": "ค่าครุภัณฑ์", "equipment_type": "ครุภัณฑ์คอมพิวเตอร์",
                 "plan_program": "บริหารงานทั่วไป", "activities": "จำนวน 2 เครื่อง", "months": [11]}
    projects = [*SAMPLES["collect_projects"]["projects"], equipment]
    run.complete(pid, "collect_projects", {"projects": projects})

    for kind in ("announcement", "posting-certificate"):
        early = fetch(client, org, pid, kind)
        assert early.status_code == 404 and early.mimetype == "application/problem+json"
        assert "ประกาศ" in early.get_json()["detail"]
    assert fetch(client, other_org, pid, "plan").status_code == 404
    assert fetch(client, org, pid, "minutes").status_code == 404
    assert client.get(f"/api/v1/plans/{pid}/documents/plan.pdf").status_code == 401

    response = fetch(client, org, pid, "plan")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        "inline; filename=\"operational-plan-2564-" + org.code + ".pdf\"; filename*=UTF-8''"
        + quote("แผนการดำเนินงาน-2564-เทศบาลตำบลกระดังงา.pdf", safe=""))
    draft = Pdf(response.data, out / "draft-plan.pdf")
    assert draft.watermarked_pages() == len(draft.pages)
    cover = key(draft.pages[0])
    assert key("แผนการดำเนินงาน") in cover and key("ประจำปีงบประมาณ พ.ศ. ๒๕๖๔") in cover
    assert key("เทศบาลตำบลกระดังงา") in cover and key("จังหวัดทดสอบ") in cover
    # Thai page numbers at the top centre from the second page; text pages portrait, forms landscape
    for index, page in enumerate(draft.pages[1:], start=2):
        assert re.match(rf"\s*-\s*{thai_digits(index)}\D", page), page[:40]  # pdftotext may drop the closing "-"
    flow_index = next(i for i, p in enumerate(draft.pages) if key("แผนภูมิขั้นตอนการจัดทำแผน") in key(p)
                      and key("คณะกรรมการพัฒนาท้องถิ่น") in key(p) and key("ช่องด้านซ้าย") in key(p))
    assert not draft.landscape(flow_index)  # steps top to bottom, as the seed prints them
    flowchart = key(draft.pages[flow_index])
    for label in ("รวบรวมโครงการ/กิจกรรม", "พิจารณาร่างแผนการดำเนินงาน", "ผู้บริหารท้องถิ่น", "ให้แก้ไขร่าง",
                  "สำนักปลัด (งานนโยบายและแผน)", "ปิดประกาศแผนการดำเนินงาน", "รับรองการปิดประกาศ"):
        assert key(label) in flowchart, label
    for internal in ("BPMN", "SHA", "operational_plan", key("ฉบับที่")):  # plain Thai, no internal names
        assert internal not in draft.pages[flow_index], internal
    forms = [i for i, p in enumerate(draft.pages) if re.search(r"^แบบ ผด\.", p, re.MULTILINE)]
    assert forms and all(draft.landscape(i) for i in forms)
    text = draft.text
    assert key("ผด.๐๑") in text and key("ผด.๐๒/๑") in text
    assert key("พ.ศ. ๒๕๖๓") in text and key("พ.ศ. ๒๕๖๔") in text
    for month in ("ต.ค.", "พ.ย.", "ธ.ค.", "ม.ค.", "ก.ย."):
        assert key(month) in text
    assert key("รถบรรทุกน้ำ") in text and key("เครื่องคอมพิวเตอร์") in text  # cells wrap: check one line of each
    assert "2,980,000.50" in text  # both projects: 480,000.00 + 2,500,000.50
    assert key(bahttext(Decimal("2980000.50"))) in text
    assert "44,000.00" in text and key("สี่หมื่นสี่พันบาทถ้วน") in text
    draft.png(1, len(draft.pages), "draft-plan")

    for name in ("draft_plan", "propose_draft", "consider_draft", "present_to_executive", "approve_plan",
                 "announce_plan"):
        run.complete(pid, name)
    announced = Pdf(fetch(client, org, pid, "plan").data, out / "announced-plan.pdf")
    assert announced.watermarked_pages() == 0
    assert "2,980,000.50" in announced.text

    announcement = Pdf(fetch(client, org, pid, "announcement").data, out / "announcement.pdf")
    text = announcement.text
    assert len(announcement.pages) == 1 and not announcement.landscape(0)
    assert key("ประกาศเทศบาลตำบลกระดังงา") in text
    assert key("เรื่อง ประกาศใช้แผนการดำเนินงาน ประจำปีงบประมาณ พ.ศ. ๒๕๖๔") in text
    assert key("๒๕ กันยายน พ.ศ. ๒๕๖๓") in text and key("๒๙ กันยายน พ.ศ. ๒๕๖๓") in text
    assert key("ประกาศ ณ วันที่ ๑ ตุลาคม พ.ศ. ๒๕๖๓") in text
    assert key("(นายสมชาย ใจดี)") in text and key("นายกเทศมนตรีตำบลกระดังงา") in text
    assert key("รายละเอียดปรากฏตามเอกสารแนบท้ายประกาศนี้") in text
    assert announcement.watermarked_pages() == 0
    announcement.png(1, 1, "announcement")

    clock.set(bangkok(2020, 10, 2, 10, 0))
    run.complete(pid, "post_announcement")
    clock.set(bangkok(2020, 11, 20, 9, 0))
    commands.fire_due_timers(ctx)
    run.complete(pid, "certify_posting")
    certificate = Pdf(fetch(client, org, pid, "posting-certificate").data, out / "posting-certificate.pdf")
    text = certificate.text
    assert len(certificate.pages) == 1
    assert key("หนังสือรับรองการปิดประกาศ") in text and key("นางสาวสมศรี ประกาศ") in text
    assert key("บอร์ดประชาสัมพันธ์สำนักงานเทศบาล") in text
    assert key("ตั้งแต่วันที่ ๒ ตุลาคม พ.ศ. ๒๕๖๓ ถึงวันที่ ๒๐ พฤศจิกายน พ.ศ. ๒๕๖๓") in text
    assert key("รวมเวลาปิดประกาศ ๔๘ วัน") in text  # 3 Oct – 19 Nov: first and last (partial) day not counted
    # table cells wrap and pdftotext interleaves their lines: check the dates themselves
    assert key("ภายในวันที่ ๑๖") in text and key("เป็นไปตามกำหนด") in text
    assert key("๑ พฤศจิกายน") in text  # the 30 days' end; the verdicts' words are the deadlines' (issue 13)
    certificate.png(1, 1, "posting-certificate")

    record = Pdf(fetch(client, org, pid, "record").data, out / "record.pdf")
    text = record.text
    assert key("บันทึกการจัดทำแผนการดำเนินงาน") in text and key("พ.ศ. ๒๕๖๔") in text
    for step in ("รวบรวมโครงการ", "ให้ความเห็นชอบ", "รับรองการปิด"):  # cells wrap: one line of each
        assert key(step) in text, step
    assert key("คณะกรรมการพัฒนา") in text and key("เห็นชอบร่าง") in text
    assert key("๒๑ ก.ย. ๒๕๖๓ ๐๙:๐๐ น.") in text  # Bangkok time, Buddhist Era
    assert key("๒ ต.ค. ๒๕๖๓ ๑๐:๐๐ น.") in text
    assert key("ข้อ 27") in text and key("เป็นไปตามกำหนด") in text and key("ปิดประกาศครบ 30 วัน") in text
    record.png(1, len(record.pages), "record")


STRATEGIES = ("การพัฒนาด้านโครงสร้างพื้นฐาน", "การพัฒนาด้านเศรษฐกิจ", "การพัฒนาด้านสังคมและคุณภาพชีวิต",
              "การพัฒนาด้านการศึกษา ศาสนา และวัฒนธรรม", "การพัฒนาด้านทรัพยากรธรรมชาติ",
              "การพัฒนาด้านการบริหารจัดการที่ดี")


def test_a_plan_of_300_projects_across_every_strategy_and_plan_program(ctx, client, other_org, clock, out):
    clock.set(bangkok(2023, 9, 25, 9, 0))
    run = Procedure(client, other_org)
    pid = run.start(fiscal_year=2567, budget_announced_on="2023-09-22")["id"]
    projects = [{
        **PROJECT, "name": f"โครงการ ก{i:03d} ซ่อมถนน", "activities": "ซ่อมผิวจราจร", "place": f"หมู่ที่ {i % 9 + 1}",
        "budget": 10000 + i * 1234.5, "strategy": STRATEGIES[i % 6],
        "plan_program": PLAN_PROGRAMS[(i // 6) % 12], "months": [10 + i % 3] if i % 2 else [i % 9 + 1],
    } for i in range(300)]
    run.complete(pid, "collect_projects", {"projects": projects})

    plan = Pdf(fetch(client, other_org, pid, "plan").data, out / "plan-300.pdf")
    text = plan.text
    assert key("องค์การบริหารส่วนตำบลบางคนที") in key(plan.pages[0]) and key("พ.ศ. ๒๕๖๗") in key(plan.pages[0])
    assert "๒๕๖๖" in text  # the year band over ต.ค.–ธ.ค. (its cell wraps "พ.ศ." apart)
    missing = [i for i in range(300) if f"ก{i:03d}" not in text]
    assert not missing
    total = sum(Decimal(str(p["budget"])) for p in projects)
    assert f"{total:,.2f}" in text and key(bahttext(total)) in text
    for strategy in STRATEGIES:
        subtotal = sum(Decimal(str(p["budget"])) for p in projects if p["strategy"] == strategy)
        assert f"{subtotal:,.2f}" in text, strategy
    for strategy in STRATEGIES[:2]:
        for program in PLAN_PROGRAMS:
            group = [Decimal(str(p["budget"])) for p in projects
                     if p["strategy"] == strategy and p["plan_program"] == program]
            if group:
                assert f"{sum(group):,.2f}" in text, (strategy, program)
    form02 = [i for i, p in enumerate(plan.pages) if key("รายละเอียดของกิจกรรม") in key(p)]
    assert len(form02) > 10 and all(plan.landscape(i) for i in form02)
    # the header of ผด.02 is repeated on every page of it, with both year bands
    assert all("๒๕๖๖" in plan.pages[i] and key("ก.ย.") in key(plan.pages[i]) for i in form02)
    assert plan.watermarked_pages() == len(plan.pages)
    plan.png(form02[0] + 1, form02[0] + 2, "form02")


def test_a_plan_with_no_projects_yet_still_renders_saying_so(client, org, out):
    pid = Procedure(client, org).start()["id"]
    plan = Pdf(fetch(client, org, pid, "plan").data, out / "empty.pdf")
    assert key("ไม่มีโครงการ/กิจกรรมในแผนการดำเนินงานนี้") in plan.text
    assert key("ไม่มีครุภัณฑ์ที่ไม่ได้ดำเนินการในโครงการพัฒนา") in plan.text
    assert "0.00" in plan.text and key("ศูนย์บาทถ้วน") in plan.text


def test_rendering_gives_the_garbage_collector_back_as_it_found_it(client, org):
    """WeasyPrint runs with the collector paused (documents/render.py); a worker left
    without it would grow until it is killed."""
    pid = Procedure(client, org).start()["id"]
    assert fetch(client, org, pid, "plan").status_code == 200
    assert gc.isenabled()
    gc.disable()
    try:
        assert fetch(client, org, pid, "plan").status_code == 200
        assert not gc.isenabled()
    finally:
        gc.enable()
