"""Every request answers 4xx with a Thai problem document (or the Thai error page), never 500;
a damaged database is reported as damaged; every answer carries the security headers; redirects
stay on the site; the audit API and the audit pages apply the same rule."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest

from service import audit
from service.app import create_app
from service.audit.verify import DatabaseDamaged
from service.config import Settings
from service.context import Context
from service.http import SECURITY_HEADERS

from .documents_queue import get_document
from .procedure import PROJECT, Procedure
from .test_api_errors import snapshot
from .web import add_person, csrf_token, errors_beside, log_in, post_form

BIG = "9" * 23  # beyond every integer column (PostgreSQL's integer, SQLite's 64 bits)
HUGE = "9" * 4301  # Python refuses int() of more than 4,300 digits


def is_problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["detail"] and body["title"]
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in body["detail"]), "the detail is in Thai"
    return body


def is_error_page(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def fields_of(problem: dict) -> list[str]:
    assert problem["errors"] and all(e["message"] for e in problem["errors"])
    return [e["field"] for e in problem["errors"]]


@pytest.fixture
def plan_id(client, org):
    return Procedure(client, org).start()["id"]


@pytest.fixture
def auditor_client(app, ctx, org):
    add_person(ctx, "auditor-web", org.code, ["auditor"])
    client = app.test_client()
    assert log_in(client, "auditor-web").status_code == 302
    return client


@pytest.fixture
def member_client(app, ctx, org):
    add_person(ctx, "member-web", org.code, ["support_committee"])
    client = app.test_client()
    assert log_in(client, "member-web").status_code == 302
    return client


# --- Ids that overflow -------------------------------------------------------------------------
OVERFLOWING_IDS = [BIG, HUGE, str(2**31), str(2**63), "๑", "²"]


@pytest.mark.parametrize("path", ["/api/v1/plans/{}", "/api/v1/plans/{}/history", "/api/v1/plans/{}/verify",
                                  "/api/v1/plans/{}/export", "/api/v1/plans/{}/events.csv",
                                  "/api/v1/plans/{}/documents/plan.pdf", "/api/v1/plans/{}/documents/x.pdf"])
def test_an_id_beyond_the_database_is_a_404_problem(client, org, path):
    for plan in OVERFLOWING_IDS:  # one database for all: each request changes nothing
        is_problem(client.get(path.format(plan), headers=org.headers("auditor")), 404)


def test_migrating_a_plan_beyond_the_database_is_a_404_problem(client, org):
    for plan in OVERFLOWING_IDS:
        is_problem(client.post(f"/api/v1/plans/{plan}/migrate", headers=org.headers("admin"), json={}), 404)


@pytest.mark.parametrize("path", [f"/plans/{BIG}", f"/plans/{HUGE}", f"/plans/{BIG}/plan.pdf", f"/audit/plans/{BIG}",
                                  f"/audit/plans/{BIG}/verification", f"/audit/plans/{BIG}/export",
                                  f"/audit/plans/{BIG}/events.csv", f"/audit/plans/1/steps/{BIG}",
                                  f"/designer/drafts/{BIG}/check"])
def test_a_page_of_an_id_beyond_the_database_is_the_404_page(auditor_client, plan_id, path):
    method = auditor_client.post if path.endswith("/check") else auditor_client.get
    page = is_error_page(method(path), 404)
    assert "ไม่พบ" in page


def test_ids_in_range_still_work(client, org, plan_id):
    assert client.get(f"/api/v1/plans/{plan_id}", headers=org.headers("auditor")).status_code == 200
    is_problem(client.get(f"/api/v1/plans/{2**31 - 1}", headers=org.headers("auditor")), 404)


# --- Integers in query strings ---------------------------------------------------------------
@pytest.mark.parametrize("year", ["0", "²", "๒๕๖๔", BIG, HUGE, "-2564", "2564.0", " 2564", "2499", "2701"])
def test_a_compliance_year_that_is_not_a_fiscal_year_is_422(client, org, year):
    for path in ("/api/v1/compliance", "/api/v1/compliance.csv"):
        response = client.get(path, query_string={"organization": org.code, "fiscal_year": year},
                              headers=org.headers("auditor"))
        assert fields_of(is_problem(response, 422)) == ["fiscal_year"], path


@pytest.mark.parametrize("year", ["0", "²", BIG, HUGE, "2701"])
def test_the_compliance_page_with_a_bad_year_is_the_422_page(auditor_client, org, year):
    response = auditor_client.get("/audit/compliance", query_string={"organization": org.code, "fiscal_year": year})
    assert "ปีงบประมาณ" in is_error_page(response, 422)


@pytest.mark.parametrize("step", ["²", BIG, HUGE, "0"])
def test_an_audit_step_that_is_not_a_step_is_the_404_page(auditor_client, plan_id, step):
    is_error_page(auditor_client.get(f"/audit/plans/{plan_id}", query_string={"step": step}), 404)


@pytest.mark.parametrize("year", ["0", "²", BIG, HUGE])
def test_a_holiday_year_that_is_not_a_year_is_422(client, org, year):
    assert fields_of(is_problem(client.get("/api/v1/holidays", query_string={"year": year},
                                           headers=org.headers("admin")), 422)) == ["year"]


@pytest.fixture
def designer_headers(ctx):
    from service.commands import admin

    return {"Authorization": f"Bearer {admin.add_user(ctx, 'designer-h', None, ['designer'], with_token=True)}"}


@pytest.mark.parametrize("version", ["²", "๑", BIG, HUGE, "-1", "1.0"])
def test_an_expected_version_that_is_not_a_number_is_422(client, designer_headers, version):
    for where in ("query_string", "data"):  # in the URL or in the multipart form beside the files
        response = client.post("/api/v1/processes", headers=designer_headers, **{where: {"expected_version": version}})
        assert fields_of(is_problem(response, 422)) == ["expected_version"], where


@pytest.mark.parametrize("version", [10**30, 2**31, 0, -1, 1.5, "2", True])
def test_migrating_to_a_version_that_cannot_exist_is_422(ctx, client, org, plan_id, version):
    before = snapshot(ctx)
    response = client.post(f"/api/v1/plans/{plan_id}/migrate", headers=org.headers("admin"), json={"version": version})
    assert fields_of(is_problem(response, 422)) == ["/version"]
    assert snapshot(ctx) == before


@pytest.mark.parametrize("year", [10**22, -(10**22), 2**31, 2**63, 0])
def test_a_fiscal_year_beyond_every_year_in_the_body_is_422(ctx, client, org, year):
    body = {"organization": org.code, "fiscal_year": year, "budget_announced_on": "2020-09-20"}
    response = client.post("/api/v1/plans", headers=org.headers("support_committee"), json=body)
    assert "/fiscal_year" in fields_of(is_problem(response, 422))
    assert snapshot(ctx) == ([], 0)


@pytest.mark.parametrize("year", ["²", "2564²", BIG, HUGE, "0", "๒๕๖๔๕"])
def test_the_start_page_with_a_year_that_is_not_a_fiscal_year_is_422(ctx, app, org, year):
    add_person(ctx, "starter", org.code, ["support_committee"])
    client = app.test_client()
    log_in(client, "starter")
    response = post_form(client, "/plans/new", {"fiscal_year": year, "/budget_announced_on#d": "20",
                                                 "/budget_announced_on#m": "9", "/budget_announced_on#y": "2563"})
    beside = errors_beside(is_error_page(response, 422))
    assert list(beside) == ["fiscal_year"] and "ปีงบประมาณ" in beside["fiscal_year"], beside
    assert snapshot(ctx) == ([], 0)


# --- JSON bodies the parser takes but nothing after it can ------------------------------------
HOSTILE_BODIES = {
    "4301-digit integer": ('{"organization": "kradangnga", "fiscal_year": ' + HUGE + "}", "/fiscal_year"),
    "21-digit integer": ('{"fiscal_year": 2564, "sequence": -' + "9" * 21 + "}", "/sequence"),
    "50,000-deep nesting": ("[" * 50_000 + "]" * 50_000, ""),
    "33-deep nesting": ('{"a": ' + "[" * 33 + "]" * 33 + "}", "/a" + "/0" * 31),
    "lone surrogate in a value": ('{"organization": "\\ud800", "fiscal_year": 2564}', "/organization"),
    "lone surrogate in a list": ('{"projects": [{"name": "ok"}, {"name": "x\\udfff"}]}', "/projects/1/name"),
    "lone surrogate in a key": ('{"ok": {"\\udc00": 1}}', "/ok"),
    "NaN": ('{"fiscal_year": NaN}', "/fiscal_year"),
    "Infinity": ('{"budget": -Infinity}', "/budget"),
    "a float beyond floats": ('{"budget": 1e999}', "/budget"),
}
INVALID_UTF8 = {"invalid UTF-8": (b'{"organization": "\xff\xfe"}', ""), "a lone continuation byte": (b'"\x80"', ""),
                # json.loads decodes bytes with "surrogatepass": an encoded surrogate is a lone one
                "an encoded surrogate": (b'{"organization": "\xed\xa0\x80"}', "/organization"),
                "not JSON": (b"{not json", "")}


def hostile(name: str) -> tuple[bytes, str]:
    if name in INVALID_UTF8:
        return INVALID_UTF8[name]
    text, field = HOSTILE_BODIES[name]
    return text.encode("utf-8"), field


def post_json(client, path: str, body: bytes, headers: dict[str, str]):
    return client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("name", [*HOSTILE_BODIES, *INVALID_UTF8])
def test_a_hostile_json_body_is_422_and_changes_nothing(ctx, client, org, name):
    body, field = hostile(name)
    before = snapshot(ctx)
    for path, role in (("/api/v1/plans", "support_committee"), ("/api/v1/organizations", "admin")):
        problem = is_problem(post_json(client, path, body, org.headers(role)), 422)
        assert fields_of(problem)[0] == field, (path, problem)
    assert snapshot(ctx) == before


@pytest.mark.parametrize("name", ["4301-digit integer", "50,000-deep nesting", "lone surrogate in a list", "NaN",
                                  "invalid UTF-8"])
def test_a_hostile_task_completion_or_migration_is_422_and_changes_nothing(ctx, client, org, plan_id, name):
    body, _ = hostile(name)
    task = Procedure(client, org).open_task(plan_id, "collect_projects")
    before = snapshot(ctx)
    is_problem(post_json(client, f"/api/v1/tasks/{task['id']}/complete", body, org.headers("support_committee")), 422)
    is_problem(post_json(client, f"/api/v1/plans/{plan_id}/migrate", body, org.headers("admin")), 422)
    assert snapshot(ctx) == before


def test_ordinary_bodies_still_pass(client, org, plan_id):
    """Deep enough for every form, numbers as long as budgets get, Thai and emoji as they are."""
    projects = [{**PROJECT, "name": "โครงการ 🌾 ข้าว", "budget": 999999999.99}]
    Procedure(client, org).complete(plan_id, "collect_projects", {"projects": projects})


# --- Security headers ------------------------------------------------------------------------
def assert_secured(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy


def test_every_kind_of_answer_carries_the_security_headers(client, org, plan_id, member_client):
    assert_secured(client.get("/login"))  # a page
    assert_secured(member_client.get(f"/plans/{plan_id}"))  # a signed-in page
    assert_secured(client.get("/api/v1/tasks", headers=org.headers("support_committee")))  # an API answer
    assert_secured(client.get("/api/v1/tasks"))  # a 401 problem
    assert_secured(client.get("/no/such/page"))  # the 404 page
    with client.get("/static/phaen.css") as static:  # a static file
        assert_secured(static)
    assert_secured(client.get("/healthz"))
    pdf = get_document(client, f"/api/v1/plans/{plan_id}/documents/plan.pdf", headers=org.headers("support_committee"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert_secured(pdf)


def test_pages_hold_no_inline_script_or_event_handler(member_client, plan_id):
    """The policy forbids them: a page that had one would break in the browser."""
    import re

    for path in ("/", f"/plans/{plan_id}", "/plans/new"):
        page = member_client.get(path).get_data(as_text=True)
        for script in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in script or 'type="application/json"' in script, (path, script)
        assert not re.search(r"\son[a-z]+\s*=", page), path
        assert "javascript:" not in page and "<style" not in page, path


# --- 405 names what is allowed -----------------------------------------------------------------
@pytest.mark.parametrize("method, path, allowed", [
    ("DELETE", "/api/v1/plans", {"GET", "POST"}),
    ("PUT", "/api/v1/tasks", {"GET"}),
    ("GET", "/api/v1/plans/1/migrate", {"POST"}),
    ("PUT", "/login", {"GET", "POST"}),
])
def test_a_405_lists_the_allowed_methods(client, org, method, path, allowed):
    response = client.open(path, method=method, headers=org.headers("admin") if path.startswith("/api") else {})
    assert response.status_code == 405
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    if path.startswith("/api"):
        is_problem(response, 405)
    assert_secured(response)


# --- Claim and release go back only to a page of this site --------------------------------------
ATTACKS = ["//other.host", "//other.host/plans/1", "/\\other.host", "\\\\other.host", "/%2F/other.host",
           "/%2f%2fother.host", "/%5Cother.host", "/%252F%252Fother.host", "%2F%2Fother.host", "/\t/other.host",
           "/\n/other.host", "/\r\n//other.host", "/\x00/other.host", " //other.host", "https://other.host/",
           "javascript:alert(1)", "///other.host", "/ /other.host", "/\x7f/other.host", "plans/1"]


@pytest.fixture
def claimer(app, ctx, org, plan_id):
    """A signed-in member and the open task of the plan: (client, task path)."""
    add_person(ctx, "claimer", org.code, ["support_committee"])
    client = app.test_client()
    log_in(client, "claimer")
    return client, f"/tasks/{Procedure(client, org).open_task(plan_id, 'collect_projects')['id']}"


@pytest.mark.parametrize("target", ATTACKS)
def test_claim_and_release_never_redirect_to_another_host(claimer, target):
    client, task = claimer
    for action in ("claim", "release"):
        response = client.post(f"{task}/{action}", data={"next": target, "csrf_token": csrf_token(client, task)})
        assert response.status_code == 302, action
        assert response.headers["Location"] == task, action
    assert "คืนงานแล้ว" in client.get(task).get_data(as_text=True)  # both were done: only the way back changed


@pytest.mark.parametrize("target", ["/", "/plans/1", "/?plan=1&sort=due_desc", "/tasks/abc#form",
                                    "/designer/modeler/แผน"])
def test_claim_goes_back_to_a_page_of_this_site(claimer, target):
    client, task = claimer
    response = client.post(f"{task}/claim", data={"next": target, "csrf_token": csrf_token(client, task)})
    assert response.status_code == 302 and response.headers["Location"] in (target, quote(target, safe="/?&=#"))


# --- The audit API and the audit pages: auditors only, both ------------------------------------
def test_the_audit_api_is_for_auditors_as_the_audit_pages_are(client, org, plan_id, member_client, auditor_client):
    api = [f"/api/v1/plans/{plan_id}/verify", f"/api/v1/plans/{plan_id}/export", f"/api/v1/plans/{plan_id}/events.csv",
           f"/api/v1/compliance?organization={org.code}&fiscal_year=2564",
           f"/api/v1/compliance.csv?organization={org.code}&fiscal_year=2564"]
    pages = [f"/audit/plans/{plan_id}/verification", f"/audit/plans/{plan_id}/export",
             f"/audit/plans/{plan_id}/events.csv", f"/audit/compliance?organization={org.code}&fiscal_year=2564"]
    for path in api:
        for role in ("support_committee", "executive", "admin"):
            is_problem(client.get(path, headers=org.headers(role)), 403)
        assert client.get(path, headers=org.headers("auditor")).status_code == 200, path
    for path in pages:
        is_error_page(member_client.get(path), 403)
        assert auditor_client.get(path).status_code == 200, path
    # what every member needs of a plan stays open to them
    assert client.get(f"/api/v1/plans/{plan_id}/history", headers=org.headers("executive")).status_code == 200


def test_an_auditor_of_another_organization_meets_404_on_api_and_pages(ctx, app, client, org, other_org, plan_id):
    add_person(ctx, "their-auditor", other_org.code, ["auditor"])
    theirs = app.test_client()
    log_in(theirs, "their-auditor")
    is_problem(client.get(f"/api/v1/plans/{plan_id}/verify", headers=other_org.headers("auditor")), 404)
    is_error_page(theirs.get(f"/audit/plans/{plan_id}/verification"), 404)


# --- A damaged database -------------------------------------------------------------------------
MARKER = "DAMAGED-PLAN-MARKER"


@pytest.fixture
def three_plans(ctx, client, org):
    """Three plans; the second's collected projects span many pages of their own (by the marker)."""
    if ctx.db.engine.dialect.name != "sqlite":
        pytest.skip("damaging the database file is a SQLite case; PostgreSQL's pages are its own to check")
    run = Procedure(client, org)
    ids = [run.start(fiscal_year=year)["id"] for year in (2564, 2565, 2566)]
    projects = [{**PROJECT, "name": f"{MARKER} {i:03d}", "activities": MARKER * 12} for i in range(120)]
    run.complete(ids[1], "collect_projects", {"projects": projects})
    ctx.db.dispose()  # the last connection closed: the WAL is checkpointed into the file
    return ids


def database_file(ctx) -> Path:
    return Path(ctx.db.url.removeprefix("sqlite:///"))


def context_on(path: Path, tmp_path: Path, clock) -> Context:
    settings = Settings.from_env({}, instance_path=tmp_path / f"instance-{path.stem}", database_url=f"sqlite:///{path}")
    return Context.create(settings, clock)


def reads(path: Path, sql: str) -> bool:
    try:
        with sqlite3.connect(path) as connection:
            connection.execute(sql).fetchall()
    except sqlite3.DatabaseError:
        return False
    finally:
        connection.close()
    return True


def damage_one_plan(source: Path, target: Path, plan_ids: list[int]) -> None:
    """Garbage over a page that holds only the second plan's events: the first page where the
    marker lies whose damage makes that plan's events, and no other plan's record, unreadable."""
    data = source.read_bytes()
    page_size = int.from_bytes(data[16:18], "big")
    pages = sorted({offset // page_size for offset in _find_all(data, MARKER.encode())})
    damaged, others = plan_ids[1], (plan_ids[0], plan_ids[2])
    for page in pages[1:]:  # the first holds the row itself; the pages after it carry its overflow
        broken = bytearray(data)
        broken[page * page_size:page * page_size + 64] = b"\xff" * 64
        target.write_bytes(bytes(broken))
        if not reads(target, f"SELECT data FROM events WHERE plan_id = {damaged}") \
                and all(reads(target, f"SELECT * FROM events WHERE plan_id = {p}") for p in others) \
                and all(reads(target, f"SELECT * FROM plans WHERE id = {p}") for p in others):
            return
    pytest.fail("no page of the second plan alone was found to damage")


def _find_all(data: bytes, needle: bytes):
    start = data.find(needle)
    while start != -1:
        yield start
        start = data.find(needle, start + 1)


def test_healthz_deep_on_a_healthy_database(client):
    response = client.get("/healthz?deep=1")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "database": "ok", "migrations": "current", "integrity": "ok"}


def test_a_page_of_garbage_is_reported_by_healthz_and_fails_that_plan_alone(ctx, tmp_path, clock, three_plans):
    copy = tmp_path / "damaged.sqlite3"
    damage_one_plan(database_file(ctx), copy, three_plans)
    damaged = context_on(copy, tmp_path, clock)
    try:
        client = create_app(context=damaged).test_client()
        deep = client.get("/healthz?deep=1")
        assert deep.status_code == 503 and deep.get_json()["ok"] is False
        assert deep.get_json()["integrity"].startswith("damaged")
        cheap = client.get("/healthz")  # the check at start found it: the cheap probe says so too
        assert cheap.status_code == 503 and cheap.get_json()["database"].startswith("damaged")

        results = list(audit.verify_all(damaged))  # does not raise
        assert [r.plan_id for r in results] == three_plans
        verdicts = {r.plan_id: r for r in results}
        assert verdicts[three_plans[0]].ok and verdicts[three_plans[2]].ok
        failed = verdicts[three_plans[1]]
        assert not failed.ok and failed.first_divergence.reason == "unreadable"
        assert "cannot be read" in failed.first_divergence.detail
    finally:
        damaged.db.dispose()


def test_a_damaged_plan_answers_503_on_the_api_and_fails_on_the_audit_page(ctx, tmp_path, clock, org, three_plans):
    copy = tmp_path / "damaged.sqlite3"
    damage_one_plan(database_file(ctx), copy, three_plans)
    damaged = context_on(copy, tmp_path, clock)
    try:
        app = create_app(context=damaged, test_config={"TESTING": True})
        client = app.test_client()
        # reading the damaged history is the database failing, not a bug: 503, as /healthz says
        is_problem(client.get(f"/api/v1/plans/{three_plans[1]}/history", headers=org.headers("auditor")), 503)
        assert client.get(f"/api/v1/plans/{three_plans[0]}/history", headers=org.headers("auditor")).status_code == 200
        verified = client.get(f"/api/v1/plans/{three_plans[1]}/verify", headers=org.headers("auditor"))
        assert verified.status_code == 200 and verified.get_json()["ok"] is False
        assert verified.get_json()["first_divergence"]["reason"] == "unreadable"
        assert client.get(f"/api/v1/plans/{three_plans[0]}/verify", headers=org.headers("auditor")).get_json()["ok"]
    finally:
        damaged.db.dispose()


def test_a_record_that_does_not_parse_fails_verification_and_the_rest_go_on(ctx, tmp_path, clock, three_plans):
    copy = tmp_path / "unparsable.sqlite3"
    shutil.copyfile(database_file(ctx), copy)
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE events SET data = '{\"projects\": [' WHERE plan_id = ?", (three_plans[0],))
        connection.execute("UPDATE plans SET deadlines = 'not json' WHERE id = ?", (three_plans[2],))
    connection.close()
    damaged = context_on(copy, tmp_path, clock)
    try:
        results = {r.plan_id: r for r in audit.verify_all(damaged)}
        assert list(results) == three_plans
        assert results[three_plans[1]].ok
        for plan in (three_plans[0], three_plans[2]):
            assert results[plan].first_divergence.reason == "unreadable"
            assert "JSONDecodeError" in results[plan].first_divergence.detail
    finally:
        damaged.db.dispose()


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_database_is_503_on_healthz(ctx, tmp_path, clock, three_plans, keep):
    copy = tmp_path / "truncated.sqlite3"
    data = database_file(ctx).read_bytes()
    copy.write_bytes(data[:int(len(data) * keep)])
    damaged = context_on(copy, tmp_path, clock)
    try:
        client = create_app(context=damaged).test_client()
        for path in ("/healthz", "/healthz?deep=1"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.get_json()["ok"] is False
            assert "damaged" in response.get_json()["database"] + response.get_json().get("integrity", "")
        # SQLite cannot open a truncated file at all: not even the list of plans reads, and
        # verification says so in one clear error (the CLI prints it) instead of a traceback
        with pytest.raises(DatabaseDamaged, match="ฐานข้อมูลเสียหาย") as raised:
            list(audit.verify_all(damaged))
        assert raised.value.status == 503
    finally:
        damaged.db.dispose()
