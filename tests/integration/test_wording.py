"""No internal name on any screen or paper people read (issue 13, item 12): a plan driven through the
whole procedure (a send-back, an extension, a late posting, an amendment), then every page each role
can see, the documents and the compliance report for people, read as text, hold no role key, process
name, BPMN id, form field key, Python repr, ISO date, Gregorian year or unmarked hash."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from service import labels
from service.auth import SYSTEM_ROLES
from service.bundles import intake
from service.clock import FixedClock
from service.commands import admin
from service.commands import plans as commands

from ..conftest import BANGKOK, bangkok
from .documents_queue import get_document
from .procedure import Procedure
from .test_amendment import Amendment
from .test_documents import Pdf
from .web import PASSWORD, csrf_token, log_in, post_form

ROOT = Path(__file__).resolve().parents[2]
PROCESSES, FORMS = ROOT / "processes", ROOT / "forms"
PLACES = ["บอร์ดประชาสัมพันธ์สำนักงานเทศบาล"]
REASON = "ให้เพิ่มโครงการจากหน่วยงานส่วนภูมิภาค และทบทวนงบประมาณโครงการถนน"


# --- What must never be read by people ------------------------------------------------------------
def _role_keys() -> set[str]:
    lanes = {r for path in PROCESSES.glob("*/roles.json") for r in json.loads(path.read_text())["lanes"].values()}
    return lanes | set(SYSTEM_ROLES) | {"system"}


def _process_names() -> set[str]:
    return {json.loads(path.read_text())["name"] for path in PROCESSES.glob("*/process.json")}


def _bpmn_ids() -> set[str]:
    return {m for path in PROCESSES.glob("**/*.bpmn") for m in re.findall(r'\bid="([^"]+)"', path.read_text())}


def _form_keys() -> set[str]:
    keys: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                keys.update(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in FORMS.glob("*.schema.json"):
        walk(json.loads(path.read_text()))
    return keys


def _words(names: set[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])")


#: rule -> what it must not find in text people read
RULES: dict[str, re.Pattern[str]] = {
    "role key": _words(_role_keys()),
    "process name": _words(_process_names()),
    "BPMN id": _words(_bpmn_ids() - _role_keys() - _process_names()),
    "form field key": _words(_form_keys()),
    "Python repr": re.compile(r"(?<![A-Za-z0-9_])(?:None|True|False)(?![A-Za-z0-9_])|\[\]|\{\}"),
    "ISO date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "Gregorian year": re.compile(r"(?<![\d.,/-])(?:19[5-9]\d|20[0-4]\d)(?![\d.,])"),
    "hash": re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])"),
    # a process version called like a numbered regulation or ordinance ("(ฉบับที่ 3) พ.ศ. 2561" is one)
    "version wording": re.compile(r"(?<!\()(?:ฉบับที่|รุ่นที่)\s*[0-9๐-๙]+(?!\s*พ\.ศ\.)"),
    # ข้อ 27 counts from the budget's announcement, not from the day someone reads the page
    "counted from today": re.compile(r"จากวันนี้"),
}


# --- Visible text ---------------------------------------------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SHOWN_ATTRIBUTES = {"title", "alt", "aria-label", "placeholder"}


class Visible(HTMLParser):
    """The text a person reads: text nodes and the attributes a browser shows, without scripts,
    styles, elements marked as deliberately showing a hash (class="hash") and <code>, what a process
    designer types into a file (an element id, a role key, a timer expression)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hashes: list[str] = []  # the text of the elements marked class="hash"
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, not read, marked as a hash)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_startendtag(tag, attrs)
        if tag not in VOID:
            marked = "hash" in (dict(attrs).get("class") or "").split()
            self.stack.append((tag, marked or tag in ("script", "style", "template", "code"), marked))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if any(hidden for _, hidden, _ in self.stack):
            return
        values = dict(attrs)
        self.parts.extend(v for k, v in attrs if k in SHOWN_ATTRIBUTES and v)
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if any(marked for _, _, marked in self.stack):
            self.hashes.append(data.strip())
        elif not any(hidden for _, hidden, _ in self.stack):
            self.parts.append(data)


def read(page: str) -> Visible:
    parser = Visible()
    parser.feed(page)
    parser.close()
    return parser


def visible_text(page: str) -> str:
    return re.sub(r"\s+", " ", " ".join(read(page).parts))


@dataclass(frozen=True)
class Finding:
    page: str
    where: str
    rule: str
    found: str
    context: str

    def __str__(self) -> str:
        return f"{self.where} [{self.rule}] {self.found!r} in …{self.context}…"


#: an example of a year ("เช่น 2564", "เช่น 13/2564"): it names the year people are in, or the next fiscal year
EXAMPLE_YEAR = re.compile(r"เช่น\s*(?:[0-9]+/)?(25[0-9]{2})")


def findings(page: str, where: str, text: str, year: int | None = None) -> list[Finding]:
    """What ``text`` shows that it must not; ``year``: the year in พ.ศ. when it was shown."""
    found = []
    for rule, pattern in RULES.items():
        for match in pattern.finditer(text):
            context = text[max(0, match.start() - 50):match.end() + 50]
            found.append(Finding(page, where, rule, match.group(0), context))
    for match in EXAMPLE_YEAR.finditer(text):
        if year is not None and int(match.group(1)) not in (year, year + 1):
            context = text[max(0, match.start() - 50):match.end() + 50]
            found.append(Finding(page, where, "example year", match.group(0), context))
    return found


def be_year(clock) -> int:
    return clock.now().astimezone(BANGKOK).year + 543


def assert_none(found: list[Finding]) -> None:
    unique = sorted({str(f) for f in found})
    assert not unique, f"{len(unique)} internal names on what people read:\n" + "\n".join(unique)


# --- The procedure --------------------------------------------------------------------------------
#: a person of each role, with the name people see (a user's name is theirs to choose, not a role key)
PEOPLE = {"support_committee": "นางสาวสมศรี รวบรวม", "development_committee": "นายสมชาย พิจารณา",
          "executive": "นายสมชาย ใจดี", "planning_office": "นางสาวสมใจ ปิดประกาศ", "designer": "นายออกแบบ ขั้นตอน",
          "auditor": "นางตรวจ สอบดี", "admin": "นายดูแล ระบบ"}


@dataclass
class Walk:
    operational: int
    amendment: int
    pages: dict[str, tuple[str, int]]  # where -> HTML seen along the way (task pages, inboxes), and the year
    clients: dict[str, FlaskClient]
    clock: FixedClock

    def year(self) -> int:
        return be_year(self.clock)


class Seen(Procedure):
    """The procedure, with each step's task page read, before it is completed, by a person of its role."""

    pages: dict[str, tuple[str, int]]
    people: dict[str, FlaskClient]

    def complete(self, plan_id, name, data=None, role=None, expect=200):
        if expect == 200:
            task = self.open_task(plan_id, name)
            who = role or self.roles[name]
            response = self.people[who].get(f"/tasks/{task['id']}")
            assert response.status_code == 200, (name, response.status_code)
            self.pages[f"{who} GET /tasks/<{name}> (plan {plan_id})"] = (response.get_data(as_text=True),
                                                                          be_year(self.client.application.extensions["phaen"].clock))
        return super().complete(plan_id, name, data, role, expect)


class SeenAmendment(Seen, Amendment):
    pass


def look(walk: Walk, label: str) -> None:
    """Every role's inbox as it is now."""
    for role, person in walk.clients.items():
        walk.pages[f"{role} GET / ({label})"] = (person.get("/").get_data(as_text=True), walk.year())


def drive(ctx, app, client, org, clock) -> Walk:
    clients: dict[str, FlaskClient] = {}
    for number, (role, name) in enumerate(PEOPLE.items(), 1):
        # the API's caller of each role is this person too, so the history names people, not test users
        org.tokens[role] = admin.add_user(ctx, f"person{number}", org.code, [role], PASSWORD, name, with_token=True)
        person = app.test_client()
        assert log_in(person, f"person{number}").status_code == 302
        clients[role] = person
    walk = Walk(0, 0, {}, clients, clock)
    run = Seen(client, org)
    run.pages, run.people = walk.pages, clients

    pid = walk.operational = run.start(budget_announced_on="2020-09-20")["id"]
    run.complete(pid, "collect_projects")
    clock.set(bangkok(2020, 10, 21, 0, 0, 1))  # thirty days from 20 Sep are over, the draft is not made
    assert commands.fire_due_timers(ctx)
    assert "record_extension" in run.open_names(pid)
    look(walk, "the budget deadline passed")
    run.complete(pid, "record_extension", {"extended_to": "2020-11-30", "extension_reason": "รอโครงการจากหน่วยงานอื่น"})
    day = {"draft_plan": {"draft_prepared_on": "2020-10-21"}, "propose_draft": {"proposed_on": "2020-10-21"},
           "present_to_executive": {"presented_on": "2020-10-21"},
           "approve_plan": {"approval_date": "2020-10-21", "approval_decision": "approve"}}
    run.complete(pid, "draft_plan", day["draft_plan"])
    run.complete(pid, "propose_draft", day["propose_draft"])
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-10-21", "review_resolution": "revise",
                                         "review_comments": REASON})
    look(walk, "sent back")
    run.complete(pid, "draft_plan", day["draft_plan"])
    task = run.open_task(pid, "propose_draft")
    confirm = post_form(clients["support_committee"], f"/tasks/{task['id']}",
                        {"/proposed_on#d": "21", "/proposed_on#m": "10", "/proposed_on#y": "2563",
                         "_intent": "complete"})
    assert confirm.status_code == 200
    walk.pages["support_committee POST /tasks/<propose_draft> (confirmation)"] = (confirm.get_data(as_text=True),
                                                                                   walk.year())
    run.complete(pid, "propose_draft", day["propose_draft"])
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-10-21", "review_resolution": "approve"})
    run.complete(pid, "present_to_executive", day["present_to_executive"])
    run.complete(pid, "approve_plan", day["approve_plan"])
    run.complete(pid, "announce_plan", {"announced_on": "2020-10-21", "executive_name": "นายสมชาย ใจดี",
                                        "executive_title": "นายกเทศมนตรีตำบลกระดังงา"})
    clock.set(bangkok(2020, 11, 6, 0, 0, 1))  # the fifteenth day after the announcement is over
    assert commands.fire_due_timers(ctx)
    look(walk, "the posting is late")
    run.complete(pid, "late_posting", {"late_posting_order": "ให้ปิดประกาศทันที", "late_posting_ordered_on": "2020-11-06"})
    run.complete(pid, "post_announcement", {"posted_on": "2020-11-06", "posting_places": PLACES})
    clock.set(bangkok(2020, 12, 7, 9, 0))
    commands.fire_due_timers(ctx)
    look(walk, "posted thirty days")
    run.complete(pid, "certify_posting", {"certified_by": "นางสาวสมใจ ปิดประกาศ", "certifier_title": "ปลัดเทศบาล",
                                          "certified_on": "2020-12-07"})
    assert run.plan(pid)["status"] == "completed"

    clock.set(bangkok(2021, 1, 6, 9, 0))
    amend = SeenAmendment(client, org)
    amend.pages, amend.people = walk.pages, clients
    aid = walk.amendment = amend.start()["id"]
    for name in ("collect_changes", "draft_amendment", "consider_amendment", "approve_amendment",
                 "announce_amendment", "post_amendment"):
        amend.complete(aid, name)
    look(walk, "the amendment is posted")
    return walk


def role_pages(walk: Walk, org) -> list[str]:
    pid, aid = walk.operational, walk.amendment
    return ["/", f"/plans/{pid}", f"/plans/{aid}", "/plans/new", "/plans/new?process=amendment&fiscal_year=2564",
            "/strategies", f"/organizations/{org.code}/strategies", "/incidents", "/incidents?all=1", "/account",
            "/audit/", f"/audit/plans/{pid}", f"/audit/plans/{pid}/steps/1", f"/audit/plans/{pid}/steps/6",
            f"/audit/plans/{pid}/steps/12", f"/audit/plans/{aid}", f"/audit/plans/{aid}/steps/3",
            f"/audit/plans/{pid}/verification", f"/audit/compliance?organization={org.code}&fiscal_year=2564",
            "/designer/", "/designer/modeler/operational_plan", "/designer/modeler/amendment",
            f"/plans/{pid}/record.pdf", f"/plans/{aid}/plan.pdf",  # not rendered yet: the page that says so
            "/plans/999999", "/tasks/no-such-task", "/no/such/page"]


def test_no_page_any_role_sees_shows_an_internal_name(ctx, app, client, org, clock):
    walk = drive(ctx, app, client, org, clock)
    found = []
    for where, page in walk.pages.items():
        path = where.split(" ")[2]
        found += findings(path.replace("<", "").split(">")[0].split("?")[0], where, visible_text(page[0]), page[1])
    statuses: dict[int, int] = {}
    for path in role_pages(walk, org):
        for role, person in walk.clients.items():
            response = person.get(path)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500, (role, path)
            if response.status_code in (200, 403, 404) and response.mimetype == "text/html":
                found += findings(path.split("?")[0], f"{role} GET {path} ({response.status_code})",
                                  visible_text(response.get_data(as_text=True)), walk.year())
    assert statuses.get(200, 0) > 40 and statuses.get(403) and statuses.get(404)  # the walk reached the pages
    designer = walk.clients["designer"]
    files = intake.files_of_folder(ROOT / "tests" / "fixtures" / "operational_plan_v2", FORMS)
    checked = designer.post("/designer/check", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(designer, "/designer/"),
        "files": [(io.BytesIO(content), name) for name, content in files.items()]})
    assert checked.status_code == 200
    found += findings("/designer/check", "designer POST /designer/check", visible_text(checked.get_data(as_text=True)),
                      walk.year())
    assert_none(found)


def test_documents_and_the_compliance_report_for_people_show_no_internal_name(ctx, app, client, org, clock, tmp_path,
                                                                               monkeypatch):
    import weasyprint

    sources: list[str] = []  # the HTML of each document, to know which hashes its template marks as shown
    render = weasyprint.HTML

    def keep(*args, **kwargs):
        sources.append(kwargs.get("string", ""))
        return render(*args, **kwargs)

    monkeypatch.setattr(weasyprint, "HTML", keep)
    walk = drive(ctx, app, client, org, clock)
    found: list[Finding] = []
    pdfs = {}
    for pid in (walk.operational, walk.amendment):
        for kind in ("plan", "announcement", "posting-certificate", "record"):
            if pid == walk.amendment and kind in ("announcement", "posting-certificate"):
                continue  # an amendment's announcement is the amended plan itself
            response = get_document(client, f"/api/v1/plans/{pid}/documents/{kind}.pdf", headers=org.headers("auditor"))
            assert response.status_code == 200, (pid, kind, response.get_data(as_text=True)[:300])
            pdfs[f"{kind}.pdf of plan {pid}"] = Pdf(response.data, tmp_path / f"{pid}-{kind}.pdf")
    # a hash the template marks as shown (class="hash") may be broken over lines in the PDF's text
    shown = [re.compile(r"\s*".join(h)) for source in sources for h in read(source).hashes if len(h) == 64]
    assert shown, "record.pdf marks the hashes it shows (class=\"hash\")"
    for where, pdf in pdfs.items():
        text = " ".join(pdf.pages)
        for pattern in shown:
            text = pattern.sub(" ", text)
        found += findings(f"reports/{where.split('.')[0]}", where, re.sub(r"\s+", " ", text))
    auditor = walk.clients["auditor"]
    response = auditor.get(f"/audit/compliance.csv?organization={org.code}&fiscal_year=2564")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "แผนเลขที่" and len(rows) > 4
    found += findings("audit/compliance.csv", "compliance.csv for people", " | ".join(" ; ".join(row) for row in rows))
    assert_none(found)


@pytest.mark.parametrize(("number", "shown"), [(1, "ฉบับแรก"), (2, "ฉบับแก้ไขครั้งที่ 1"), (5, "ฉบับแก้ไขครั้งที่ 4")])
def test_a_process_version_reads_as_the_first_version_or_a_revision(number, shown):
    assert labels.process_version(number) == shown and labels.actor_name("system") == "ระบบ"


@pytest.mark.parametrize(("page", "expected"), [
    ('<p>ผู้ตรวจ <span class="hash">' + "a" * 64 + "</span></p><script>var x = 'designer';</script>", "ผู้ตรวจ"),
    ('<input type="submit" value="admin"><a title="None" href="/x/operational_plan">ไป</a>', "admin None ไป"),
])
def test_visible_text_is_what_a_person_reads(page, expected):
    assert visible_text(page).strip() == expected
