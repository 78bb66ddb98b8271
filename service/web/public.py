"""The public notice board, no log-in: the organizations, what each has announced, each item with its
frozen documents, the stable addresses the ITA asks for, an Atom feed and an embeddable list per
organization, and the page that checks a printed or downloaded copy against the one announced.

Every page only reads (service/noticeboard.py). The verify upload is a POST without CSRF: it changes
nothing and stores nothing (the file is hashed in memory), so a forged one gains nothing; it is
bounded in size and per client address instead.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from lxml import etree  # type: ignore[import-untyped]
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from service import noticeboard
from service.commands import documents as freezing
from service.documents import names, render
from service.documents.records import TITLES
from service.errors import NotFound, ServiceError
from service.http import CONTENT_SECURITY_POLICY, DETAILS, ctx, title
from service.thai import dates
from service.web.auth import client_address, csrf

bp = Blueprint("public", __name__, url_prefix="/public")
csrf.exempt(bp)  # see the module's docstring: the one POST here has no effect to forge

#: An uploaded copy is at most this large (read from the request's length before it is read); a
#: larger announced document is checked by typing its SHA-256.
MAX_UPLOAD = 10 * 1024 * 1024
#: uploads one client address may make per window, per web process
UPLOADS_PER_WINDOW, WINDOW_SECONDS = 20, 600
UPLOAD_ENDPOINTS = {"public.check_any", "public.check_document"}
#: public pages may be cached briefly by browsers and proxies; a frozen document forever
PAGE_CACHE = "public, max-age=60"
DOCUMENT_CACHE = "public, max-age=31536000, immutable"
#: the embeddable list may be framed by any site (an organization's own web page); nothing else may
EMBED_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")
ATOM = "http://www.w3.org/2005/Atom"


@bp.url_value_preprocessor
def _bound_uploads(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = MAX_UPLOAD


@bp.after_request
def _cacheable(response: Response) -> Response:
    """Announced items do not change once shown: a reader's browser (or a proxy in front of a crowd)
    keeps a page a while, and asks again with its ETag, answered 304 without the body."""
    response.headers.setdefault("Cache-Control", PAGE_CACHE if response.status_code == 200 else "no-store")
    if request.method == "GET" and response.status_code == 200 and not response.direct_passthrough:
        if "ETag" not in response.headers:
            response.add_etag()
        response.make_conditional(request)
    return response


@bp.context_processor
def _addresses() -> dict[str, Any]:
    return {"config_public_url": ctx().settings.public_url}


@bp.errorhandler(ServiceError)
def _service_error(err: ServiceError) -> ResponseReturnValue:
    return _error(err.status, err.message)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(err: RequestEntityTooLarge) -> ResponseReturnValue:
    return _error(413, f"ไฟล์ใหญ่เกิน {MAX_UPLOAD // (1024 * 1024)} MB ตรวจสอบไฟล์ที่ใหญ่กว่านี้ได้โดยพิมพ์ค่า SHA-256 ของไฟล์")


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException) -> ResponseReturnValue:
    status = err.code or 500
    return _error(status, noticeboard.NOT_FOUND if status == 404 else DETAILS.get(status, title(status)))


def _error(status: int, message: str) -> ResponseReturnValue:
    return render_template("public/error.html", status=status, title=title(status), message=message), status


# --- An organization's pages, made once per what they are made of ------------------------------
#: pages kept made, per web process (a crowd reads a few items; an entry is a few tens of KB)
KEPT_PAGES = 256
_kept: OrderedDict[tuple[str, str], tuple[bytes, list[tuple[str, str]]]] = OrderedDict()
_kept_lock = threading.Lock()


def made_once(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """An organization's page with an ETag of what it is made from (noticeboard.fingerprint): asked
    again with it, 304 without making the page; asked by another reader, the page this process made
    last for the same records, without reading them again. Pages that must not be kept are made each time."""

    @functools.wraps(view)
    def answer(code: str, **values: Any) -> ResponseReturnValue:
        made_of = noticeboard.fingerprint(ctx(), code)
        if made_of is None:
            return view(code, **values)  # no such organization: the view says so
        tag = f'"{made_of}"'
        if request.if_none_match.contains(made_of):
            response = Response(status=304)
            response.headers.update({"ETag": tag, "Cache-Control": PAGE_CACHE})
            return response
        key = (request.full_path, made_of)
        with _kept_lock:
            kept = _kept.get(key)
            if kept is not None:
                _kept.move_to_end(key)
        if kept is not None:
            return Response(kept[0], headers=kept[1])
        response = make_response(view(code, **values))
        if response.status_code != 200 or "no-store" in response.headers.get("Cache-Control", ""):
            return response
        response.headers["ETag"] = tag
        with _kept_lock:
            _kept[key] = (response.get_data(), list(response.headers.items()))
            while len(_kept) > KEPT_PAGES:
                _kept.popitem(last=False)
        return response

    return answer


# --- Pages ---------------------------------------------------------------------------------
@bp.get("/")
def index() -> ResponseReturnValue:
    """Organizations by name, province and fiscal year (at most noticeboard.MAX_LISTED)."""
    text, province = request.args.get("q", ""), request.args.get("province", "")
    year_text = request.args.get("fiscal_year", "").strip()
    fiscal_year = int(year_text) if year_text.isascii() and year_text.isdigit() and len(year_text) == 4 else None
    found = noticeboard.organizations(ctx(), text, province, fiscal_year)
    return render_template("public/index.html", **found, q=text[:200], province=province[:100],
                           fiscal_year=fiscal_year, year_refused=bool(year_text) and fiscal_year is None)


@bp.get("/<code>/")
@made_once
def board(code: str) -> ResponseReturnValue:
    """:raise 404: no such organization."""
    shown = noticeboard.board(ctx(), code)
    return render_template("public/board.html", **shown, ita=_ita(code, shown["years"]))


@bp.get("/<code>/plans/<int:plan_id>")
@made_once
def item(code: str, plan_id: int) -> ResponseReturnValue:
    """An item's permanent page. :raise 404: not an announced item of that organization."""
    return _item_page({**noticeboard.item(ctx(), code, plan_id), "stable": None})


@bp.get("/<code>/<int:fiscal_year>/<slug>")
@made_once
def newest(code: str, fiscal_year: int, slug: str) -> ResponseReturnValue:
    """The ITA's stable address: the newest announced version (or published report). :raise 404: none yet."""
    published = noticeboard.published_report(ctx(), code, fiscal_year, slug)
    if published is not None:
        response = Response(render_template("public/report.html", **published))
        if not published["report"]["stored"]:
            response.headers["Cache-Control"] = "no-store"  # its PDF is being stored: soon to change
        return response
    return _item_page(noticeboard.newest(ctx(), code, fiscal_year, slug))


def _item_page(shown: dict[str, Any]) -> ResponseReturnValue:
    """An item's page; the documents its announcement froze that a worker has not stored yet are
    listed as being prepared, and such a page, soon to change, is not kept by browsers or proxies."""
    preparing = [TITLES[kind] for kind in freezing.being_frozen(ctx(), shown["item"]["id"])]
    response = Response(render_template("public/item.html", **shown, preparing=preparing))
    if preparing:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<code>/plans/<int:plan_id>/<kind>.pdf")
def document(code: str, plan_id: int, kind: str) -> ResponseReturnValue:
    """A frozen document as stored, its SHA-256 as ETag. :raise 404:"""
    found = noticeboard.document(ctx(), code, plan_id, kind)
    response = Response(found["content"], mimetype="application/pdf")
    if "report" in found:  # a published report: named as its download is (documents/progress_report.py)
        response.headers["Content-Disposition"] = names.content_disposition(
            f"{found['title']}-{found['organization']['name']}.pdf".replace(" ", "-"),
            f"{found['report']}-report-{found['fiscal_year']}-{code}.pdf")
    else:
        response.headers["Content-Disposition"] = names.content_disposition(
            names.filename(kind, found["fiscal_year"], found["organization"]["name"]),
            names.ascii_filename(kind, found["fiscal_year"], code))
    response.set_etag(found["sha256"])
    response.headers["Cache-Control"] = DOCUMENT_CACHE
    return response.make_conditional(request)


@bp.get("/<code>/embed")
@made_once
def embed(code: str) -> ResponseReturnValue:
    """The list of announcements for an organization's own web site, in an iframe. :raise 404:"""
    response = Response(render_template("public/embed.html", **noticeboard.board(ctx(), code),
                                        base=ctx().settings.public_url))
    response.headers["Content-Security-Policy"] = EMBED_POLICY  # http.py then adds no X-Frame-Options
    return response


@bp.get("/<code>/feed.atom")
@made_once
def feed(code: str) -> ResponseReturnValue:
    """Atom 1.0: one entry per announced item, newest first, ids stable. :raise 404:"""
    shown = noticeboard.board(ctx(), code)
    return Response(atom(shown, ctx().settings.public_url), mimetype="application/atom+xml")


def atom(shown: dict[str, Any], base: str) -> bytes:
    organization, items = shown["organization"], shown["items"]
    code = organization["code"]
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "th")
    _text(feed, "id", noticeboard.entry_id(code))
    _text(feed, "title", f"ประกาศของ{organization['name']}")
    published = [p for p in shown.get("reports", []) if p["stored"]]
    updated = max([*(i["announced_at"] for i in items), *(p["published_at"] for p in published)],
                  default=organization["created_at"])
    _text(feed, "updated", updated.isoformat())
    etree.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base}/public/{code}/feed.atom")
    etree.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=f"{base}/public/{code}/")
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", organization["name"])
    for found in items:
        entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", noticeboard.entry_id(code, found["id"]))
        _text(entry, "title", found["title"])
        _text(entry, "updated", found["announced_at"].isoformat())
        _text(entry, "published", found["announced_at"].isoformat())
        etree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html",
                         href=f"{base}/public/{code}/plans/{found['id']}")
        for stored in found["documents"]:
            etree.SubElement(entry, f"{{{ATOM}}}link", rel="enclosure", type="application/pdf",
                             title=stored["title"], length=str(stored["size"]),
                             href=f"{base}/public/{code}/plans/{found['id']}/{stored['kind']}.pdf")
        _text(entry, "summary", f"{found['title']} {organization['name']} ประกาศเมื่อ "
                                f"{dates.long(found['announced_on'])}")
    for report in published:  # a published report once its PDF is stored, each publication its own entry
        entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", noticeboard.entry_id(code, report["plan_id"], report["document"]))
        title = report["title"] + (f" (เผยแพร่ครั้งที่ {report['number']})" if report["number"] > 1 else "")
        _text(entry, "title", title)
        _text(entry, "updated", report["published_at"].isoformat())
        _text(entry, "published", report["published_at"].isoformat())
        etree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html",
                         href=f"{base}/public/{code}/{report['fiscal_year']}/{report['slug']}")
        etree.SubElement(entry, f"{{{ATOM}}}link", rel="enclosure", type="application/pdf", title=report["title"],
                         length=str(report["stored"]["size"]),
                         href=f"{base}/public/{code}/plans/{report['plan_id']}/{report['document']}.pdf")
        _text(entry, "summary", f"{title} {organization['name']} ข้อมูล ณ วันที่ {dates.long(report['cutoff'])}")
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _text(parent: Any, name: str, text: str) -> None:
    etree.SubElement(parent, f"{{{ATOM}}}{name}").text = text


def _ita(code: str, years: list[int]) -> list[dict[str, Any]]:
    base = ctx().settings.public_url
    return [{**link, "url": base + link["path"]} for link in noticeboard.ita_links(code, years)]


def ita(code: str) -> list[dict[str, Any]]:
    """The ITA addresses of an organization, for its admin's page (web/strategies.py) to copy."""
    return _ita(code, noticeboard.board(ctx(), code)["years"])


# --- Verifying a copy ------------------------------------------------------------------------
@bp.get("/verify")
def verify() -> ResponseReturnValue:
    """The check page; ``?sha256=`` goes to the page of the document with that digest."""
    typed = request.args.get("sha256")
    if typed is None:
        return render_template("public/verify.html", found=None, result=None, error=None)
    digest = typed.strip().lower()
    if not noticeboard.SHA256.fullmatch(digest):
        return render_template("public/verify.html", found=None, result=None, typed=typed[:200],
                               error="ค่า SHA-256 ต้องเป็นเลขฐานสิบหก 64 ตัว (0-9 และ a-f)"), 422
    return redirect(url_for("public.by_digest", digest=digest))


@bp.get("/verify/<digest>")
def by_digest(digest: str) -> ResponseReturnValue:
    """:raise 404: no announced document has these bytes (or the text is no SHA-256)."""
    found = noticeboard.by_digest(ctx(), digest)
    if found is None:
        raise NotFound("ไม่พบเอกสารที่ประกาศไว้ซึ่งมีค่า SHA-256 นี้ เอกสารที่มีค่าต่างไปแม้เพียงหนึ่งไบต์ไม่ใช่ฉบับที่ประกาศ")
    return render_template("public/verify.html", found=found, result=None, error=None)


@bp.get("/verify/<int:plan_id>/<kind>")
def verify_document(plan_id: int, kind: str) -> ResponseReturnValue:
    """Where a frozen document's QR code points. :raise 404:"""
    return render_template("public/verify.html", found=noticeboard.verification(ctx(), plan_id, kind),
                           result=None, error=None)


@bp.post("/verify/<int:plan_id>/<kind>")
def check_document(plan_id: int, kind: str) -> ResponseReturnValue:
    """Is the uploaded file byte-identical to this announced document? :raise 404, 413, 422, 429:"""
    found = noticeboard.verification(ctx(), plan_id, kind)
    content, error = _uploaded()
    if error:
        return render_template("public/verify.html", found=found, result=None, error=error), 422
    uploaded = noticeboard.digest(content)
    result = {"sha256": uploaded, "size": len(content), "match": uploaded == found["document"]["sha256"]}
    return render_template("public/verify.html", found=found, result=result, error=None)


@bp.post("/verify")
def check_any() -> ResponseReturnValue:
    """Is the uploaded file byte-identical to any announced document? :raise 413, 422, 429:"""
    content, error = _uploaded()
    if error:
        return render_template("public/verify.html", found=None, result=None, error=error), 422
    uploaded = noticeboard.digest(content)
    found = noticeboard.by_digest(ctx(), uploaded)
    result = {"sha256": uploaded, "size": len(content), "match": found is not None}
    return render_template("public/verify.html", found=found, result=result, error=None)


def _uploaded() -> tuple[bytes, str | None]:
    """The one file of the form, read in memory and never kept; or why it is refused."""
    if not _admitted(client_address()):
        raise TooManyChecks(f"ตรวจสอบไฟล์ได้ไม่เกิน {UPLOADS_PER_WINDOW} ครั้งใน {WINDOW_SECONDS // 60} นาที "
                            "กรุณารอสักครู่แล้วลองใหม่")
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        return b"", "กรุณาเลือกไฟล์ PDF ที่จะตรวจสอบ"
    declared = (storage.mimetype or "").lower()
    content = storage.stream.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise RequestEntityTooLarge()
    if not content:
        return b"", "ไฟล์ที่เลือกว่างเปล่า (0 ไบต์)"
    if not content.startswith(b"%PDF-") or declared not in ("application/pdf", "application/octet-stream",
                                                             "application/x-pdf", ""):
        return b"", "ไฟล์นี้ไม่ใช่ไฟล์ PDF (ระบบตรวจจากเนื้อไฟล์) เอกสารที่ประกาศเป็นไฟล์ PDF เท่านั้น"
    return content, None


class TooManyChecks(ServiceError):
    status = 429
    title = "ตรวจสอบบ่อยเกินไป"


_uploads: dict[str, deque[float]] = {}
_uploads_lock = threading.Lock()


def _admitted(address: str) -> bool:
    """At most UPLOADS_PER_WINDOW uploads per address per window, counted in this process (an
    operational limit on hashing work, not a fact of any plan: the monotonic clock, not ctx.clock)."""
    now = time.monotonic()
    with _uploads_lock:
        if len(_uploads) > 10_000:  # many addresses: forget those whose window has passed
            for key in [k for k, v in _uploads.items() if not v or v[-1] < now - WINDOW_SECONDS]:
                del _uploads[key]
        seen = _uploads.setdefault(address, deque())
        while seen and seen[0] < now - WINDOW_SECONDS:
            seen.popleft()
        if len(seen) >= UPLOADS_PER_WINDOW:
            return False
        seen.append(now)
        return True


def verify_url(plan_id: int, kind: str) -> str:
    """The address printed on the document (documents/render.py), for the pages to show."""
    return render.verify_url(ctx().settings.public_url, plan_id, kind)
