"""Auditors replay and verify plans: the hash chain, the replay, the snapshot; tampering caught at
the right event; bundles verified with no database; access limited to the auditor's organizations."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from service import audit, cli
from service.commands import plans as commands
from service.eventlog import event_hash
from service.models import Event, OpenTask, Plan

from ..conftest import bangkok
from .procedure import SAMPLES, Procedure


def tick(ctx):
    return commands.fire_due_timers(ctx)


def eventful_plan(ctx, client, org, clock) -> int:
    """Claims, the ข้อ 27 timer and extension, both send-backs, a late posting, the 30-day timer."""
    run = Procedure(client, org)
    pid = run.start(budget_announced_on="2020-10-02")["id"]  # day 30 is Sun 1 Nov: due Mon 2 Nov
    task = run.open_task(pid, "collect_projects")
    headers = org.headers("support_committee")
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers).status_code == 200
    assert client.post(f"/api/v1/tasks/{task['id']}/release", headers=headers).status_code == 200
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers).status_code == 200
    run.complete(pid, "collect_projects")
    clock.set(bangkok(2020, 11, 3, 0, 0))
    assert tick(ctx)
    run.complete(pid, "record_extension", {"extended_to": "2020-11-30", "extension_reason": "รอโครงการส่วนภูมิภาค"})
    clock.set(bangkok(2020, 11, 4, 9, 0))
    for name in ("draft_plan", "propose_draft"):
        run.complete(pid, name)
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-11-04", "review_resolution": "revise",
                                         "review_comments": "เพิ่มโครงการของหน่วยงานส่วนภูมิภาค"})
    for name in ("draft_plan", "propose_draft", "consider_draft", "present_to_executive"):
        run.complete(pid, name)
    run.complete(pid, "approve_plan", {"approval_date": "2020-11-05", "approval_decision": "return",
                                       "approval_comments": "ทบทวนงบประมาณ"})
    for name in ("consider_draft", "present_to_executive", "approve_plan"):
        run.complete(pid, name)
    clock.set(bangkok(2020, 11, 10, 10, 0))
    run.complete(pid, "announce_plan", {**SAMPLES["announce_plan"], "announced_on": "2020-11-10"})
    clock.set(bangkok(2020, 11, 26, 0, 0, 1))  # posting due by the end of Wed 25 Nov
    assert tick(ctx)
    run.complete(pid, "late_posting")
    clock.set(bangkok(2020, 11, 26, 10, 0))
    run.complete(pid, "post_announcement", {"posted_on": "2020-11-26", "posting_places": ["หน้าสำนักงาน"]})
    clock.set(bangkok(2020, 12, 27, 0, 0, 1))  # posted 26 Nov: 30 days are complete at the end of 26 Dec
    assert tick(ctx)
    run.complete(pid, "certify_posting")
    assert run.plan(pid)["status"] == "completed"
    return pid


def short_plan(client, org) -> int:
    run = Procedure(client, org)
    pid = run.start()["id"]
    run.through_announcement(pid)
    return pid


def events_of(ctx, pid):
    with ctx.db.read() as session:
        return [(e.seq, e.kind, e.task) for e in session.scalars(select(Event).where(Event.plan_id == pid)
                                                                  .order_by(Event.seq))]


def tamper(ctx, *statements):
    """Change the database behind the application, as someone with database access could; on
    PostgreSQL such a person first disables the append-only trigger."""
    with ctx.db.engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER USER")
        for statement in statements:
            connection.execute(statement)
        if postgres:
            connection.exec_driver_sql("ALTER TABLE events ENABLE TRIGGER USER")


def rehash_chain(ctx, pid):
    """Recompute every hash after an edit: the chain is intact again, only replay can tell."""
    with ctx.db.read() as session:
        events = session.scalars(select(Event).where(Event.plan_id == pid).order_by(Event.seq)).all()
        previous, changes = "0" * 64, []
        for event in events:
            event.prev_hash = previous
            previous = event_hash(event)
            changes.append(update(Event).where(Event.id == event.id).values(prev_hash=event.prev_hash, hash=previous))
    tamper(ctx, *changes)


def at_seq(pid, seq):
    return (Event.plan_id == pid) & (Event.seq == seq)


# --- A genuine history verifies ----------------------------------------------------------
def test_a_plan_with_send_backs_timers_claims_and_an_extension_verifies(ctx, client, org, clock):
    pid = eventful_plan(ctx, client, org, clock)
    kinds = events_of(ctx, pid)
    assert {"task_claimed", "task_released", "timer_fired", "task_completed", "projects_listed"} <= {
        k for _, k, _ in kinds}
    # 24 steps, its projects listed for tracking and the two documents frozen once the announcement was recorded
    assert ("record_extension" in {t for _, _, t in kinds}) and len(kinds) == 27
    result = audit.verify_plan(ctx, pid)
    assert result.as_dict() == {"ok": True, "plan_id": pid, "events": len(kinds), "head": result.head,
                                "first_divergence": None}

    response = client.get(f"/api/v1/plans/{pid}/verify", headers=org.headers("auditor"))
    assert response.status_code == 200
    assert response.get_json() | {} == {"ok": True, "plan_id": pid, "events": len(kinds), "head": result.head,
                                         "first_divergence": None}


# --- Tampering, each caught at the right event and named -------------------------------
def test_edited_data_moved_time_and_replaced_actor_are_caught_at_that_event(ctx, client, org, clock):
    pid = short_plan(client, org)  # 1 started, 2-8 completions
    cases = [
        ({"data": {**SAMPLES["consider_draft"], "review_resolution": "revise"}}, 5),
        ({"at": bangkok(2020, 9, 21, 8, 0)}, 6),
        ({"actor": "kradangnga-auditor"}, 7),
    ]
    for change, seq in cases:
        with ctx.db.read() as session:
            original = session.scalars(select(Event).where(at_seq(pid, seq))).one()
            before = {name: getattr(original, name) for name in change}
        tamper(ctx, update(Event).where(at_seq(pid, seq)).values(**change))
        found = audit.verify_plan(ctx, pid).first_divergence
        assert (found.seq, found.reason) == (seq, "event_altered"), found
        assert found.kind == "task_completed"
        tamper(ctx, update(Event).where(at_seq(pid, seq)).values(**before))
        assert audit.verify_plan(ctx, pid).ok


def test_an_edit_with_the_whole_chain_rehashed_is_caught_by_replay(ctx, client, org, clock):
    pid = short_plan(client, org)
    tamper(ctx, update(Event).where(at_seq(pid, 7)).values(data={**SAMPLES["approve_plan"],
                                                                   "approval_date": "2020-09-30"}))
    rehash_chain(ctx, pid)
    found = audit.verify_plan(ctx, pid).first_divergence
    assert (found.seq, found.kind, found.reason) == (7, "task_completed", "state_mismatch")

    pid2 = Procedure(client, org).start(fiscal_year=2565)["id"]
    Procedure(client, org).complete(pid2, "collect_projects")
    Procedure(client, org).complete(pid2, "draft_plan")
    with ctx.db.read() as session:
        recorded_at = session.scalars(select(Event.at).where(at_seq(pid2, 2))).one()
    tamper(ctx, update(Event).where(at_seq(pid2, 2)).values(at=recorded_at + timedelta(minutes=30)))
    rehash_chain(ctx, pid2)
    found = audit.verify_plan(ctx, pid2).first_divergence
    assert (found.seq, found.reason) == (2, "state_mismatch"), found


def test_a_deleted_event_is_named_as_missing_and_a_deleted_last_event_shows_in_the_snapshot(ctx, client, org):
    pid = short_plan(client, org)
    tamper(ctx, delete(Event).where(at_seq(pid, 4)))
    found = audit.verify_plan(ctx, pid).first_divergence
    assert (found.seq, found.reason, found.expected, found.found) == (4, "missing_event", 4, 5)

    other = Procedure(client, org).start(fiscal_year=2565)["id"]
    Procedure(client, org).complete(other, "collect_projects")
    tamper(ctx, delete(Event).where(at_seq(other, 2)))
    found = audit.verify_plan(ctx, other).first_divergence
    assert (found.seq, found.kind, found.reason) == (None, "snapshot", "snapshot_mismatch")


def test_reordered_events_are_named_as_reordered(ctx, client, org):
    pid = short_plan(client, org)
    tamper(ctx, update(Event).where(at_seq(pid, 3)).values(seq=-3),
           update(Event).where(at_seq(pid, 4)).values(seq=3),
           update(Event).where(at_seq(pid, -3)).values(seq=4))
    found = audit.verify_plan(ctx, pid).first_divergence
    assert (found.seq, found.reason) == (3, "reordered"), found


def test_the_snapshot_or_the_deadlines_edited_behind_the_log_are_caught(ctx, client, org):
    pid = short_plan(client, org)
    with ctx.db.read() as session:
        plan = session.get(Plan, pid)
        state_json, deadlines = plan.state_json, plan.deadlines
    edited = state_json.replace('"announced_on":"2020-10-01"', '"announced_on":"2020-10-09"')
    assert edited != state_json
    tamper(ctx, update(Plan).where(Plan.id == pid).values(state_json=edited))
    found = audit.verify_plan(ctx, pid).first_divergence
    assert (found.seq, found.reason) == (None, "snapshot_mismatch")
    assert found.expected == events_digest(ctx, pid)[-1]

    later = [{**d, "due_at": "2020-10-31T16:59:59.999999+00:00"} if d["key"] == "posting_deadline" else d
             for d in deadlines]
    tamper(ctx, update(Plan).where(Plan.id == pid).values(state_json=state_json, deadlines=later))
    found = audit.verify_plan(ctx, pid).first_divergence
    assert found.reason == "deadlines_mismatch" and found.found == later


def test_a_deleted_claim_shows_in_the_inbox_read_model(ctx, client, org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    task = run.open_task(pid, "collect_projects")
    client.post(f"/api/v1/tasks/{task['id']}/claim", headers=org.headers("support_committee"))
    assert audit.verify_plan(ctx, pid).ok
    tamper(ctx, delete(Event).where(at_seq(pid, 2)))
    found = audit.verify_plan(ctx, pid).first_divergence
    assert found.reason == "claims_mismatch" and found.found == {task["id"]: "kradangnga-support_committee"}
    with ctx.db.read() as session:
        assert session.get(OpenTask, task["id"]).claimed_by == "kradangnga-support_committee"


def test_a_deleted_claim_and_release_at_the_end_of_the_log_is_caught_by_the_head_on_the_plan_row(ctx, client, org):
    """Neither the state nor the claims change when a claim and its release both vanish; the log
    head the plan row keeps does."""
    run = Procedure(client, org)
    pid = run.start()["id"]
    task = run.open_task(pid, "collect_projects")
    for action in ("claim", "release"):
        assert client.post(f"/api/v1/tasks/{task['id']}/{action}",
                           headers=org.headers("support_committee")).status_code == 200
    verified = audit.verify_plan(ctx, pid)
    assert verified.ok and verified.events == 3
    tamper(ctx, delete(Event).where(Event.plan_id == pid, Event.seq >= 2))
    found = audit.verify_plan(ctx, pid).first_divergence
    assert found.reason == "head_mismatch" and found.expected[0] == 1 and found.found[0] == 3


def events_digest(ctx, pid):
    with ctx.db.read() as session:
        return list(session.scalars(select(Event.state_digest).where(Event.plan_id == pid).order_by(Event.seq)))


# --- Bundles, offline ----------------------------------------------------------------------
def test_an_exported_bundle_verifies_offline_and_an_edited_or_cut_one_is_refused(ctx, client, org, clock, tmp_path):
    pid = eventful_plan(ctx, client, org, clock)
    response = client.get(f"/api/v1/plans/{pid}/export", headers=org.headers("auditor"))
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    raw = response.data
    body = json.loads(raw)
    assert body["organization"]["code"] == "kradangnga" and body["plan"]["fiscal_year"] == 2564
    assert set(body["process"]["bpmn_files"]) == {"operational_plan.bpmn"} and body["process"]["lane_roles"]
    good = tmp_path / "plan.json"
    good.write_bytes(raw)
    ctx.db.dispose()  # nothing below needs the database

    result = audit.verify_bundle(good)
    assert result.ok and result.events == len(body["events"]) and result.head == body["head"]

    def refused(name, change):
        edited = json.loads(raw)
        change(edited)
        path = tmp_path / name
        path.write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
        return audit.verify_bundle(path).first_divergence

    found = refused("data.json", lambda b: b["events"][9]["data"].update(review_resolution="approve"))
    assert (found.seq, found.reason) == (10, "event_altered")
    found = refused("org.json", lambda b: b["organization"].update(name="เทศบาลอื่น"))
    assert found.reason == "bundle_altered"
    found = refused("bpmn.json", lambda b: b["process"]["bpmn_files"].update(
        {"operational_plan.bpmn": b["process"]["bpmn_files"]["operational_plan.bpmn"].replace(", 15)", ", 20)")}))
    assert found.reason == "process_altered"

    def drop_last(b):
        b["events"].pop()
        b["head"] = b["events"][-1]["hash"]
        b["bundle_sha256"] = audit.bundle_digest(b)

    found = refused("short.json", drop_last)
    assert found.reason == "snapshot_mismatch"

    cut = tmp_path / "cut.json"
    cut.write_bytes(raw[: len(raw) // 2])
    found = audit.verify_bundle(cut).first_divergence
    assert found.reason == "bundle_truncated" and f"{len(raw) // 2} bytes" in found.detail

    runner = CliRunner()
    ok = runner.invoke(cli.main, ["audit", "verify-bundle", str(good)], env={"PHAEN_DATABASE_URL": "postgresql://nowhere/x"})
    assert ok.exit_code == 0 and f"{result.events} events" in ok.output
    bad = runner.invoke(cli.main, ["audit", "verify-bundle", str(cut)])
    assert bad.exit_code == 1 and "bundle_truncated" in bad.output


def test_events_csv_lists_every_event_in_order(ctx, client, org):
    pid = short_plan(client, org)
    response = client.get(f"/api/v1/plans/{pid}/events.csv", headers=org.headers("auditor"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("seq,at,at_bangkok,actor,role,kind,task")
    assert len(lines) == 1 + len(events_of(ctx, pid))
    announced = next(line for line in lines if "announce_plan" in line)
    assert "kradangnga-executive" in announced and "นายสมชาย ใจดี" in text
    assert "document_frozen" in lines[-1]  # the documents frozen once the announcement was recorded


# --- The CLI -------------------------------------------------------------------------------
def test_cli_verify_one_and_all_exits_non_zero_on_a_failure(ctx, client, org, settings, tmp_path, monkeypatch):
    first, second = short_plan(client, org), Procedure(client, org).start(fiscal_year=2565)["id"]
    monkeypatch.setattr(cli, "_context", lambda: ctx)
    runner = CliRunner()
    result = runner.invoke(cli.main, ["audit", "verify", "--all"])
    assert result.exit_code == 0 and "2 plans verified, 0 failed" in result.output
    out = tmp_path / "b.json"
    result = runner.invoke(cli.main, ["audit", "export", str(first), "-o", str(out)])
    assert result.exit_code == 0 and audit.verify_bundle(out).ok

    tamper(ctx, update(Event).where(at_seq(second, 1)).values(actor="someone"))
    # both plans are as their checkpoints left them: an incremental run does not read them again
    result = runner.invoke(cli.main, ["audit", "verify", "--all"])
    assert result.exit_code == 0 and "2 plans unchanged since their checkpoint" in result.output
    result = runner.invoke(cli.main, ["audit", "verify", "--all", "--full"])
    assert result.exit_code == 1 and "2 plans verified, 1 failed" in result.output
    assert f"plan {second}: FAILED at event 1 (plan_started): event_altered" in result.output
    assert runner.invoke(cli.main, ["audit", "verify", str(first)]).exit_code == 0
    missing = runner.invoke(cli.main, ["audit", "verify", "9999"])
    assert missing.exit_code == 1 and "ไม่พบแผนนี้" in missing.output


# --- Access ----------------------------------------------------------------------------------
def test_auditors_see_only_their_organizations_and_cannot_act(ctx, client, org, other_org):
    pid = short_plan(client, org)
    theirs = other_org.headers("auditor")
    for path in (f"/api/v1/plans/{pid}/verify", f"/api/v1/plans/{pid}/export", f"/api/v1/plans/{pid}/events.csv",
                 "/api/v1/compliance?organization=kradangnga&fiscal_year=2564",
                 "/api/v1/compliance.csv?organization=kradangnga&fiscal_year=2564"):
        response = client.get(path, headers=theirs)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"
        assert client.get(path, headers=org.headers("auditor")).status_code == 200, path
        assert client.get(path).status_code == 401
    task = Procedure(client, org).open_task(pid, "post_announcement")
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=org.headers("auditor"),
                           json=SAMPLES["post_announcement"])
    assert response.status_code == 403
    bad = client.get("/api/v1/compliance?organization=kradangnga", headers=org.headers("auditor"))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "fiscal_year"


# --- Deadline compliance -----------------------------------------------------------------------
def legal_last_day(start: str, days: int, working_day: bool = True) -> str:
    """The day counting of DOMAIN.md, independently: the period ends ``days`` days after the
    start; a limit falling on a weekend moves to the Monday (no holidays are loaded here)."""
    day = date.fromisoformat(start) + timedelta(days=days)
    while working_day and day.weekday() >= 5:
        day += timedelta(days=1)
    return day.isoformat()


def test_compliance_lists_every_deadline_met_missed_or_pending(ctx, client, org, other_org, clock):
    on_time, late_posting, late_plan = (Procedure(client, other_org), Procedure(client, other_org),
                                        Procedure(client, org))
    a = on_time.start(fiscal_year=2564, budget_announced_on="2020-09-20")["id"]
    on_time.through_announcement(a)  # 21 Sep; announced_on 1 Oct
    b = late_posting.start(fiscal_year=2565, budget_announced_on="2020-09-20")["id"]
    late_posting.through_announcement(b)
    c = late_plan.start(fiscal_year=2564, budget_announced_on="2020-10-02")["id"]
    late_plan.complete(c, "collect_projects")
    clock.set(bangkok(2020, 10, 2, 10, 0))
    on_time.complete(a, "post_announcement", {"posted_on": "2020-10-02", "posting_places": ["หน้าสำนักงาน"]})
    clock.set(bangkok(2020, 11, 3, 0, 0))
    tick(ctx)  # a: 30 days posted; b: posting overdue; c: ข้อ 27 period over
    late_plan.complete(c, "record_extension", {"extended_to": "2020-11-20", "extension_reason": "รอโครงการ"})
    clock.set(bangkok(2020, 11, 23, 9, 0))
    for name in ("draft_plan", "propose_draft", "consider_draft", "present_to_executive", "approve_plan"):
        late_plan.complete(c, name)
    late_plan.complete(c, "announce_plan", {**SAMPLES["announce_plan"], "announced_on": "2020-11-23"})
    clock.set(bangkok(2020, 11, 24, 9, 0))
    late_plan.complete(c, "post_announcement", {"posted_on": "2020-11-24", "posting_places": ["หน้าสำนักงาน"]})

    def report(code, year):
        response = client.get(f"/api/v1/compliance?organization={code}&fiscal_year={year}",
                              headers=(org if code == org.code else other_org).headers("auditor"))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def rows(found):
        return [(r["plan_id"], r["key"], r["due_on"], r["state"], r["actual_on"]) for r in found["deadlines"]]

    expected_a = [
        (a, "posting_deadline", legal_last_day("2020-10-01", 15), "met", "2020-10-02"),
        (a, "budget_deadline", legal_last_day("2020-09-20", 30), "met", "2020-10-01"),  # the day it was announced
        (a, "posting_period", legal_last_day("2020-10-02", 30, working_day=False), "met",
         legal_last_day("2020-10-02", 30, working_day=False)),
    ]
    found = report(other_org.code, 2564)
    assert sorted(rows(found)) == sorted(expected_a)
    assert found["summary"] == {"met": 3, "missed": 0, "pending": 0}
    assert all("ข้อ 2" in r["basis"] for r in found["deadlines"])

    found = {r["key"]: r for r in report(other_org.code, 2565)["deadlines"]}
    assert (found["posting_deadline"]["due_on"], found["posting_deadline"]["state"]) == (
        legal_last_day("2020-10-01", 15), "missed")
    assert found["budget_deadline"]["state"] == "met"

    found = report(org.code, 2564)
    assert sorted(rows(found)) == sorted([
        (c, "budget_deadline", "2020-11-20", "missed", "2020-11-23"),  # extended to 20 Nov, announced 23 Nov
        (c, "posting_deadline", legal_last_day("2020-11-23", 15), "met", "2020-11-24"),
        (c, "posting_period", legal_last_day("2020-11-24", 30, working_day=False), "pending", None),
    ])
    assert found["summary"] == {"met": 1, "missed": 1, "pending": 1}
    assert {r["extended_to"] for r in found["deadlines"]} == {"2020-11-20", None}

    response = client.get(f"/api/v1/compliance.csv?organization={org.code}&fiscal_year=2564",
                          headers=org.headers("auditor"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(audit.COMPLIANCE_FIELDS) and len(lines) == 4
    assert any(line.startswith(f"{c},operational_plan,1,running,budget_deadline,") and ",missed" in line
               for line in lines)
    assert report(org.code, 2563)["deadlines"] == []


# --- Append-only on PostgreSQL -----------------------------------------------------------------
def test_postgresql_refuses_to_update_or_delete_events(ctx, client, org):
    if ctx.db.engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL only")
    from sqlalchemy.exc import DBAPIError

    pid = short_plan(client, org)
    for statement in (update(Event).where(at_seq(pid, 2)).values(actor="someone"),
                      delete(Event).where(at_seq(pid, 8))):
        with pytest.raises(DBAPIError, match="append-only"), ctx.db.engine.begin() as connection:
            connection.execute(statement)
    with pytest.raises(DBAPIError, match="append-only"), ctx.db.engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE events CASCADE")
    # 8 steps, its projects listed for tracking and the two documents frozen at the announcement
    assert len(events_of(ctx, pid)) == 11 and audit.verify_plan(ctx, pid).ok
    ctx.db.downgrade("0002")  # the downgrade drops the guard
    with ctx.db.engine.begin() as connection:
        connection.execute(update(Event).where(at_seq(pid, 2)).values(actor="someone"))
    ctx.db.migrate()
    assert audit.verify_plan(ctx, pid).first_divergence.reason == "event_altered"
