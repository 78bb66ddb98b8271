"""Verification from checkpoints: a plan verified clean keeps a checkpoint; the next run hashes the
chain up to it and replays only what came after (a run over all plans reads only those that
changed); tampering before it is still caught by the chain, a checkpoint that disagrees with the
chain is reported, never trusted; --full replays everything; a pool of processes gives what one
process gives."""

from __future__ import annotations

import zlib
from datetime import date

from click.testing import CliRunner
from sqlalchemy import delete, insert, select, update

from service import audit, cli
from service.models import Event, Holiday, Plan, ProcessVersion, VerifyCheckpoint

from ..conftest import bangkok
from .procedure import SAMPLES, Procedure
from .test_audit import at_seq, rehash_chain, short_plan, tamper


def checkpoint_of(ctx, pid):
    with ctx.db.read() as session:
        row = session.get(VerifyCheckpoint, pid)
        return None if row is None else (row.seq, row.event_hash, row.state_digest)


def event_count(ctx, pid) -> int:
    with ctx.db.read() as session:
        return len(session.scalars(select(Event.id).where(Event.plan_id == pid)).all())


def rechain_with_head(ctx, pid):
    """Re-hash the whole chain and move the plan row's head with it: a rewrite that leaves the
    record consistent with itself."""
    rehash_chain(ctx, pid)
    with ctx.db.read() as session:
        last = session.scalars(select(Event).where(Event.plan_id == pid).order_by(Event.seq.desc())).first()
        head = (last.seq, last.hash)
    tamper(ctx, update(Plan).where(Plan.id == pid).values(event_seq=head[0], event_hash=head[1]))


def test_a_checkpointed_plan_verifies_again_without_replaying_its_old_events(ctx, client, org):
    pid = short_plan(client, org)
    events = event_count(ctx, pid)
    assert audit.verify_plan(ctx, pid).replayed == events and checkpoint_of(ctx, pid) is None  # none unless asked

    first = audit.verify_plan(ctx, pid, checkpoint=True)
    assert first.ok and first.replayed == events
    assert checkpoint_of(ctx, pid) == (events, first.head, checkpoint_of(ctx, pid)[2])

    again = audit.verify_plan(ctx, pid, checkpoint=True)
    assert again.ok and again.replayed == 0
    assert again.as_dict() == first.as_dict()  # the same result, only cheaper


def test_new_events_after_a_checkpoint_are_replayed_and_a_divergence_there_is_found(ctx, client, org):
    run = Procedure(client, org)
    pid = run.start()["id"]
    run.complete(pid, "collect_projects")
    run.complete(pid, "draft_plan")
    assert audit.verify_plan(ctx, pid, checkpoint=True).replayed == 3

    run.complete(pid, "propose_draft")
    run.complete(pid, "consider_draft")
    result = audit.verify_plan(ctx, pid, checkpoint=True)
    assert result.ok and result.replayed == 2
    assert checkpoint_of(ctx, pid)[0] == 5  # moved to the new head

    run.complete(pid, "present_to_executive")
    run.complete(pid, "approve_plan")
    tamper(ctx, update(Event).where(at_seq(pid, 7)).values(data={**SAMPLES["approve_plan"],
                                                                   "approval_date": "2020-09-30"}))
    rehash_chain(ctx, pid)  # the chain is whole again: only replaying the new events can tell
    found = audit.verify_plan(ctx, pid, checkpoint=True)
    assert (found.first_divergence.seq, found.first_divergence.reason) == (7, "state_mismatch")
    assert found.replayed == 2  # events 6 and 7, not 1-5
    assert found.first_divergence == audit.verify_plan(ctx, pid, full=True).first_divergence
    assert checkpoint_of(ctx, pid)[0] == 5  # a failed run keeps the checkpoint where it was


def test_an_old_event_tampered_after_the_checkpoint_is_caught_by_the_chain(ctx, client, org):
    pid = short_plan(client, org)
    assert audit.verify_plan(ctx, pid, checkpoint=True).ok
    with ctx.db.read() as session:
        original = session.scalars(select(Event.data).where(at_seq(pid, 2))).one()
    tamper(ctx, update(Event).where(at_seq(pid, 2)).values(data={**original, "projects": []}))
    found = audit.verify_plan(ctx, pid, checkpoint=True)
    assert (found.first_divergence.seq, found.first_divergence.reason) == (2, "event_altered")
    assert found.replayed == 0  # hashing found it, no replay needed
    assert found.first_divergence == audit.verify_plan(ctx, pid).first_divergence  # what a full run says


def test_a_history_rewritten_and_rechained_is_caught_by_the_checkpoint_even_where_replay_cannot_tell(
        ctx, client, org):
    pid = short_plan(client, org)
    events = event_count(ctx, pid)
    assert audit.verify_plan(ctx, pid, checkpoint=True).ok
    tamper(ctx, update(Event).where(at_seq(pid, 7)).values(actor="kradangnga-support_committee"))
    rechain_with_head(ctx, pid)
    assert audit.verify_plan(ctx, pid, full=True).ok  # consistent with itself: replay alone cannot tell

    found = audit.verify_plan(ctx, pid, checkpoint=True)
    divergence = found.first_divergence
    assert (divergence.seq, divergence.kind, divergence.reason) == (events, "checkpoint", "checkpoint_mismatch")
    assert found.replayed == events  # not trusted: everything was replayed before saying so

    # a rewrite that replay does see is reported as replay reports it
    tamper(ctx, update(Event).where(at_seq(pid, 5)).values(data={**SAMPLES["consider_draft"],
                                                                   "review_resolution": "revise"}))
    rechain_with_head(ctx, pid)
    divergence = audit.verify_plan(ctx, pid, checkpoint=True).first_divergence
    assert (divergence.seq, divergence.reason) == (5, "state_mismatch")


def test_a_tampered_checkpoint_is_reported_not_trusted_and_full_replaces_it(ctx, client, org):
    pid = short_plan(client, org)
    events = event_count(ctx, pid)
    head = audit.verify_plan(ctx, pid, checkpoint=True).head
    with ctx.db.read() as session:
        kept = session.get(VerifyCheckpoint, pid)
        good = {"event_hash": kept.event_hash, "state": kept.state, "state_digest": kept.state_digest}
        state = zlib.decompress(kept.state).decode("utf-8")
    forged = state.replace('"announced_on":"2020-10-01"', '"announced_on":"2020-10-09"')
    assert forged != state
    cases = [
        {"event_hash": "f" * 64},  # points at no event of the chain
        {"state": zlib.compress(forged.encode("utf-8"))},  # a state that is not the one the event records
        {"state": b"not zlib"},
        {"state_digest": "0" * 64},
        {"seq": events + 5},  # beyond the history: as if later events were cut off
        {"seq": 3},  # another event's place, with the head's hash
    ]
    for change in cases:
        tamper(ctx, update(VerifyCheckpoint).where(VerifyCheckpoint.plan_id == pid).values(**change))
        found = audit.verify_plan(ctx, pid, checkpoint=True)
        assert not found.ok and found.first_divergence.reason == "checkpoint_mismatch", change
        assert found.replayed == events, change
        assert found.head == head
        tamper(ctx, update(VerifyCheckpoint).where(VerifyCheckpoint.plan_id == pid).values(seq=events, **good))
        assert audit.verify_plan(ctx, pid, checkpoint=True).replayed == 0

    tamper(ctx, update(VerifyCheckpoint).where(VerifyCheckpoint.plan_id == pid).values(event_hash="f" * 64))
    assert not audit.verify_plan(ctx, pid, checkpoint=True).ok
    assert checkpoint_of(ctx, pid)[1] == "f" * 64  # a failed run does not replace it
    full = audit.verify_plan(ctx, pid, checkpoint=True, full=True)  # the operator's choice, after looking
    assert full.ok and full.replayed == events
    assert checkpoint_of(ctx, pid)[1] == head
    assert audit.verify_plan(ctx, pid, checkpoint=True).replayed == 0


def test_full_replays_everything_and_a_changed_basis_is_not_trusted(ctx, client, org):
    pid = short_plan(client, org)
    events = event_count(ctx, pid)
    audit.verify_plan(ctx, pid, checkpoint=True)
    assert audit.verify_plan(ctx, pid, checkpoint=True, full=True).replayed == events
    assert audit.verify_plan(ctx, pid, checkpoint=True).replayed == 0

    # a holiday slipped in behind the service, counting from before the plan: the checkpoint was
    # made over other holidays, so replay runs again from the start (and says what it changes)
    tamper(ctx, insert(Holiday).values(day=date(2030, 1, 2), name="แทรก", effective_at=bangkok(2020, 1, 1),
                                       ended_at=None, added_by="someone", removed_by=None))
    result = audit.verify_plan(ctx, pid, checkpoint=True)
    assert result.ok and result.replayed == events
    assert audit.verify_plan(ctx, pid, checkpoint=True).replayed == 0  # a new checkpoint on the new basis


def test_all_over_several_plans_in_a_pool_gives_what_one_process_gives(ctx, client, org, monkeypatch):
    run = Procedure(client, org)
    plans = [short_plan(client, org)]
    for year in (2565, 2566, 2567):
        plans.append(run.start(fiscal_year=year)["id"])
        run.complete(plans[-1], "collect_projects")
    tamper(ctx, update(Event).where(at_seq(plans[2], 2)).values(actor="someone"))

    serial = [r.as_dict() for r in audit.verify_all(ctx)]
    seen: list[tuple[int, int]] = []
    pooled = list(audit.verify_all(ctx, checkpoint=True, workers=2, progress=lambda done, total: seen.append(
        (done, total))))
    assert [r.as_dict() for r in pooled] == serial
    assert [r.plan_id for r in pooled] == sorted(plans)
    assert seen == [(n, 4) for n in range(1, 5)]
    assert {p for p in plans if checkpoint_of(ctx, p)} == set(plans) - {plans[2]}  # the failed one keeps none
    warm = list(audit.verify_all(ctx, checkpoint=True, workers=2))
    assert [r.as_dict() for r in warm] == serial
    # only the failed one, which keeps no checkpoint, replays (its first event: its second fails on its hash)
    assert [r.replayed for r in warm] == [1 if r.plan_id == plans[2] else 0 for r in warm]

    monkeypatch.setattr(cli, "_context", lambda: ctx)
    runner = CliRunner()
    total = sum(event_count(ctx, p) for p in plans)
    result = runner.invoke(cli.main, ["audit", "verify", "--all", "--workers", "2", "--progress"])
    assert result.exit_code == 1
    assert f"4 plans verified, 1 failed; 1 of {total} events replayed" in result.output
    assert "verifying: 4/4 plans (100%), 1 failed" in result.output
    assert f"plan {plans[2]}: FAILED at event 2 (task_completed): event_altered" in result.output
    assert f"plan {plans[0]}: ok" not in result.output  # the progress line counts those
    result = runner.invoke(cli.main, ["audit", "verify", "--all", "--full", "--workers", "2"])
    assert result.exit_code == 1
    assert f"4 plans verified, 1 failed; {total - 1} of {total} events replayed (full)" in result.output
    assert f"plan {plans[0]}: ok" in result.output  # not a terminal: every plan is listed, as before
    assert runner.invoke(cli.main, ["audit", "verify", str(plans[0])]).exit_code == 0
    assert runner.invoke(cli.main, ["audit", "verify", "--all", "--workers", "0"]).exit_code == 2


def test_an_incremental_run_over_all_plans_reads_only_the_plans_that_changed(ctx, client, org):
    """``verify --all`` from checkpoints: a plan nothing happened to is not read again; one with new
    events, a history chained again, an event deleted, its state digest or process files edited is."""
    run = Procedure(client, org)
    plans = [run.start(fiscal_year=year)["id"] for year in range(2564, 2570)]
    for pid in plans:
        run.complete(pid, "collect_projects")
    assert all(r.ok and not r.unchanged for r in audit.verify_all(ctx, checkpoint=True))
    warm = list(audit.verify_all(ctx, checkpoint=True))
    assert all(r.ok and r.unchanged and r.replayed == 0 for r in warm)
    assert [(r.events, r.head) for r in warm] == [checkpoint_of(ctx, p)[:2] for p in plans]

    grown, rechained, cut, edited_state, edited_process, untouched = plans
    run.complete(grown, "draft_plan")
    tamper(ctx, update(Event).where(at_seq(rechained, 2)).values(actor="kradangnga-executive"))
    rechain_with_head(ctx, rechained)
    tamper(ctx, delete(Event).where(at_seq(cut, 1)))
    tamper(ctx, update(Plan).where(Plan.id == edited_state).values(state_digest="0" * 64))
    results = {r.plan_id: r for r in audit.verify_all(ctx, checkpoint=True)}
    assert [p for p in plans if results[p].unchanged] == [edited_process, untouched]
    assert results[grown].ok and results[grown].replayed == 1
    assert results[rechained].first_divergence.reason == "checkpoint_mismatch"
    assert results[cut].first_divergence.reason == "missing_event"
    assert results[edited_state].ok and results[edited_state].replayed == 0  # read and hashed again: still clean

    # the process files a plan ran on, edited behind the service: every plan of that version is read again
    with ctx.db.read() as session:
        version_id = session.get(Plan, edited_process).process_version_id
        files = dict(session.get(ProcessVersion, version_id).bpmn_files)
    name = next(iter(files))
    tamper(ctx, update(ProcessVersion).where(ProcessVersion.id == version_id).values(
        bpmn_files={**files, name: files[name].replace("<", " <", 1)}))
    results = {r.plan_id: r for r in audit.verify_all(ctx, checkpoint=True)}
    assert not any(r.unchanged for r in results.values())
    assert results[untouched].first_divergence.reason == "process_altered"
    # --full reads every plan, whatever its checkpoint says
    assert not any(r.unchanged for r in audit.verify_all(ctx, checkpoint=True, full=True))
