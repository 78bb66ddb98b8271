"""What the pages and the JSON API share about requests and answers: the context of the running
app, the one table of Thai titles for HTTP statuses, the one error policy (a problem document
for programs, the Thai error page for people), the security headers of every answer, the bounded
integers of URLs and query strings, local redirect targets, the bearer token, uploads and
attachments."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import orjson
from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import IntegerConverter, ValidationError

from service import oplog
from service.auth import Actor, actor_for_token
from service.bundles import intake
from service.bundles.findings import BundleRejected, finding
from service.context import Context
from service.errors import Invalid, NotFound, ServiceError

#: Every status the system answers with, in the words shown to people and programs alike.
TITLES = {
    400: "คำขอไม่ถูกต้อง", 401: "กรุณาเข้าสู่ระบบ", 403: "ท่านไม่มีสิทธิ์ดำเนินการนี้", 404: "ไม่พบข้อมูลที่ต้องการ",
    405: "ไม่รองรับการเรียกด้วยวิธีนี้", 409: "ข้อมูลถูกเปลี่ยนไปแล้ว", 413: "ไฟล์หรือข้อมูลที่ส่งมีขนาดใหญ่เกินไป",
    422: "ข้อมูลไม่ถูกต้อง", 429: "คำขอถี่เกินไป กรุณารอสักครู่", 500: "ระบบขัดข้อง", 503: "ระบบยังไม่พร้อมให้บริการ",
}
#: What an HTTP error (not one of the service's) means to the person who met it.
DETAILS = {
    404: "ไม่พบหน้าหรือข้อมูลที่ต้องการ อาจพิมพ์ที่อยู่ผิด หรือข้อมูลนี้ไม่อยู่ในองค์กรของท่าน",
    405: "ไม่รองรับการเรียกหน้านี้ด้วยวิธีนี้", 413: "ไฟล์หรือข้อมูลที่ส่งมีขนาดใหญ่เกินไป",
}
UNEXPECTED = "ระบบขัดข้อง ยังไม่ได้บันทึกสิ่งใด กรุณาลองใหม่ หรือแจ้งผู้ดูแลระบบ"
DATABASE_FAILED = ("ฐานข้อมูลของระบบขัดข้องหรือติดต่อไม่ได้ ยังไม่ได้บันทึกสิ่งใด "
                   "กรุณาลองใหม่ภายหลัง หรือแจ้งผู้ดูแลระบบ")
CSRF_FAILED = ("แบบฟอร์มนี้หมดอายุหรือไม่ได้ส่งมาจากหน้าของระบบ จึงยังไม่ได้บันทึกสิ่งใด "
               "กรุณากลับไปเปิดหน้าเดิมใหม่แล้วลองอีกครั้ง")


def ctx() -> Context:
    return current_app.extensions["phaen"]


def title(status: int) -> str:
    return TITLES.get(status, "คำขอไม่สำเร็จ")


# --- Integers from outside ----------------------------------------------------------------
#: The largest id, number or year a request may name: PostgreSQL's ``integer`` (SQLite's is wider),
#: the type of every id and counter column. A larger one names nothing that exists; passed on, it
#: would overflow the driver (a 500) instead of finding nothing.
MAX_INTEGER = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in every route: ASCII digits only (``\\d`` also matches Thai and other scripts'
    digits) and at most MAX_INTEGER, so /plans/99999999999999999999999 is a 404, not an overflow.
    The bound is in the pattern itself: werkzeug converts a value only after matching the methods,
    so a number refused then would answer 405 on a path that has rules for other methods too
    (GET /plans/2147483648/tasks/x/attachments, whose POST rule matched the path)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_INTEGER,
                 signed: bool = False) -> None:  # werkzeug's parameter names: routes may pass them by name
        super().__init__(map, fixed_digits, min, max, signed)
        self.regex = decimal_at_most(MAX_INTEGER if max is None else max)

    def to_python(self, value: str) -> Any:
        if len(value) > len(str(MAX_INTEGER)):  # never int() a long string: its cost grows with its length
            raise ValidationError()
        return super().to_python(value)


def decimal_at_most(limit: int) -> str:
    """A pattern of the decimal numbers 0 to ``limit`` (without leading zeros): the shorter numbers,
    then, digit by digit, those that keep ``limit``'s first digits and are smaller at the next."""
    digits = str(limit)
    alternatives = ["0"] + ([f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else [])
    for position, digit in enumerate(digits):
        lowest = 1 if position == 0 else 0
        if int(digit) > lowest:
            alternatives.append(f"{digits[:position]}[{lowest}-{int(digit) - 1}][0-9]{{{len(digits) - position - 1}}}")
    return "(?:" + "|".join(dict.fromkeys([*alternatives, digits])) + ")"


def integer(text: str | None, low: int = 0, high: int = MAX_INTEGER) -> int | None:
    """``text`` as an integer in [low, high]; None when it is not one. ASCII digits only: a superscript
    ``²`` passes str.isdigit() and then fails int(), and Thai digits are for the forms to translate."""
    if not text or len(text) > len(str(high)) or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if low <= number <= high else None


def query_integer(name: str, low: int, high: int, message: str, source: Any = None) -> int | None:
    """The integer query parameter ``name`` (``source``: request.values to read forms too); None
    when absent. :raise Invalid: present but not a whole number in [low, high] (``message`` says
    what it should be, in Thai)."""
    text = (request.args if source is None else source).get(name)
    if text is None or text == "":
        return None
    number = integer(text, low, high)
    if number is None:
        raise Invalid(message, [{"field": name, "message": message}])
    return number


def page_window(default: int, maximum: int) -> tuple[int, str | None]:
    """``limit`` and ``after`` (the opaque ``next`` of the page before, which the list's query
    checks) of a paged list. :raise Invalid: ``limit`` not in 1–``maximum``."""
    limit = query_integer("limit", 1, maximum, f"limit ต้องเป็นจำนวนเต็ม 1–{maximum}")
    return limit or default, request.args.get("after") or None


# --- JSON from outside ---------------------------------------------------------------------
#: Deeper than any form of ours (a list of records of lists is 4), far below Python's recursion limit:
#: every later step (validation, storing, hashing) walks the data recursively.
MAX_JSON_DEPTH = 32
#: Digits of the longest integer read: every number the system keeps fits in 64 bits (19 digits);
#: Python refuses to int() more than 4,300 digits, and costs grow with the length before that.
MAX_JSON_INTEGER_DIGITS = 20
NOT_JSON = "ข้อมูลที่ส่งไม่ใช่ JSON ที่ถูกต้อง"
NUL_CHARACTER = "ข้อความมีอักขระที่ไม่ถูกต้อง (อักขระรหัส 0)"


class _Refused:
    """A value the parser met that no field may hold (a too-long integer, NaN, Infinity): kept as a
    marker so that the walk below can say where it was."""

    def __init__(self, message: str):
        self.message = message


def _json_integer(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        return _Refused(f"ตัวเลขยาวเกินไป (ไม่เกิน {MAX_JSON_INTEGER_DIGITS} หลัก)")
    return int(text)


def _json_number(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused("ตัวเลขมีค่าเกินขอบเขตที่รับได้")


def _json_constant(name: str) -> _Refused:
    return _Refused(f"{name} ไม่ใช่ตัวเลขที่ JSON กำหนด")


def parse_json(data: bytes | str) -> Any:
    """JSON from outside (an API body, a form's JSON field), as every later step can take it: the
    one guard of the pages and the API.
    :raise Invalid: not UTF-8 JSON; nested deeper than MAX_JSON_DEPTH; an integer longer than
        MAX_JSON_INTEGER_DIGITS, a number beyond a float, NaN or Infinity; a string with a lone UTF-16
        surrogate (``"\\ud800"`` parses, and then cannot be encoded to store or show it) or a NUL
        character (which PostgreSQL's text refuses)."""
    body = _parsed_fast(data)
    if body is not _SLOW:
        return body
    try:
        body = json.loads(data, parse_int=_json_integer, parse_float=_json_number, parse_constant=_json_constant)
    except RecursionError as err:  # the parser's own limit, far deeper than ours: the same answer
        raise _json_invalid("", f"ข้อมูลซ้อนกันเกิน {MAX_JSON_DEPTH} ชั้น") from err
    except (UnicodeDecodeError, ValueError) as err:  # JSONDecodeError is a ValueError
        raise Invalid(NOT_JSON, [{"field": "", "message": "ไม่ใช่ JSON ที่ถูกต้อง"}]) from err
    _check_json(body)
    return body


_SLOW = object()
#: orjson reads an integer beyond 64 bits as a float (json: an int, or refused when too long), so
#: a float this large may have been one: the slow path reads it again.
_FLOAT_FROM_INTEGER = 2.0**63


def _parsed_fast(data: bytes | str) -> Any:
    """The body read by orjson (a fifth of the time of the checked parse below, on a 100 KB list),
    when that gives what the checked parse gives; else _SLOW. orjson refuses by itself what the
    guard refuses but NUL, long integers and depth: NaN, Infinity, a number beyond a float, lone
    surrogates, invalid UTF-8; and reads floats exactly as float() does."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if b"\\u0000" in raw:
        return _SLOW
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _SLOW  # the slow path says why
    stack: list[tuple[Any, int]] = [(body, 0)] if type(body) is dict or type(body) is list else []
    while stack:
        value, depth = stack.pop()
        if depth >= MAX_JSON_DEPTH:
            return _SLOW
        for item in value.values() if type(value) is dict else value:
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((item, depth + 1))
            elif kind is float and not -_FLOAT_FROM_INTEGER < item < _FLOAT_FROM_INTEGER:
                return _SLOW
    if type(body) is float and not -_FLOAT_FROM_INTEGER < body < _FLOAT_FROM_INTEGER:
        return _SLOW
    return body


def _check_json(body: Any) -> None:
    """Walk the parsed body without recursion; the first value refused, with its JSON pointer."""
    stack: list[tuple[Any, str, int]] = [(body, "", 0)]
    while stack:
        value, pointer, depth = stack.pop()
        if isinstance(value, _Refused):
            raise _json_invalid(pointer, value.message)
        if isinstance(value, str):
            if not _json_encodable(value):
                raise _json_invalid(pointer, "ข้อความมีอักขระที่ไม่ถูกต้อง (surrogate ที่ไม่มีคู่)")
            if "\x00" in value:  # PostgreSQL's text cannot hold it: the query would fail, a 500
                raise _json_invalid(pointer, NUL_CHARACTER)
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise _json_invalid(pointer, f"ข้อมูลซ้อนกันเกิน {MAX_JSON_DEPTH} ชั้น")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                child = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
                if isinstance(key, str) and not _json_encodable(key):
                    raise _json_invalid(pointer, "ชื่อช่องมีอักขระที่ไม่ถูกต้อง (surrogate ที่ไม่มีคู่)")
                if isinstance(key, str) and "\x00" in key:
                    raise _json_invalid(pointer, NUL_CHARACTER)
                stack.append((item, child, depth + 1))


def _json_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_invalid(pointer: str, message: str) -> Invalid:
    return Invalid(NOT_JSON if pointer == "" else "ข้อมูลที่ส่งมีค่าที่ระบบรับไม่ได้", [{"field": pointer,
                                                                                      "message": message}])


# --- Redirects within the site -------------------------------------------------------------
def local_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None: never a Location a browser (or a proxy
    that decodes it) reads as another host: ``//host``, ``/\\host``, ``/%2F/host``, a scheme, or
    control characters and spaces, which browsers drop (``/\\t/host`` becomes ``//host``)."""
    if not target or len(target) > 2048:
        return None
    seen = target
    for _ in range(3):  # a target encoded twice still says what it says
        if (not seen.startswith("/") or seen.startswith("//") or "\\" in seen
                or any(ch.isspace() or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in seen)):
            return None
        parts = urlsplit(seen)
        if parts.scheme or parts.netloc:
            return None
        decoded = unquote(seen)
        if decoded == seen:
            return target
        seen = decoded
    return None  # encoded more than three times: no page of ours needs that


# --- Who is calling ----------------------------------------------------------------------
def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def bearer_actor(token: str) -> Actor | None:
    with ctx().db.read() as session:
        return actor_for_token(session, token, ctx().clock.now())


def wants_problem() -> bool:
    """A program is calling (the API, a bearer token, a script posting JSON): answer in JSON."""
    return request.path.startswith("/api/") or bearer_token() is not None or request.is_json


# --- Answers -----------------------------------------------------------------------------
def problem(status: int, detail: str, errors: list | None = None, heading: str | None = None) -> Response:
    """An RFC 9457 problem document in Thai; ``errors``: the fields at fault (a 422 always lists them)."""
    body: dict[str, Any] = {"type": "about:blank", "title": heading or title(status), "status": status,
                            "detail": detail}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def error_page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title(status), message=message), status


def attachment(body: bytes, mimetype: str, filename: str) -> Response:
    """A download, never cached; a Thai name as browsers read it (RFC 6266: an ASCII fallback and
    the UTF-8 name)."""
    response = Response(body, mimetype=mimetype)
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in ".-_") else "_" for ch in filename)
    disposition = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        disposition += f"; filename*=UTF-8''{quote(filename)}"
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "no-store"
    return response


def pdf(content: bytes, filename: str, sha256: str | None = None) -> Response:
    """A PDF inline; a frozen document carries its SHA-256 as its ETag, the one in the event log."""
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if sha256:
        response.set_etag(sha256)
    return response


def uploaded_files() -> dict[str, bytes]:
    """The files of a multipart request, or of one zip (as a part or as the whole body).
    :raise BundleRejected: a zip that cannot be read or holds too much."""
    if request.mimetype in ("application/zip", "application/x-zip-compressed"):
        return intake.files_from_zip(request.get_data(cache=False))
    parts = [storage for _, storage in request.files.items(multi=True)]
    if len(parts) == 1 and (parts[0].filename or "").lower().endswith(".zip"):
        return intake.files_from_zip(parts[0].stream.read(intake.MAX_BUNDLE_BYTES + 1))
    files: dict[str, bytes] = {}
    for storage in parts:
        name = storage.filename or storage.name or ""
        if name in files:
            raise BundleRejected([finding(name, None, "duplicate_file")])
        files[name] = storage.stream.read(intake.MAX_FILE_BYTES + 1)
    return files


# --- Security headers of every answer -------------------------------------------------------
#: Pages load only their own scripts and styles (/static, the designer's bpmn-js under
#: /designer/vendor); no inline script or event handler exists, so none may run. Style attributes
#: stay allowed (style-src-attr): the plan and audit diagrams place their labels with computed
#: positions; <style> elements do not. data: images and fonts are bpmn-js's icons and font.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:", "font-src 'self' data:", "connect-src 'self'", "object-src 'none'",
    "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # plan and task ids in our URLs stay ours
}


def _refuse_nul() -> None:
    """A NUL character in the path or the query string names nothing and no field may hold it;
    passed on, PostgreSQL's text refuses it and the query fails (a 500).
    :raise NotFound: in the path. :raise Invalid: in a query parameter (its name or value)."""
    if "\x00" in request.path:
        raise NotFound(DETAILS[404])
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise Invalid(NUL_CHARACTER, [{"field": name.replace("\x00", ""), "message": NUL_CHARACTER}])


def _secure(response: Response) -> Response:
    # a page that sets its own policy names who may frame it (web/public.py's embeddable list): the
    # blanket X-Frame-Options DENY would override its frame-ancestors in older browsers
    own_policy = "Content-Security-Policy" in response.headers
    for name, value in SECURITY_HEADERS.items():
        if not (own_policy and name == "X-Frame-Options"):
            response.headers.setdefault(name, value)
    return response


# --- The one error policy ----------------------------------------------------------------
def init_app(app: Flask) -> None:
    """The error policy and the security headers; ``int`` in routes becomes BoundedIntConverter
    (call before any blueprint is registered: a rule takes its converter when it is added)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_refuse_nul)
    app.after_request(_secure)
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _service_error(err: ServiceError) -> ResponseReturnValue:
    if wants_problem():
        return problem(err.status, err.message, err.errors if err.errors or err.status == 422 else None, err.title)
    return error_page(err.status, err.message)


def _csrf_error(err: CSRFError) -> ResponseReturnValue:
    return error_page(400, CSRF_FAILED)


def _http_error(err: HTTPException) -> ResponseReturnValue:
    status = err.code or 500
    detail = DETAILS.get(status, title(status))
    response = current_app.make_response(problem(status, detail) if wants_problem() else error_page(status, detail))
    if isinstance(err, MethodNotAllowed) and err.valid_methods:
        response.headers["Allow"] = ", ".join(err.valid_methods)
    return response


def _unexpected_error(err: Exception) -> ResponseReturnValue:
    """A bug must still answer in Thai, and leave its trace in the log."""
    if isinstance(err, HTTPException):
        return _http_error(err)
    oplog.logger.exception("unexpected error", extra={"fields": {"event": "error", "path": request.path}})
    if ctx().db.unavailable(err):  # unreachable or damaged: the same 503 as /healthz, not a bug of ours
        return problem(503, DATABASE_FAILED) if wants_problem() else error_page(503, DATABASE_FAILED)
    return problem(500, UNEXPECTED) if wants_problem() else error_page(500, UNEXPECTED)
