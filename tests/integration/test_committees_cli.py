"""The committees at the console (issue 17): `phaen committee list|add|end` act as the operator (a
national admin's power), go into the admin log as the console's, and refuse in Thai with exit 1,
storing nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from service import cli
from service.commands import admin
from service.models import AdminLogEntry, CommitteeSeat

CHAIR = ["--committee", "development_committee", "--name", "นายประธาน เดิมที", "--seat", "chair",
         "--from", "2019-01-01"]


@pytest.fixture
def run(ctx, org, monkeypatch):
    monkeypatch.setattr(cli, "_context", lambda: ctx)
    runner = CliRunner()

    def invoke(*args: str, expect: int = 0):
        result = runner.invoke(cli.main, ["committee", *args])
        assert result.exit_code == expect, (result.output, result.exception)
        return result

    return invoke


def stored(ctx) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(CommitteeSeat))


def logged(ctx) -> list[tuple[str, str, str | None]]:
    with ctx.db.read() as session:
        return [(e.action, e.actor, e.details.get("ends_on")) for e in session.scalars(
            select(AdminLogEntry).where(AdminLogEntry.action.like("committee_%")).order_by(AdminLogEntry.id))]


def term_id(result) -> int:
    return int(result.output.split("\t")[0].removeprefix("term "))


def test_add_list_and_end_a_term_as_the_operator(ctx, org, run):
    chair = term_id(run("add", "--org", org.code, *CHAIR))
    holder = run("add", "--org", org.code, "--committee", "executive", "--name", "นายก ใจดี", "--seat", "holder",
                 "--position", "นายกเทศมนตรีตำบลกระดังงา", "--from", "2019-01-01", "--to", "2022-12-31")
    assert "\tนายกเทศมนตรีตำบลกระดังงา\tนายก ใจดี\t2019-01-01\t2022-12-31" in holder.output
    listed = run("list", "--org", org.code).output.splitlines()
    assert listed == [f"{chair}\tdevelopment_committee\tประธานกรรมการ\tนายประธาน เดิมที\t2019-01-01\t-",
                      f"{term_id(holder)}\texecutive\tนายกเทศมนตรีตำบลกระดังงา\tนายก ใจดี\t2019-01-01\t2022-12-31"]

    ended = run("end", str(chair), "--on", "2020-06-30")
    assert ended.output.strip().endswith("\t2019-01-01\t2020-06-30")
    # the last day of a term still counts; who sat on a day, chair (holder) first
    assert run("list", "--org", org.code, "--on", "2020-06-30").output.splitlines() == [
        f"{chair}\tdevelopment_committee\tประธานกรรมการ\tนายประธาน เดิมที\t2019-01-01\t2020-06-30", listed[1]]
    assert run("list", "--org", org.code, "--on", "2021-01-01").output.splitlines() == [listed[1]]
    assert "ไม่มีผู้ดำรงตำแหน่ง ณ วันที่ 2023-01-01" in run("list", "--org", org.code, "--on", "2023-01-01").output
    assert logged(ctx) == [("committee_seat_added", admin.OPERATOR, None),
                           ("committee_seat_added", admin.OPERATOR, "2022-12-31"),
                           ("committee_seat_ended", admin.OPERATOR, "2020-06-30")]


@pytest.mark.parametrize("args, said", [
    (["--committee", "mayor", "--name", "นาย ก", "--seat", "chair", "--from", "2019-01-01"], "ไม่รู้จักคณะกรรมการนี้"),
    (["--committee", "executive", "--name", "นาย ก", "--seat", "holder", "--from", "2019-01-01"],
     "กรุณาระบุตำแหน่งที่พิมพ์ในเอกสาร"),
    (["--committee", "executive", "--name", "นาย ก", "--seat", "boss", "--from", "2019-01-01"],
     "ตำแหน่งในคณะกรรมการไม่ถูกต้อง"),
    (["--committee", "executive", "--name", " ", "--seat", "member", "--from", "2019-01-01"], "กรุณาระบุชื่อ-นามสกุล"),
    ([*CHAIR[:-1], "2562-01-01"], "วันเริ่มวาระไม่ถูกต้อง"),
    ([*CHAIR, "--to", "2018-12-31"], "วันสิ้นสุดวาระต้องไม่ก่อนวันเริ่มวาระ"),
    (["--committee", "development_committee", "--name", "นางสาวประธาน ซ้อน", "--seat", "chair", "--from", "2020-01-01"],
     "ช่วงเวลานี้มีประธานกรรมการอยู่แล้ว"),
])
def test_a_refused_term_is_explained_in_thai_and_nothing_is_stored(ctx, org, run, args, said):
    run("add", "--org", org.code, *CHAIR)
    before = stored(ctx), logged(ctx)
    refused = run("add", "--org", org.code, *args, expect=1)
    assert refused.output.startswith("ผิดพลาด: ") and said in refused.output, refused.output
    assert (stored(ctx), logged(ctx)) == before


def test_unknown_organizations_terms_and_days_are_refused(ctx, org, run):
    chair = term_id(run("add", "--org", org.code, *CHAIR))
    assert "ไม่พบองค์กร" in run("add", "--org", "nowhere", *CHAIR, expect=1).output
    assert "ไม่พบองค์กร" in run("list", "--org", "nowhere", expect=1).output
    assert "--on ต้องเป็นวันที่" in run("list", "--org", org.code, "--on", "2563-01-01", expect=1).output
    assert "--on ต้องเป็นวันที่" in run("list", "--org", org.code, "--on", "31/01/2020", expect=1).output
    assert "ไม่พบวาระ" in run("end", str(chair + 1000), "--on", "2020-01-01", expect=1).output
    assert "รหัสวาระ ต้องเป็นจำนวนเต็มบวก" in run("end", "first", "--on", "2020-01-01", expect=1).output
    assert "วันสิ้นสุดวาระไม่ถูกต้อง" in run("end", str(chair), "--on", "2020-02-30", expect=1).output
    assert "ต้องไม่ก่อนวันเริ่มวาระ" in run("end", str(chair), "--on", "2018-12-31", expect=1).output
    run("end", str(chair), "--on", "2020-01-01")
    assert "สิ้นสุดแล้ว" in run("end", str(chair), "--on", "2020-06-01", expect=1).output
    assert [a for a, _, _ in logged(ctx)] == ["committee_seat_added", "committee_seat_ended"]
