"""The authorization matrix (issue 12): every operation of the OpenAPI document and every page, for
every role of two organizations, the national roles, and credentials that must fail (none,
malformed, revoked, expired, of a changed password, of a deactivated user). The expected answer
comes from the policy table below (who may, and what anyone else is answered), never from the
server; a route the table does not know fails the test, so a new route must declare its policy.
Wherever an operation names a plan, a task or an organization, it is asked about each
organization's own: no caller reads or writes the other organization's (a hidden one is a 404 that
reads exactly like the 404 of an id that does not exist), and nothing answers 5xx."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from service.api.blueprint import OPENAPI
from service.commands import admin

from .web import PASSWORD, csrf_token
from .world import Caller, World, build

OK, FORBIDDEN, HIDDEN, UNAUTHENTICATED = "ok", 403, 404, 401
STARTERS = ("support_committee", "planning_office", "admin")  # processes/*/process.json, and admin
TASK_ROLE = "support_committee"  # the role of the open task of each plan (collect_projects)
MISSING_PLAN, MISSING_TASK = 2_000_000_000, "00000000-0000-4000-8000-000000000000"
KEPT_DAY, UNKEPT_DAY = "2031-12-31", "2031-12-30"


# --- Who may: the policy of each kind of route ------------------------------------------------
def sees(c: Caller, org: str | None) -> bool:
    """A role in the organization, or a national one: the caller may read its plans."""
    return c.role is not None and (c.organization is None or c.organization == org)


def anyone(c: Caller, org: str | None) -> Any:
    return OK


def member(c: Caller, org: str | None) -> Any:
    return OK if sees(c, org) else HIDDEN


def role_of(*roles: str, hidden: bool = True) -> Callable[[Caller, str | None], Any]:
    """Holders of ``roles`` there; a caller who sees the organization without one: 403; one who does
    not see it: 404 (``hidden``), or 403 where the route says so (starting a plan, completing a task)."""
    def rule(c: Caller, org: str | None) -> Any:
        if sees(c, org):
            return OK if c.role in roles else FORBIDDEN
        return HIDDEN if hidden else FORBIDDEN
    return rule


def auditor(c: Caller, org: str | None) -> Any:
    """service/audit/access.py: no auditor role anywhere: 403; an auditor of another organization: 404."""
    if c.role != "auditor":
        return FORBIDDEN
    return OK if sees(c, org) else HIDDEN


def national(role: str) -> Callable[[Caller, str | None], Any]:
    return lambda c, org: OK if c.organization is None and c.role == role else FORBIDDEN


def holding(role: str) -> Callable[[Caller, str | None], Any]:
    return lambda c, org: OK if c.role == role else FORBIDDEN


def national_admin_or_hidden(c: Caller, org: str | None) -> Any:
    """Another user's token: a national admin may revoke it; to anyone else it does not exist."""
    return OK if c.organization is None and c.role == "admin" else HIDDEN


@dataclass(frozen=True)
class Probe:
    """One request per caller (and per organization when ``scoped``): ``allowed`` is the status a
    caller the rule lets through gets for this request (the request is built so that it changes
    nothing: a duplicate year, an empty form, a version already current)."""

    rule: Callable[[Caller, str | None], Any]
    allowed: int = 200
    scoped: bool = True
    path: dict[str, Callable[[World, str], Any]] = field(default_factory=dict)
    query: Callable[[World, str], dict] | None = None
    body: Callable[[World, str], Any] | None = None
    public: bool = False  # answered without credentials
    hidden: int = HIDDEN  # what a caller who does not see the organization gets
    after: Callable[[World, Any, Caller, str], None] | None = None  # put back what an allowed call changed


def plan_of(w: World, org: str) -> int:
    return w.organizations[org].plan_id


def task_of(w: World, org: str) -> str:
    return w.organizations[org].task_id


def release(w: World, client: Any, c: Caller, org: str) -> None:
    assert client.post(f"/api/v1/tasks/{task_of(w, org)}/release", headers=c.headers()).status_code == 200


PLAN, TASK = {"plan_id": plan_of}, {"task_id": task_of}


# --- Administration (commands/administration.py): its admin, or a national admin; the rest 403/404
def admin_or_auditor(c: Caller, org: str | None) -> Any:
    """The admin log: admins and auditors, of the organization or national; another's: 404."""
    if c.role not in ("admin", "auditor"):
        return FORBIDDEN
    return OK if sees(c, org) else HIDDEN


def spare_user(w: World, org: str) -> str:
    """A user of the organization whose credentials no caller needs (deactivated and back by the probes)."""
    name = f"{org}-spare"
    with w.ctx.db.read() as session:
        from service.models import User
        exists = session.query(User.id).filter(User.username == name).first()
    if exists is None:
        admin.add_user(w.ctx, name, org, ["executive"])
    return name


def organization_name(w: World, org: str) -> dict[str, str]:
    with w.ctx.db.read() as session:
        from service.models import Organization
        return {"name": session.query(Organization.name).filter(Organization.code == org).scalar()}


def reactivate(w: World, client: Any, c: Caller, org: str) -> None:
    answer = client.post(f"/api/v1/users/{spare_user(w, org)}/activate", headers=w.national["admin"].headers())
    assert answer.status_code == 200


ORG, SPARE = {"code": lambda w, o: o}, {"username": spare_user}
#: The policy table: (method, OpenAPI path) -> the probe. The API as README.md and openapi.json state it.
API: dict[tuple[str, str], Probe] = {
    ("get", "/openapi.json"): Probe(anyone, scoped=False, public=True),
    ("get", "/plans"): Probe(anyone, scoped=False),
    ("post", "/plans"): Probe(role_of(*STARTERS, hidden=False), 409, body=lambda w, o: {
        "organization": o, "fiscal_year": 2564, "budget_announced_on": "2020-09-20"}),
    ("get", "/plans/{plan_id}"): Probe(member, path=PLAN),
    ("get", "/plans/{plan_id}/history"): Probe(member, path=PLAN),
    # not announced yet: nothing is tracked (an empty list) and no progress can be recorded (409)
    ("get", "/plans/{plan_id}/progress"): Probe(member, path=PLAN),
    ("get", "/plans/{plan_id}/dashboard"): Probe(member, 409, path=PLAN),  # not announced yet: no figures
    ("put", "/plans/{plan_id}/progress/{number}"): Probe(member, 409, path={**PLAN, "number": lambda w, o: "1.1.1"},
                                                         body=lambda w, o: {"status": "not_started"}),
    ("post", "/plans/{plan_id}/progress/import"): Probe(member, 409, path=PLAN),  # not announced yet
    # a project's progress evidence: not announced yet, none can be attached (409) and no project has any (404)
    ("post", "/plans/{plan_id}/progress/{number}/evidence"): Probe(member, 409,
                                                                   path={**PLAN, "number": lambda w, o: "1.1.1"}),
    ("get", "/plans/{plan_id}/progress/{number}/evidence"): Probe(member, 404,
                                                                  path={**PLAN, "number": lambda w, o: "1.1.1"}),
    ("get", "/plans/{plan_id}/progress/{number}/evidence/{attachment_id}"): Probe(
        member, 404, path={**PLAN, "number": lambda w, o: "1.1.1", "attachment_id": lambda w, o: 1}),
    # not announced yet: no report of its progress (409)
    ("get", "/plans/{plan_id}/reports/{kind}.{extension}"): Probe(
        member, 409, path={**PLAN, "kind": lambda w, o: "annual", "extension": lambda w, o: "json"}),
    # publishing the 6-month report: progress editors and the admin; not announced yet: 409
    ("post", "/plans/{plan_id}/reports/six-months/publish"): Probe(role_of("planning_office", "admin"), 409,
                                                                   path=PLAN),
    ("get", "/plans/{plan_id}/verify"): Probe(auditor, path=PLAN),
    ("get", "/plans/{plan_id}/export"): Probe(auditor, path=PLAN),
    ("get", "/plans/{plan_id}/events.csv"): Probe(auditor, path=PLAN),
    # not announced yet: an allowed caller is told when it will exist (a 404 of its own words)
    ("get", "/plans/{plan_id}/documents/{kind}.pdf"): Probe(member, 404,
                                                           path={**PLAN, "kind": lambda w, o: "announcement"}),
    ("post", "/plans/{plan_id}/migrate"): Probe(role_of("admin"), 409, path=PLAN, body=lambda w, o: {}),
    ("get", "/tasks"): Probe(anyone, scoped=False),
    ("get", "/tasks/{task_id}"): Probe(member, path=TASK),
    ("post", "/tasks/{task_id}/complete"): Probe(role_of(TASK_ROLE, hidden=False), 422, path=TASK,
                                                 body=lambda w, o: {}),
    ("post", "/tasks/{task_id}/claim"): Probe(role_of(TASK_ROLE), path=TASK, after=release),
    ("post", "/tasks/{task_id}/release"): Probe(member, path=TASK),  # unclaimed: a release changes nothing
    ("get", "/compliance"): Probe(auditor, query=lambda w, o: {"organization": o, "fiscal_year": "2564"}),
    ("get", "/compliance.csv"): Probe(auditor, query=lambda w, o: {"organization": o, "fiscal_year": "2564"}),
    ("get", "/organizations"): Probe(anyone, scoped=False),
    ("post", "/organizations"): Probe(national("admin"), 409, body=lambda w, o: {"code": o, "name": "ซ้ำ"}),
    # the list as it stands (none kept): an admin's PUT of an empty list changes nothing; another's admin: 403
    ("get", "/organizations/{code}/strategies"): Probe(member, path={"code": lambda w, o: o}),
    ("put", "/organizations/{code}/strategies"): Probe(role_of("admin", hidden=False), path={"code": lambda w, o: o},
                                                       body=lambda w, o: []),
    ("get", "/processes"): Probe(holding("designer"), scoped=False),
    # an empty bundle: a national designer is told its problems; no one else may publish at all
    ("post", "/processes"): Probe(national("designer"), 422, scoped=False, body=lambda w, o: {}),
    ("get", "/holidays"): Probe(anyone, scoped=False),
    ("put", "/holidays/{day}"): Probe(national("admin"), scoped=False, path={"day": lambda w, o: KEPT_DAY},
                                      body=lambda w, o: {"name": "วันทดสอบ"}),
    ("delete", "/holidays/{day}"): Probe(national("admin"), 404, scoped=False, path={"day": lambda w, o: UNKEPT_DAY}),
    ("get", "/tokens"): Probe(anyone, scoped=False),
    ("delete", "/tokens/{token_id}"): Probe(national_admin_or_hidden, scoped=False,
                                            path={"token_id": lambda w, o: str(w.victim_token)}),
    ("get", "/incidents"): Probe(holding("admin"), scoped=False),
    # no file sent: the task's role is told what to attach (422), nothing is stored
    ("post", "/plans/{plan_id}/tasks/{task_id}/attachments"): Probe(role_of(TASK_ROLE), 422, path={**PLAN, **TASK}),
    ("get", "/plans/{plan_id}/tasks/{task_id}/attachments"): Probe(member, path={**PLAN, **TASK}),
    ("get", "/plans/{plan_id}/attachments"): Probe(member, path=PLAN),
    ("patch", "/organizations/{code}"): Probe(national("admin"), path=ORG, body=organization_name),  # the same name
    ("post", "/organizations/{code}/deactivate"): Probe(national("admin"), 404, scoped=False,  # no such one: no harm
                                                        path={"code": lambda w, o: "no-such-org"}),
    ("post", "/organizations/{code}/activate"): Probe(national("admin"), path=ORG),  # already active
    ("post", "/organizations/onboarding"): Probe(national("admin"), 422, scoped=False, body=lambda w, o: {}),
    ("get", "/organizations/{code}/users"): Probe(role_of("admin"), path=ORG),
    ("post", "/organizations/{code}/users"): Probe(role_of("admin"), 422, path=ORG, body=lambda w, o: {}),
    # committees (commands/committees.py): an empty body names no committee (422); no such term (404)
    ("get", "/organizations/{code}/committees"): Probe(role_of("admin"), path=ORG),
    ("post", "/organizations/{code}/committees"): Probe(role_of("admin"), 422, path=ORG, body=lambda w, o: {}),
    ("patch", "/organizations/{code}/committees/{seat_id}"): Probe(
        role_of("admin"), 404, path={**ORG, "seat_id": lambda w, o: MISSING_PLAN}, body=lambda w, o: {}),
    ("post", "/organizations/{code}/committees/{seat_id}/end"): Probe(
        role_of("admin"), 404, path={**ORG, "seat_id": lambda w, o: MISSING_PLAN}, body=lambda w, o: {}),
    ("post", "/organizations/{code}/committees/{seat_id}/replace"): Probe(
        role_of("admin"), 404, path={**ORG, "seat_id": lambda w, o: MISSING_PLAN}, body=lambda w, o: {}),
    # neither a role nor an area: a national admin is told what is missing (422), nothing is stored
    ("post", "/users"): Probe(national("admin"), 422, scoped=False, body=lambda w, o: {"username": "nobody-new"}),
    ("get", "/users/{username}"): Probe(role_of("admin"), path=SPARE),
    ("put", "/users/{username}/roles"): Probe(role_of("admin"), path=SPARE,
                                              body=lambda w, o: {"organization": o, "roles": ["executive"]}),
    ("post", "/users/{username}/deactivate"): Probe(role_of("admin"), path=SPARE, after=reactivate),
    ("post", "/users/{username}/activate"): Probe(role_of("admin"), path=SPARE),
    ("post", "/users/{username}/unlock"): Probe(role_of("admin"), path=SPARE),
    ("post", "/users/{username}/reset-link"): Probe(role_of("admin"), 201, path=SPARE),
    ("get", "/admin-log"): Probe(admin_or_auditor, query=lambda w, o: {"organization": o}),
    ("get", "/plans/{plan_id}/attachments/{attachment_id}"): Probe(
        member, 404, path={**PLAN, "attachment_id": lambda w, o: 1}),  # none attached: "no such attachment"
    # the oversight dashboard: the whole country for national admins and auditors; an overseer's area
    # (no caller of this world oversees one: test_oversight holds the areas to their organizations)
    ("get", "/oversight"): Probe(lambda c, o: OK if c.organization is None and c.role in ("admin", "auditor")
                                 else FORBIDDEN, scoped=False),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory, postgres) -> Iterator[World]:
    made = build(tmp_path_factory.mktemp("matrix"), postgres)
    admin.add_user(made.ctx, "victim", made.organizations["kradangnga"].code, ["executive"], with_token=True)
    made.victim_token = admin.tokens_of(made.ctx, "victim")[0]["id"]  # type: ignore[attr-defined]
    yield made
    made.ctx.db.dispose()


def documented_operations() -> set[tuple[str, str]]:
    document = json.loads(OPENAPI.read_text())
    return {(method, path) for path, item in document["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")}


def test_the_policy_table_names_every_operation_of_the_document():
    assert set(API) == documented_operations()


def _url(operation: tuple[str, str], probe: Probe, world: World, org: str, ids: dict[str, Any] | None = None) -> str:
    values = {name: (ids or {}).get(name, make(world, org)) for name, make in probe.path.items()}
    return "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), operation[1])


def _call(client: Any, operation: tuple[str, str], probe: Probe, world: World, org: str, headers: dict,
          ids: dict[str, Any] | None = None) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if probe.query:
        kwargs["query_string"] = probe.query(world, org)
    if probe.body:
        kwargs["json"] = probe.body(world, org)
    return client.open(_url(operation, probe, world, org, ids), method=operation[0].upper(), **kwargs)


@pytest.mark.parametrize("operation", sorted(API), ids=lambda op: f"{op[0].upper()} {op[1]}")
def test_every_caller_of_every_operation_gets_the_documented_answer(world, operation):
    probe, client = API[operation], world.app.test_client()
    orgs = list(world.organizations) if probe.scoped else [None]
    wrong: list[str] = []
    asked = 0
    for org in orgs:
        for caller in world.callers():
            if caller.role is None:
                expected = OK if probe.public else UNAUTHENTICATED
            else:
                expected = probe.rule(caller, org)
            response = _call(client, operation, probe, world, org or "kradangnga", caller.headers())
            asked += 1
            status = {OK: probe.allowed, HIDDEN: probe.hidden}.get(expected, expected)
            if response.status_code >= 500 or response.status_code != status:
                wrong.append(f"{caller.name} on {org}: {response.status_code}, expected {status} "
                             f"({(response.get_json(silent=True) or {}).get('detail')})")
                continue
            if expected == OK and probe.after:
                probe.after(world, client, caller, org)
            if expected != OK and status != 401:
                assert response.mimetype == "application/problem+json"
            if expected == HIDDEN and probe.path:
                _assert_reads_as_missing(client, operation, probe, world, org, caller, response, wrong)
    assert not wrong, f"{len(wrong)} of {asked} answers differ from the policy:\n" + "\n".join(wrong)


def _assert_reads_as_missing(client, operation, probe, world, org, caller, response, wrong) -> None:
    """Another organization's plan or task is answered exactly as one that does not exist."""
    missing = {"plan_id": MISSING_PLAN, "task_id": MISSING_TASK}
    absent = _call(client, operation, probe, world, org, caller.headers(),
                   {k: v for k, v in missing.items() if k in probe.path})
    if (absent.status_code, absent.get_json()) != (response.status_code, response.get_json()):
        wrong.append(f"{caller.name} on {org}: the hidden answer {response.get_json()} differs from "
                     f"that of a missing id {absent.get_json()}")


# --- Lists: only one's own organizations ---------------------------------------------------
def test_lists_hold_nothing_of_an_organization_the_caller_does_not_see(world):
    client = world.app.test_client()
    for caller in world.callers():
        if caller.role is None:
            continue
        visible = [o for o in world.organizations.values() if sees(caller, o.code)]
        plans = {p["id"] for p in client.get("/api/v1/plans", headers=caller.headers()).get_json()["plans"]}
        assert plans == {o.plan_id for o in visible}, caller.name
        codes = {o["code"] for o in client.get("/api/v1/organizations",
                                                 headers=caller.headers()).get_json()["organizations"]}
        assert codes == {o.code for o in visible}, caller.name
        tasks = {t["id"] for t in client.get("/api/v1/tasks", headers=caller.headers()).get_json()["tasks"]}
        assert tasks == ({o.task_id for o in visible} if caller.role == TASK_ROLE else set()), caller.name
        tokens = client.get("/api/v1/tokens", headers=caller.headers()).get_json()["tokens"]
        assert len(tokens) == 1 and tokens[0]["state"] == "active", caller.name  # its own token, no one else's


def test_no_write_of_a_refused_caller_left_a_trace(world):
    """After the whole matrix: each plan holds only its start, claims put back by their claimers, and
    no completion; the organizations and processes are the ones the world began with."""
    client = world.app.test_client()
    auditor_headers = world.national["auditor"].headers()
    for org in world.organizations.values():
        events = client.get(f"/api/v1/plans/{org.plan_id}/history", headers=auditor_headers).get_json()["events"]
        assert {e["kind"] for e in events} <= {"plan_started", "task_claimed", "task_released"}, org.code
        assert all(e["actor"] in (f"{org.code}-{TASK_ROLE}", "system") or e["kind"] == "plan_started"
                   for e in events), events
        assert client.get(f"/api/v1/plans/{org.plan_id}/verify", headers=auditor_headers).get_json()["ok"]
    listed = client.get("/api/v1/organizations", headers=auditor_headers).get_json()["organizations"]
    assert {o["code"] for o in listed} == set(world.organizations)


# --- The pages -------------------------------------------------------------------------------
#: (method, rule) of every page -> (who may, the status they get, the path's values). Pages answer a
#: caller who may not with the Thai error page: 403, or 404 where the plan or task is hidden.
PAGES: dict[tuple[str, str], Probe] = {
    ("get", "/"): Probe(anyone, scoped=False),
    ("get", "/account"): Probe(anyone, scoped=False),
    # an empty form: everyone is told what to fill in (422), nothing is counted or changed
    ("post", "/account/password"): Probe(anyone, 422, scoped=False),
    ("get", "/admin/holidays"): Probe(national("admin"), scoped=False),
    ("post", "/admin/holidays"): Probe(national("admin"), 422, scoped=False),  # an empty form: no day
    ("post", "/admin/holidays/<day>/remove"): Probe(national("admin"), 404, scoped=False,
                                                    path={"day": lambda w, o: UNKEPT_DAY}),
    ("get", "/plans"): Probe(anyone, scoped=False),
    ("get", "/plans/<int:plan_id>"): Probe(member, path=PLAN),
    ("get", "/plans/<int:plan_id>/progress"): Probe(member, path=PLAN),
    ("get", "/plans/<int:plan_id>/dashboard"): Probe(member, 409, path=PLAN),  # not announced yet
    ("get", "/plans/<int:plan_id>/progress/<number>"): Probe(member, 404,
                                                             path={**PLAN, "number": lambda w, o: "1.1.1"}),
    ("get", "/plans/<int:plan_id>/progress/template.xlsx"): Probe(member, 409, path=PLAN),  # not announced yet
    ("get", "/plans/<int:plan_id>/<name>.pdf"): Probe(member, 404, path={**PLAN, "name": lambda w, o: "announcement"}),
    ("get", "/plans/<int:plan_id>/reports/<kind>.<extension>"): Probe(
        member, 409, path={**PLAN, "kind": lambda w, o: "six-months", "extension": lambda w, o: "pdf"}),
    ("post", "/plans/<int:plan_id>/reports/six-months/publish"): Probe(role_of("planning_office", "admin"), 409,
                                                                       path=PLAN),
    ("get", "/plans/new"): Probe(lambda c, o: OK if c.organization and c.role in STARTERS else FORBIDDEN, scoped=False),
    ("get", "/tasks/<task_id>"): Probe(member, path=TASK),
    ("get", "/tasks/<task_id>/spreadsheet/<name>/template.xlsx"): Probe(
        member, path={**TASK, "name": lambda w, o: "projects"}),
    ("get", "/tasks/<task_id>/spreadsheet/<name>/export.<kind>"): Probe(
        member, path={**TASK, "name": lambda w, o: "projects", "kind": lambda w, o: "csv"}),
    ("get", "/audit/"): Probe(holding("auditor"), scoped=False),
    ("get", "/audit/plans/<int:plan_id>"): Probe(auditor, path=PLAN),
    ("get", "/audit/plans/<int:plan_id>/verification"): Probe(auditor, path=PLAN),
    ("get", "/audit/plans/<int:plan_id>/events.csv"): Probe(auditor, path=PLAN),
    ("get", "/audit/plans/<int:plan_id>/export"): Probe(auditor, path=PLAN),
    ("get", "/audit/plans/<int:plan_id>/steps/<int:step>"): Probe(auditor, path={**PLAN, "step": lambda w, o: 1}),
    ("get", "/audit/compliance"): Probe(auditor, query=lambda w, o: {"organization": o, "fiscal_year": "2564"}),
    ("get", "/audit/compliance.csv"): Probe(auditor, query=lambda w, o: {"organization": o, "fiscal_year": "2564"}),
    ("get", "/designer/"): Probe(holding("designer"), scoped=False),
    ("get", "/designer/modeler/<name>"): Probe(holding("designer"), scoped=False,
                                              path={"name": lambda w, o: "operational_plan"}),
    ("get", "/incidents"): Probe(holding("admin"), scoped=False),
    ("get", "/notifications"): Probe(anyone, scoped=False),  # one's own only (commands/notices)
    ("get", "/account/notifications"): Probe(anyone, scoped=False),
    # every delivery for a national admin, its organizations' for an organization's admin (test_notifications)
    ("get", "/admin/deliveries"): Probe(holding("admin"), scoped=False),
    ("post", "/admin/deliveries/<int:delivery_id>/retry"): Probe(holding("admin"), 404, scoped=False,
                                                                 path={"delivery_id": lambda w, o: 1}),  # none yet
    # an organization's admin is sent to its own list; a national admin picks the organization
    ("get", "/strategies"): Probe(lambda c, o: (302 if c.organization else OK) if c.role == "admin" else FORBIDDEN,
                                  scoped=False),
    ("get", "/organizations/<code>/strategies"): Probe(role_of("admin"), path={"code": lambda w, o: o}),
    ("get", "/plans/<int:plan_id>/attachments/<int:attachment_id>"): Probe(
        member, 404, path={**PLAN, "attachment_id": lambda w, o: 1}),  # none yet: "no such attachment"
    ("get", "/admin"): Probe(lambda c, o: 302 if c.role in ("admin", "auditor") else FORBIDDEN, scoped=False),
    ("get", "/admin/organizations"): Probe(holding("admin"), scoped=False),
    ("get", "/admin/organizations/onboarding"): Probe(national("admin"), scoped=False),
    ("get", "/admin/organizations/<code>"): Probe(role_of("admin"), path=ORG),
    ("get", "/admin/organizations/<code>/committees"): Probe(role_of("admin"), path=ORG),
    ("get", "/admin/users/<username>"): Probe(role_of("admin"), path=SPARE),
    ("get", "/admin/log"): Probe(admin_or_auditor, query=lambda w, o: {"organization": o}),
    # a task one may not see is answered as one that is gone: back to the inbox
    ("post", "/tasks/<task_id>/claim"): Probe(role_of(TASK_ROLE), 302, path=TASK, after=release, hidden=302),
    # the oversight dashboard and its CSV: as GET /api/v1/oversight
    ("get", "/oversight"): Probe(lambda c, o: OK if c.organization is None and c.role in ("admin", "auditor")
                                 else FORBIDDEN, scoped=False),
    ("get", "/oversight.csv"): Probe(lambda c, o: OK if c.organization is None and c.role in ("admin", "auditor")
                                     else FORBIDDEN, scoped=False),
}
#: Pages that are no one's to police: public, or reached only as the step of another page's form
#: (their policy is the page's own: see test_web_tasks, test_designer, test_web_auth).
UNPOLICED = {"/password-reset/<token>",  # the one-time link's page: no log-in, 404 for any other
             "/login", "/logout", "/static/<path:filename>", "/healthz", "/designer/vendor/bpmn-js/<path:filename>",
             "/line/webhook"}  # LINE's signed calls, no session (test_line_link)


#: The public notice board: no log-in, the same answer for everyone; test_public_board holds it to
#: showing only what was announced, and its one POST (verify a copy) to changing nothing.
PUBLIC = "/public/"


def page_rules(app) -> set[tuple[str, str]]:
    return {(method.lower(), rule.rule) for rule in app.url_map.iter_rules()
            if not rule.rule.startswith(("/api/", PUBLIC)) and rule.rule not in UNPOLICED
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_page_route_reached_by_get_has_a_policy(world):
    unknown = {r for r in page_rules(world.app) if r[0] == "get"} - set(PAGES)
    assert not unknown, f"pages without a policy: {sorted(unknown)}"


def test_every_post_of_the_pages_refuses_anyone_not_signed_in_and_never_fails(world):
    """Each form target, posted without a session: the log-in page (or a refused CSRF token), never
    a change, never 5xx."""
    client = world.app.test_client()
    for method, rule in sorted(page_rules(world.app)):
        if method != "post":
            continue
        path = _page_path(rule, world, "kradangnga")
        response = client.post(path, data={"x": "1"})
        assert response.status_code in (302, 400, 401), (rule, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], rule


def _page_path(rule: str, world: World, org: str, probe: Probe | None = None) -> str:
    values = {"plan_id": plan_of(world, org), "task_id": task_of(world, org), "name": "projects", "step": 1,
              "draft_id": 1, "token_id": 1, "kind": "csv", "attachment_id": 1, "code": org, "delivery_id": 1,
              "username": f"{org}-admin", "token": "x" * 43, "day": UNKEPT_DAY, "number": "1.1.1", "seat_id": 1}
    if probe:
        values.update({name: make(world, org) for name, make in probe.path.items()})
    return re.sub(r"<(?:[\w]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


@pytest.fixture(scope="module")
def signed_in(world) -> dict[str, tuple[Any, str]]:
    """A browser (test client) signed in as each caller with a role, and its CSRF token."""
    clients = {}
    for caller in world.callers():
        if caller.role is None:
            continue
        client = world.app.test_client()
        answer = client.post("/login", data={"username": caller.username, "password": PASSWORD,
                                             "csrf_token": csrf_token(client)})
        assert answer.status_code == 302, caller.name
        clients[caller.name] = (client, csrf_token(client, "/account"))
    return clients


@pytest.mark.parametrize("page", sorted(PAGES), ids=lambda p: f"{p[0].upper()} {p[1]}")
def test_every_signed_in_caller_of_every_page_gets_the_policys_answer(world, signed_in, page):
    probe = PAGES[page]
    wrong, asked = [], 0
    anonymous = world.app.test_client()
    for org in (list(world.organizations) if probe.scoped else [None]):
        path = _page_path(page[1], world, org or "kradangnga", probe)
        query = probe.query(world, org) if probe.query else None
        unsigned = anonymous.open(path, method=page[0].upper(), query_string=query)
        if page[0] == "post":  # a form posted without a session carries no valid CSRF token
            if unsigned.status_code != 400:
                wrong.append(f"not signed in on {org}: {unsigned.status_code}, expected 400")
        elif unsigned.status_code != 302 or "/login" not in unsigned.headers["Location"]:
            wrong.append(f"not signed in on {org}: {unsigned.status_code}, expected the log-in page")
        for caller in world.callers():
            if caller.role is None:
                continue
            client, token = signed_in[caller.name]
            data = {"csrf_token": token} if page[0] == "post" else None
            response = client.open(path, method=page[0].upper(), query_string=query, data=data)
            asked += 1
            expected = probe.rule(caller, org)
            status = {OK: probe.allowed, HIDDEN: probe.hidden}.get(expected, expected)
            if response.status_code != status:
                wrong.append(f"{caller.name} on {org}: {response.status_code}, expected {status}")
            elif expected == HIDDEN and status == 302 and response.headers["Location"] != "/":
                wrong.append(f"{caller.name} on {org}: sent to {response.headers['Location']}, not the inbox")
            elif expected == OK and probe.after:
                probe.after(world, world.app.test_client(), caller, org)
    assert not wrong, f"{len(wrong)} of {asked} answers differ from the policy:\n" + "\n".join(wrong)
