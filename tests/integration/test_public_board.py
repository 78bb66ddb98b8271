"""The public notice board (/public/, no log-in): only what was announced, of the organization named;
amendments numbered, with the plan's history; the ITA's stable addresses answer the newest version;
the Atom feed and the embeddable list; the QR code on each frozen PDF and the page that checks a copy."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from service.models import FrozenDocument
from service.web import public

from ..conftest import bangkok
from .documents_queue import get_document
from .procedure import Procedure
from .test_amendment import Amendment
from .test_attachments import Endless

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "http://127.0.0.1:5000"  # the default PHAEN_PUBLIC_URL


@pytest.fixture(autouse=True)
def _fresh_upload_counts():
    public._uploads.clear()
    yield
    public._uploads.clear()


def announced(client, org, **start):
    run = Procedure(client, org)
    pid = run.start(**start)["id"]
    run.through_announcement(pid)
    return run, pid


def frozen(ctx, pid):
    with ctx.db.read() as session:
        return {d.kind: (d.content, d.sha256) for d in session.scalars(
            select(FrozenDocument).where(FrozenDocument.plan_id == pid))}


def text(response) -> str:
    return response.get_data(as_text=True)


def amended(client, org, clock, plan_run):
    """An amendment of FY 2564 driven to its announcement: แก้ไขครั้งที่ 1/2564."""
    clock.set(bangkok(2021, 1, 6, 9, 0))
    run = Amendment(client, org)
    aid = run.start()["id"]
    for name in ("collect_changes", "draft_amendment", "consider_amendment", "approve_amendment",
                 "announce_amendment"):
        run.complete(aid, name)
    return run, aid


# --- What is shown, and what never is ---------------------------------------------------------
def test_only_announced_plans_of_the_organization_named_are_shown(ctx, client, org, other_org, clock):
    run, pid = announced(client, org)
    theirs_run, theirs = announced(client, other_org)
    draft = run.start(fiscal_year=2565, budget_announced_on="2020-10-05")["id"]  # a draft of the next year
    run.complete(draft, "collect_projects")

    page = client.get(f"/public/{org.code}/")
    assert page.status_code == 200
    body = text(page)
    assert "แผนการดำเนินงาน ประจำปีงบประมาณ พ.ศ. 2564" in body
    assert f"/public/{org.code}/plans/{pid}" in body
    assert f"/plans/{draft}" not in body and "2565</a>" not in body
    assert f"/plans/{theirs}" not in body  # another organization's announced plan is on its own board only
    assert f"/public/{other_org.code}/plans/{theirs}" in text(client.get(f"/public/{other_org.code}/"))

    # a draft, another organization's plan under this code, and unknown ids: the same 404
    for url in (f"/public/{org.code}/plans/{draft}", f"/public/{org.code}/plans/{theirs}",
                f"/public/{org.code}/plans/999999", f"/public/{org.code}/plans/{draft}/plan.pdf",
                f"/public/{org.code}/plans/{theirs}/plan.pdf", f"/public/verify/{draft}/plan",
                f"/public/{org.code}/plans/{pid}/record.pdf", f"/public/{org.code}/plans/{pid}/nothing.pdf"):
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert "ไม่พบ" in text(answer)
    # the draft's operational plan is rendered (with ร่าง) but is no frozen document: nothing to verify
    assert "plan" not in frozen(ctx, draft)

    # no log-in needed, and none is set up: public pages set no cookie
    assert "Set-Cookie" not in page.headers
    # nobody's personal data: the names typed in the steps stay off the board
    assert "นางสาวสมศรี" not in body and org.code + "-support_committee" not in body


def test_a_plan_sent_back_is_not_shown(ctx, client, org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    for name in ("collect_projects", "draft_plan", "propose_draft"):
        run.complete(pid, name)
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-09-25", "review_resolution": "revise",
                                         "review_comments": "ปรับงบประมาณโครงการ"})
    assert "draft_plan" in run.open_names(pid)
    assert f"/plans/{pid}" not in text(client.get(f"/public/{org.code}/"))
    assert client.get(f"/public/{org.code}/plans/{pid}").status_code == 404
    assert client.get(f"/public/{org.code}/2564/plan").status_code == 404


def test_the_item_page_gives_dates_posting_and_the_frozen_documents_with_size_and_sha256(ctx, client, org, clock):
    run, pid = announced(client, org)
    page = text(client.get(f"/public/{org.code}/plans/{pid}"))
    assert "1 ต.ค. 2563" in page  # announced on 2020-10-01, in พ.ศ.
    assert "ยังไม่ได้บันทึกการปิดประกาศ" in page
    stored = frozen(ctx, pid)
    assert set(stored) == {"plan", "announcement"}
    for kind, (content, sha256) in stored.items():
        assert sha256 in page and f"{len(content):,} ไบต์" in page
        download = client.get(f"/public/{org.code}/plans/{pid}/{kind}.pdf")
        assert download.status_code == 200 and download.data == content
        assert download.mimetype == "application/pdf" and download.headers["ETag"] == f'"{sha256}"'
        assert client.get(f"/public/{org.code}/plans/{pid}/{kind}.pdf",
                          headers={"If-None-Match": f'"{sha256}"'}).status_code == 304

    # posted on 2 Oct; on 12 Oct it has been up 9 whole days (the first day is not counted)
    run.complete(pid, "post_announcement")
    clock.set(bangkok(2020, 10, 12, 10, 0))
    page = text(client.get(f"/public/{org.code}/plans/{pid}"))
    assert "ตั้งแต่ 2 ต.ค. 2563" in page and "ยังปิดประกาศอยู่ ปิดประกาศแล้ว 9 วัน" in page
    assert "บอร์ดประชาสัมพันธ์สำนักงานเทศบาล" in page
    # certified on 20 Nov: the period as recorded, 48 days, as the posting certificate counts it
    clock.set(bangkok(2020, 11, 20, 10, 0))
    from service.commands import plans as commands
    commands.fire_due_timers(ctx)
    run.complete(pid, "certify_posting")
    page = text(client.get(f"/public/{org.code}/plans/{pid}"))
    assert "ตั้งแต่ 2 ต.ค. 2563" in page and "ถึง 20 พ.ย. 2563" in page and "รวม 48 วัน" in page
    assert "นางสาวสมศรี" not in page  # the certifier typed a name: the board shows none


def test_an_amendment_is_numbered_the_stable_address_answers_the_newest_and_history_lists_both(
        ctx, client, org, other_org, clock):
    run, pid = announced(client, org)
    stable = client.get(f"/public/{org.code}/2564/plan")
    assert stable.status_code == 200
    assert f"/public/{org.code}/plans/{pid}" in text(stable) and "แสดงฉบับล่าสุดที่ประกาศเสมอ" in text(stable)

    amendment, aid = amended(client, org, clock, run)
    board = text(client.get(f"/public/{org.code}/"))
    assert "การแก้ไขแผนการดำเนินงาน ครั้งที่ 1/2564" in board
    assert board.index(f"/plans/{aid}") < board.index(f"/plans/{pid}")  # newest first

    newest = text(client.get(f"/public/{org.code}/2564/plan"))
    assert "<h1>การแก้ไขแผนการดำเนินงาน ครั้งที่ 1/2564</h1>" in newest
    original = text(client.get(f"/public/{org.code}/plans/{pid}"))
    assert f"/public/{org.code}/plans/{aid}" in original and "การแก้ไขแผนการดำเนินงาน ครั้งที่ 1/2564" in original
    # the permanent link of each version keeps answering it
    assert "<h1>แผนการดำเนินงาน ประจำปีงบประมาณ พ.ศ. 2564</h1>" in original

    # an amendment started but not announced changes nothing
    second = amendment.start(role="planning_office", amendment_cause="agency_notice", cause_received_on="2021-01-16")
    assert f"/plans/{second['id']}" not in text(client.get(f"/public/{org.code}/"))
    assert "ครั้งที่ 1/2564</h1>" in text(client.get(f"/public/{org.code}/2564/plan"))
    # another organization has no plan of 2564: its stable address is a Thai 404
    missing = client.get(f"/public/{other_org.code}/2564/plan")
    assert missing.status_code == 404 and "ยังไม่มีแผนการดำเนินงาน" in text(missing)


def test_a_reader_asking_again_with_the_etag_is_answered_304_without_the_body(client, org):
    _, pid = announced(client, org)
    for path in (f"/public/{org.code}/", f"/public/{org.code}/plans/{pid}", f"/public/{org.code}/feed.atom",
                 f"/public/{org.code}/plans/{pid}/announcement.pdf"):
        first = client.get(path)
        assert first.status_code == 200 and first.headers["ETag"] and "max-age" in first.headers["Cache-Control"]
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.data == b"", path
    missing = client.get(f"/public/{org.code}/plans/999999")
    assert missing.status_code == 404 and missing.headers["Cache-Control"] == "no-store"


def test_a_crowd_is_answered_from_what_the_page_was_made_of_and_a_change_is_seen_at_once(ctx, client, org, clock,
                                                                                        monkeypatch):
    run, pid = announced(client, org)
    path = f"/public/{org.code}/plans/{pid}"
    first = client.get(path)
    made = []
    real = public.render_template
    monkeypatch.setattr(public, "render_template", lambda *a, **k: made.append(a[0]) or real(*a, **k))
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    again = client.get(path)  # another reader: the page this process made, not made again
    assert again.status_code == 200 and again.data == first.data and made == []
    assert again.headers["ETag"] == first.headers["ETag"]
    # the posting is recorded: the page changes, its ETag too, and the old one no longer answers 304
    run.complete(pid, "post_announcement")
    changed = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"] and made
    assert "ปิดประกาศ" in text(changed)
    # a new day in Bangkok: the days posted so far move on, so the page is made afresh
    made.clear()
    clock.set(clock.now() + timedelta(days=1))
    next_day = client.get(path, headers={"If-None-Match": changed.headers["ETag"]})
    assert next_day.status_code == 200 and made


def test_the_reports_addresses_answer_a_thai_404_until_they_exist_and_hostile_input_never_a_500(client, org):
    announced(client, org)
    for slug, words in (("progress-6-months", "รอบ 6 เดือน"), ("annual-report", "รายงานผลการดำเนินงานประจำปี")):
        answer = client.get(f"/public/{org.code}/2564/{slug}")
        assert answer.status_code == 404 and words in text(answer) and "<html lang=\"th\">" in text(answer)
    board = text(client.get(f"/public/{org.code}/"))
    for item in ("o9", "o10", "o11"):
        assert f">{item}<" in board
    assert f"{BASE}/public/{org.code}/2564/plan" in board and f"{BASE}/public/{org.code}/2564/annual-report" in board
    for url in ("/public/nosuch/", f"/public/{org.code}/99999/plan", f"/public/{org.code}/2564/other",
                f"/public/{org.code}/99999999999999999999/plan", f"/public/{'x' * 500}/",
                "/public/%E0%B8%81/", f"/public/{org.code}/plans/99999999999999999999", "/public/verify/abc",
                "/public/verify/" + "0" * 64, "/public/verify/" + "g" * 64, "/public/verify/1/record",
                "/public/verify/99999999999/plan", f"/public/{org.code}/plans/1/..%2F..%2Fetc.pdf",
                "/public/nosuch/feed.atom", "/public/nosuch/embed"):
        answer = client.get(url)
        assert answer.status_code == 404, url
    for query in ("?fiscal_year=99999", "?fiscal_year=abc", "?q=%25%27--", "?province=" + "ก" * 500, "?q=_"):
        assert client.get("/public/" + query).status_code == 200, query


def test_the_index_searches_by_name_province_and_fiscal_year(ctx, client, org, other_org):
    from service.commands import admin
    admin.add_organization(ctx, "chiangdao", "เทศบาลตำบลเชียงดาว", "เชียงใหม่")
    announced(client, org)
    everyone = text(client.get("/public/"))
    assert "เทศบาลตำบลกระดังงา" in everyone and "เทศบาลตำบลเชียงดาว" in everyone and "เชียงใหม่" in everyone
    by_name = text(client.get("/public/?q=กระดังงา"))
    assert "เทศบาลตำบลกระดังงา" in by_name and "บางคนที" not in by_name
    by_province = text(client.get("/public/?province=เชียงใหม่"))
    assert "เชียงดาว" in by_province and "กระดังงา" not in by_province
    by_year = text(client.get("/public/?fiscal_year=2564"))
    assert "กระดังงา" in by_year and "เชียงดาว" not in by_year and "บางคนที" not in by_year
    assert "1 รายการ" in by_year
    assert "เทศบาลตำบล" not in text(client.get("/public/?fiscal_year=2570")).split("<table")[-1]


# --- The feed and the embeddable list --------------------------------------------------------------
def test_the_atom_feed_is_atom_1_0_with_stable_ids(ctx, client, org, clock):
    run, pid = announced(client, org)
    _, aid = amended(client, org, clock, run)
    response = client.get(f"/public/{org.code}/feed.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = etree.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    # RFC 4287: a feed has exactly one id, title, updated; an author (here at feed level); entries likewise
    for name in ("id", "title", "updated", "author"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1, name
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == f"{BASE}/public/{org.code}/feed.atom"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    ids = []
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))  # a date-time with its offset
        assert datetime.fromisoformat(entry.findtext(f"{ATOM}updated")).tzinfo is not None
        ids.append(entry.findtext(f"{ATOM}id"))
    assert all(uuid.UUID(i.removeprefix("urn:uuid:")) for i in ids) and len(set(ids)) == 2
    assert entries[0].findtext(f"{ATOM}title") == "การแก้ไขแผนการดำเนินงาน ครั้งที่ 1/2564"  # newest first
    enclosures = entries[1].findall(f"{ATOM}link[@rel='enclosure']")
    assert {e.get("href") for e in enclosures} == {f"{BASE}/public/{org.code}/plans/{pid}/{k}.pdf"
                                                  for k in ("plan", "announcement")}
    # the same ids on the next read, and after the clock moves on
    clock.set(bangkok(2021, 3, 1, 9, 0))
    again = etree.fromstring(client.get(f"/public/{org.code}/feed.atom").data)
    assert [e.findtext(f"{ATOM}id") for e in again.findall(f"{ATOM}entry")] == ids
    assert again.findtext(f"{ATOM}id") == feed.findtext(f"{ATOM}id")


def test_only_the_embeddable_list_may_be_framed(client, org):
    _, pid = announced(client, org)
    embed = client.get(f"/public/{org.code}/embed")
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed.headers
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "script-src 'self'" in embed.headers["Content-Security-Policy"]
    assert f"{BASE}/public/{org.code}/plans/{pid}" in text(embed) and 'target="_blank"' in text(embed)
    for url in (f"/public/{org.code}/", f"/public/{org.code}/plans/{pid}", "/public/verify", "/login"):
        other = client.get(url)
        assert other.headers["X-Frame-Options"] == "DENY", url
        assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"], url


# --- Proof on paper ------------------------------------------------------------------------------
def _qr_codes(pdf: bytes, page: int = 1) -> list[tuple[str, float, float]]:
    """The QR codes on a page of the PDF as printed (rendered by pdftoppm, read by zxing-cpp):
    (text, centre x, centre y), the centre as fractions of the page's width and height."""
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "document.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", "-f", str(page), "-l", str(page),
                        str(source), str(Path(folder) / "page")], check=True)
        with Image.open(Path(folder) / "page.png") as image:
            image.load()
            codes, width, height = zxingcpp.read_barcodes(image), image.width, image.height
    found = []
    for code in codes:
        corners = [code.position.top_left, code.position.top_right, code.position.bottom_left,
                   code.position.bottom_right]
        found.append((code.text, sum(c.x for c in corners) / 4 / width, sum(c.y for c in corners) / 4 / height))
    return found


def _pages(pdf: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True, text=False).stdout
    return int(re.search(rb"Pages:\s+(\d+)", info).group(1))


def test_each_frozen_pdf_carries_a_qr_code_in_its_footer_that_leads_to_its_verify_page(ctx, client, org):
    ctx.settings.public_url = "https://phaen.example.go.th"  # PHAEN_PUBLIC_URL: what the paper prints
    run, pid = announced(client, org)
    for kind, (content, sha256) in frozen(ctx, pid).items():
        pages = _pages(content)
        for page in sorted({1, pages}):  # the first page and the last (a landscape form, for the plan)
            codes = _qr_codes(content, page)
            assert [c[0] for c in codes] == [f"https://phaen.example.go.th/public/verify/{pid}/{kind}"], (kind, page)
            _, x, y = codes[0]
            assert x > 0.75 and y > 0.9, (kind, page, x, y)  # bottom right, in the margin
        verify = client.get(f"/public/verify/{pid}/{kind}")
        assert verify.status_code == 200
        assert sha256 in text(verify) and "เทศบาลตำบลกระดังงา" in text(verify) and "1 ต.ค. 2563" in text(verify)

    # a draft carries none; nor does the record, which is never frozen
    draft = run.start(fiscal_year=2565, budget_announced_on="2020-10-05")["id"]
    plan = get_document(client, f"/api/v1/plans/{draft}/documents/plan.pdf", headers=org.headers("auditor"))
    record = get_document(client, f"/api/v1/plans/{pid}/documents/record.pdf", headers=org.headers("auditor"))
    assert plan.status_code == record.status_code == 200
    assert _qr_codes(plan.data) == [] and _qr_codes(record.data) == []


def test_the_verify_page_checks_an_upload_or_a_typed_hash(ctx, client, org, other_org):
    _, pid = announced(client, org)
    content, sha256 = frozen(ctx, pid)["announcement"]

    def upload(url, data, name="copy.pdf", mimetype="application/pdf"):
        return client.post(url, data={"file": (io.BytesIO(data), name, mimetype)},
                           content_type="multipart/form-data")

    same = upload(f"/public/verify/{pid}/announcement", content)
    assert same.status_code == 200 and "ตรงกัน</strong>" in text(same) and "ไม่ตรงกัน" not in text(same)
    changed = bytearray(content)
    changed[len(changed) // 2] ^= 0x01  # one bit of one byte
    other = upload(f"/public/verify/{pid}/announcement", bytes(changed))
    assert other.status_code == 200 and "ไม่ตรงกัน</strong>" in text(other)
    assert hashlib.sha256(bytes(changed)).hexdigest() in text(other)
    # the plan's own PDF is announced too, but it is not this document
    assert "ไม่ตรงกัน</strong>" in text(upload(f"/public/verify/{pid}/announcement", frozen(ctx, pid)["plan"][0]))

    # against every announced document: found, with who announced it
    anywhere = upload("/public/verify", content)
    assert "ตรงกัน</strong>" in text(anywhere) and "เทศบาลตำบลกระดังงา" in text(anywhere)
    assert "ไม่ตรงกัน</strong>" in text(upload("/public/verify", b"%PDF-1.7\n" + bytes(range(256)) * 8))

    # refused: not a PDF by its content (whatever its name), empty, no file, too large
    for data, name in ((b"MZ\x90\x00 an executable", "plan.pdf"), (b"", "empty.pdf")):
        refused = upload(f"/public/verify/{pid}/announcement", data, name)
        assert refused.status_code == 422 and 'aria-invalid="true"' in text(refused)
    assert upload("/public/verify", content, "copy.pdf", "image/png").status_code == 422
    assert client.post("/public/verify", data={}, content_type="multipart/form-data").status_code == 422
    head = (b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF-")
    body = Endless(head, 50 * 1024 * 1024)
    big = client.post("/public/verify", input_stream=body, content_type="multipart/form-data; boundary=x")
    assert big.status_code == 413 and "10 MB" in text(big)
    assert body.read_so_far < 1024 * 1024  # refused from its length, before it was read

    # the typed hash: any case and spaces; a wrong one is said beside the field; an unknown one a 404
    typed = client.get(f"/public/verify?sha256=%20{sha256.upper()}%20")
    assert typed.status_code == 302 and typed.headers["Location"].endswith(f"/public/verify/{sha256}")
    page = client.get(f"/public/verify/{sha256}")
    assert page.status_code == 200 and "ประกาศใช้แผนการดำเนินงาน" in text(page) and "กระดังงา" in text(page)
    for wrong in ("abc", "z" * 64, sha256 + "0", "ก" * 64):
        assert client.get("/public/verify", query_string={"sha256": wrong}).status_code == 422
    assert client.get(f"/public/verify/{hashlib.sha256(b'x').hexdigest()}").status_code == 404
    assert client.get("/public/verify").status_code == 200


def test_uploads_are_limited_per_client_address(ctx, client, org):
    _, pid = announced(client, org)
    content, _ = frozen(ctx, pid)["plan"]
    statuses = [client.post(f"/public/verify/{pid}/plan", data={"file": (io.BytesIO(content), "p.pdf")},
                            content_type="multipart/form-data").status_code
                for _ in range(public.UPLOADS_PER_WINDOW + 2)]
    assert statuses == [200] * public.UPLOADS_PER_WINDOW + [429, 429]
    assert "กรุณารอสักครู่" in text(client.post("/public/verify", data={}, content_type="multipart/form-data"))
    # another address is not held back; reading the page needs no upload and is never limited
    assert client.post(f"/public/verify/{pid}/plan", data={"file": (io.BytesIO(content), "p.pdf")},
                       content_type="multipart/form-data", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    assert client.get(f"/public/verify/{pid}/plan").status_code == 200


def test_the_organizations_admin_copies_the_ita_addresses_from_the_strategies_page(ctx, client, org):
    from .web import add_person, log_in

    announced(client, org)
    log_in(client, add_person(ctx, "somsri", org.code, ["admin"]))
    page = text(client.get(f"/organizations/{org.code}/strategies"))
    for slug, item in (("plan", "o9"), ("progress-6-months", "o10"), ("annual-report", "o11")):
        assert f"<code>{BASE}/public/{org.code}/2564/{slug}</code>" in page
        assert f">{item}<" in page


def test_the_public_address_is_checked_at_start_up():
    from service.config import Settings

    assert Settings.from_env({}).public_url == BASE
    assert Settings.from_env({"PHAEN_PUBLIC_URL": " https://phaen.example.go.th/ "}).public_url == \
        "https://phaen.example.go.th"
    for wrong in ("javascript:alert(1)", "phaen.example.go.th", "https://a b", "https://x/?q=1", "https://ก.th"):
        with pytest.raises(ValueError, match="PHAEN_PUBLIC_URL"):
            Settings.from_env({"PHAEN_PUBLIC_URL": wrong})


def test_the_public_board_as_a_posting_place_counts_from_the_systems_record_and_shows_on_the_certificate(
        ctx, client, org, clock):
    run, pid = announced(client, org)  # recorded on 1 Oct 2020 (the test clock's day then)
    run.complete(pid, "post_announcement", {**run.sample(pid, "post_announcement"), "posting_public_board": True})
    clock.set(bangkok(2020, 10, 12, 10, 0))
    page = text(client.get(f"/public/{org.code}/plans/{pid}"))
    assert "และทางป้ายประกาศสาธารณะนี้ ตั้งแต่ 1 ต.ค. 2563" in page and "ยังเผยแพร่อยู่ 10 วัน" in page

    from service.commands import plans as commands
    clock.set(bangkok(2020, 11, 20, 10, 0))
    commands.fire_due_timers(ctx)
    run.complete(pid, "certify_posting")
    certificate = get_document(client, f"/api/v1/plans/{pid}/documents/posting-certificate.pdf",
                               headers=org.headers("auditor"))
    assert certificate.status_code == 200
    words = subprocess.run(["pdftotext", "-layout", "-", "-"], input=certificate.data, capture_output=True,
                           check=True).stdout.decode()
    flat = "".join(words.split())  # pdftotext splits Thai around its marks (and mangles some: DESIGN.md)
    assert "ป้ายประกาศสาธารณะทาง" in flat and f"{BASE}/public/{org.code}/plans/{pid}" in flat
    assert "ระบบไม่ปลดประกาศเอง" in flat and "รวม๔๙วัน" in flat  # 1 Oct to 20 Nov, first day not counted
    # without the place named, the certificate says nothing of it
    other, second = announced(client, org, fiscal_year=2565, budget_announced_on="2020-11-20")
    assert "ทางป้ายประกาศสาธารณะนี้" not in text(client.get(f"/public/{org.code}/plans/{second}"))
