"""Notifications (issue 18) against a real SMTP server on loopback (aiosmtpd) and a local server
speaking the LINE Messaging API's push shape: written with the change that caused them, delivered
by the job queue, retried while a channel says "later", failed at once when it says "never", never
sent for a change that was refused, and always in the bell."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, time, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from service.auth import Actor
from service.commands import jobs, notices
from service.errors import Invalid, NotFound
from service.models import Delivery, NoticeSetting, Notification, User

from .procedure import Procedure
from .web import add_person, log_in, post_form

BANGKOK = ZoneInfo("Asia/Bangkok")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps what it received; answers RCPT with ``refuse`` (code, text) for the
    addresses in ``refused``."""

    def __init__(self):
        self.messages: list = []
        self.refused: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


class SmtpServer:
    """A real SMTP server on a loopback port that can go down and come back on the same port."""

    def __init__(self, inbox: Inbox, port: int):
        self.inbox, self.port, self.controller = inbox, port, None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    server = SmtpServer(inbox, free_port())
    server.start()
    settings.smtp_host, settings.smtp_port = "127.0.0.1", server.port
    inbox.server = server
    yield inbox
    server.stop()


class LineServer(BaseHTTPRequestHandler):
    received: list[dict] = []
    answer = 200

    def do_POST(self):  # noqa: N802 - the http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        LineServer.received.append({"headers": dict(self.headers), "body": json.loads(body), "path": self.path})
        self.send_response(LineServer.answer)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def line(settings):
    LineServer.received, LineServer.answer = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), LineServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.line_token = "test-channel-token"
    settings.line_endpoint = f"http://127.0.0.1:{server.server_address[1]}/v2/bot/message/push"
    yield LineServer
    server.shutdown()
    server.server_close()


def person(ctx, username, org, roles, email=None, line_user=None):
    add_person(ctx, username, org.code, roles, f"คุณ{username}")
    with ctx.db.write() as session:
        user_id = session.scalars(select(User.id).where(User.username == username)).one()
        if email or line_user:
            session.add(NoticeSetting(user_id=user_id, email=email, line_user_id=line_user, muted=[],
                                      changed_at=ctx.clock.now()))
    return user_id


def actor(ctx, username) -> Actor:
    from service import queries
    return queries.actor_named(ctx, username)


def notes(ctx, username):
    return notices.listing(ctx, actor(ctx, username))["items"]


def deliveries(ctx):
    with ctx.db.read() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id))
        return [(d.channel, d.address, d.state, d.attempts) for d in rows]


@pytest.fixture
def people(ctx, org, other_org):
    return {"somsri": person(ctx, "somsri", org, ["support_committee"], email="somsri@example.go.th"),
            "somchai": person(ctx, "somchai", org, ["support_committee"]),  # no channel: the bell only
            "pattana": person(ctx, "pattana", org, ["development_committee"], email="pattana@example.go.th",
                              line_user="U" + "a" * 32),
            "stranger": person(ctx, "stranger", other_org, ["support_committee"], email="x@example.go.th")}


def test_a_step_that_opens_reaches_its_role_by_email_and_the_bell_and_no_one_else(ctx, client, org, people, smtp):
    run = Procedure(client, org)
    plan = run.start()
    assert [n["subject"] for n in notes(ctx, "somchai")] == [
        "[เทศบาลตำบลกระดังงา] มีงานรอดำเนินการ: รวบรวมโครงการ/กิจกรรม"]
    assert notes(ctx, "pattana") == [] and notes(ctx, "stranger") == []
    assert smtp.messages == []  # nothing is sent inside the command: the job does it
    assert jobs.work(ctx) >= 1
    assert [m["To"] for m in smtp.messages] == ["somsri@example.go.th"]
    mail = smtp.messages[0]
    assert mail["Subject"] == "[เทศบาลตำบลกระดังงา] มีงานรอดำเนินการ: รวบรวมโครงการ/กิจกรรม"
    text = mail.get_body(("plain",)).get_content()
    link = f"{ctx.settings.public_url}/tasks/{plan['tasks'][0]['id']}"
    assert "แผนการดำเนินงาน ประจำปีงบประมาณ พ.ศ. 2564" in text and link in text
    assert link in mail.get_body(("html",)).get_content()
    key = mail["Message-ID"]
    assert deliveries(ctx) == [("email", "somsri@example.go.th", "sent", 1)]
    assert jobs.work(ctx) == 0 and len(smtp.messages) == 1  # delivered once
    with ctx.db.read() as session:
        assert session.scalars(select(Delivery.key)).one() in key


def test_a_send_back_tells_the_drafters_why_by_email_and_line(ctx, client, org, people, smtp, line):
    run = Procedure(client, org)
    pid = run.start()["id"]
    for name in ("collect_projects", "draft_plan", "propose_draft"):
        run.complete(pid, name)
    jobs.work(ctx)
    assert [m["To"] for m in smtp.messages][-1] == "pattana@example.go.th"  # the committee's step opened
    assert line.received[-1]["body"]["to"] == "U" + "a" * 32
    push = line.received[-1]
    assert push["headers"]["Authorization"] == "Bearer test-channel-token"
    assert push["path"] == "/v2/bot/message/push" and len(push["headers"]["X-Line-Retry-Key"]) == 36
    assert push["body"]["messages"][0]["type"] == "text" and "พิจารณาร่างแผนการดำเนินงาน" in push["body"][
        "messages"][0]["text"]
    before = len(smtp.messages)
    run.complete(pid, "consider_draft", {"review_meeting_date": "2020-09-25", "review_resolution": "revise",
                                         "review_comments": "ให้ปรับงบโครงการถนน"})
    jobs.work(ctx)
    sent = smtp.messages[before:]
    assert [m["To"] for m in sent] == ["somsri@example.go.th"]
    assert sent[0]["Subject"] == "[เทศบาลตำบลกระดังงา] ส่งกลับแก้ไข: จัดทำร่างแผนการดำเนินงาน"
    assert "เหตุผล: ให้ปรับงบโครงการถนน" in sent[0].get_body(("plain",)).get_content()
    assert notes(ctx, "somchai")[0]["event"] == "sent_back"


def test_a_refused_completion_writes_and_sends_nothing(ctx, client, org, people, smtp):
    run = Procedure(client, org)
    pid = run.start()["id"]
    jobs.work(ctx)
    with ctx.db.read() as session:
        before = session.scalar(select(func.count()).select_from(Notification))
    run.complete(pid, "collect_projects", {"projects": []}, expect=422)
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == before
    assert jobs.work(ctx) == 0


def test_smtp_down_then_back_delivers_once_and_a_5xx_is_failed_not_retried(ctx, client, org, people, smtp, clock):
    smtp.server.stop()
    run = Procedure(client, org)
    run.start()
    jobs.work(ctx)
    assert deliveries(ctx) == [("email", "somsri@example.go.th", "queued", 1)]
    with ctx.db.read() as session:
        assert "ติดต่อเซิร์ฟเวอร์อีเมลไม่ได้" in session.scalars(select(Delivery.last_error)).one()
    assert jobs.work(ctx) == 0  # it waits for its pause
    smtp.server.start()
    clock.set(clock.now() + timedelta(minutes=1))
    assert jobs.work(ctx) == 1
    assert [m["To"] for m in smtp.messages] == ["somsri@example.go.th"]
    assert deliveries(ctx) == [("email", "somsri@example.go.th", "sent", 2)]

    smtp.refused["pattana@example.go.th"] = "550 5.1.1 no such mailbox"
    pid = run.plan(run.start(fiscal_year=2565)["id"])["id"]
    for name in ("collect_projects", "draft_plan", "propose_draft"):
        run.complete(pid, name)
    jobs.work(ctx)
    failed = [d for d in deliveries(ctx) if d[1] == "pattana@example.go.th"]
    assert failed == [("email", "pattana@example.go.th", "failed", 1)]
    clock.set(clock.now() + timedelta(hours=2))
    assert jobs.work(ctx) == 0  # never tried again
    assert notices.status(ctx)["troubled"][0]["last_error"].startswith("เซิร์ฟเวอร์อีเมลปฏิเสธผู้รับ")


def test_a_revoked_line_token_is_marked_failed_and_shown_to_operators(ctx, client, org, people, line):
    line.answer = 401
    run = Procedure(client, org)
    pid = run.start()["id"]
    for name in ("collect_projects", "draft_plan", "propose_draft"):
        run.complete(pid, name)
    jobs.work(ctx)
    assert ("line", "U" + "a" * 32, "failed", 1) in deliveries(ctx)
    assert any("PHAEN_LINE_TOKEN" in (t["last_error"] or "") for t in notices.status(ctx)["troubled"])


def test_a_claimed_step_given_to_another_tells_both_and_no_one_is_told_of_their_own_act(ctx, client, org, people):
    from service.commands import claims

    add_person(ctx, "boss", org.code, ["admin"])
    task_id = Procedure(client, org).start()["tasks"][0]["id"]
    notices.mark_read(ctx, actor(ctx, "somsri")), notices.mark_read(ctx, actor(ctx, "somchai"))
    claims.claim(ctx, actor(ctx, "somsri"), task_id)
    assert notices.unread(ctx, actor(ctx, "somsri")) == 0  # her own claim
    claims.reassign(ctx, actor(ctx, "boss"), task_id, "somchai")
    assert [(n["event"], n["subject"]) for n in notes(ctx, "somsri")][0] == (
        "step_taken_away", "[เทศบาลตำบลกระดังงา] งาน “รวบรวมโครงการ/กิจกรรม” ถูกมอบให้ผู้อื่น")
    assert notes(ctx, "somsri")[0]["body"].startswith("boss มอบงาน “รวบรวมโครงการ/กิจกรรม”")
    assert notes(ctx, "somchai")[0]["event"] == "step_available" and notices.unread(ctx, actor(ctx, "somchai")) == 1
    claims.release(ctx, actor(ctx, "somchai"), task_id)
    assert notices.unread(ctx, actor(ctx, "somchai")) == 1  # giving it back himself tells no one


def test_a_legal_limit_near_and_passed_is_told_once_each_and_cannot_be_turned_off(ctx, client, org, people, clock):
    add_person(ctx, "boss", org.code, ["admin"])
    notices.keep_settings(ctx, actor(ctx, "somsri"), "somsri@example.go.th", ["deadline_near", "deadline_passed"])
    run = Procedure(client, org)
    task = run.start()["tasks"][0]
    due = datetime.fromisoformat(task["due_at"]).astimezone(BANGKOK)
    clock.set(due - timedelta(days=12))
    assert notices.remind(ctx) == 0  # not yet
    reminder_day = due.date()
    for _ in range(3):  # three working days before the limit (no holidays kept here)
        reminder_day -= timedelta(days=1)
        while reminder_day.weekday() >= 5:
            reminder_day -= timedelta(days=1)
    clock.set(datetime.combine(reminder_day - timedelta(days=1), time(9), BANGKOK))
    assert notices.remind(ctx) == 0
    clock.set(datetime.combine(reminder_day, time(9), BANGKOK))
    told = notices.remind(ctx)  # everyone of the role (somsri's turning it off does not count)
    assert told >= 2 and notices.remind(ctx) == 0  # once
    assert notes(ctx, "somchai")[0]["event"] == "deadline_near" and notes(ctx, "pattana") == []
    near = notes(ctx, "somsri")[0]
    assert near["event"] == "deadline_near" and near["subject"].startswith("[เทศบาลตำบลกระดังงา] ใกล้ครบกำหนด:")
    assert notes(ctx, "boss") == []
    clock.set(due + timedelta(seconds=1))
    assert notices.remind(ctx) > told  # the role and the organization's administrators
    assert notes(ctx, "boss")[0]["event"] == "deadline_passed" and notices.remind(ctx) == 0


def test_the_bell_counts_unread_and_marks_read_only_ones_own(ctx, client, org, people):
    Procedure(client, org).start()
    somchai, somsri = actor(ctx, "somchai"), actor(ctx, "somsri")
    assert notices.unread(ctx, somchai) == 1 and notices.unread(ctx, somsri) == 1
    assert notices.mark_read(ctx, somchai) == 1
    assert notices.unread(ctx, somchai) == 0 and notices.unread(ctx, somsri) == 1
    other = notes(ctx, "somsri")[0]["id"]
    assert notices.mark_read(ctx, somchai, [other]) == 0 and notices.unread(ctx, somsri) == 1


def test_settings_refuse_a_bad_address_and_muting_stops_the_email_but_not_the_bell(ctx, client, org, people, smtp):
    somsri = actor(ctx, "somsri")
    for bad in ("somsri", "a@b", "a b@example.go.th", "x" * 250 + "@example.go.th", "<a@example.go.th>"):
        with pytest.raises(Invalid):
            notices.keep_settings(ctx, somsri, bad, [])
    assert notices.settings_of(ctx, somsri)["email"] == "somsri@example.go.th"  # unchanged
    kept = notices.keep_settings(ctx, somsri, "somsri@example.go.th", ["step_available", "sent_back"])
    events = {e["event"]: e for e in kept["events"]}
    assert events["step_available"]["on"] is False
    assert events["sent_back"]["on"] is True and events["sent_back"]["always"]  # cannot be turned off
    Procedure(client, org).start()
    jobs.work(ctx)
    assert smtp.messages == [] and len(notes(ctx, "somsri")) == 1


def test_the_notification_pages(ctx, app, client, org, people):
    Procedure(client, org).start()
    web = app.test_client()
    assert log_in(web, "somchai").status_code == 302
    page = web.get("/notifications").get_data(as_text=True)
    assert "มีงานรอดำเนินการ: รวบรวมโครงการ/กิจกรรม" in page
    assert post_form(web, "/notifications/read", {}, "/notifications").status_code == 302
    assert notices.unread(ctx, actor(ctx, "somchai")) == 0
    refused = post_form(web, "/account/notifications", {"email": "not-an-address"}, "/account/notifications")
    assert refused.status_code == 422 and "ที่อยู่อีเมลไม่ถูกต้อง" in refused.get_data(as_text=True)
    kept = post_form(web, "/account/notifications", {"email": "somchai@example.go.th", "on": ["sent_back"]},
                     "/account/notifications")
    assert kept.status_code == 302
    assert notices.settings_of(ctx, actor(ctx, "somchai"))["email"] == "somchai@example.go.th"


def test_an_operator_sends_a_test_message_on_every_channel(ctx, org, people, smtp, line):
    from click.testing import CliRunner

    from service import cli

    assert notices.test(ctx, "pattana") == {"inapp": "sent", "email": "sent", "line": "sent"}
    assert [m["Subject"] for m in smtp.messages] == ["ทดสอบการแจ้งเตือนจากระบบแผน"]
    assert notes(ctx, "pattana")[0]["event"] == "test"
    assert notices.test(ctx, "somchai") == {"inapp": "sent", "email": "no address", "line": "no address"}
    with pytest.raises(NotFound):
        notices.test(ctx, "nobody")
    ran = CliRunner().invoke(cli.main, ["notify", "status"], env={"PHAEN_DATABASE_URL": ctx.settings.database_url})
    assert ran.exit_code == 0 and "queued 0" in ran.output, ran.output


def test_the_shipped_wording_is_valid_and_a_bad_file_is_refused_with_its_problems():
    from service.config import SOURCE_ROOT

    shipped = notices.wordings(SOURCE_ROOT / "processes")
    assert set(shipped) == set(notices.EVENTS)
    with pytest.raises(Invalid) as caught:
        notices.parse(json.dumps({"events": {"step_available": {"title": "t", "subject": "$step.__class__ $secret",
                                                                 "body": "", "channels": ["fax"]},
                                             "unknown": {}}}))
    message = caught.value.message
    assert "$secret" in message and "body" in message and "fax" not in message.split("เลือกได้จาก")[0]
    assert "unknown" in message
    assert notices.fill("$step.__class__ {x}", {"step": "ขั้น"}) == "ขั้น.__class__ {x}"


def test_the_administrators_page_of_deliveries_shows_their_own_and_retries_a_failed_one(
        ctx, app, client, org, other_org, people, smtp):
    from service.commands import admin

    from .web import PASSWORD

    add_person(ctx, "boss", org.code, ["admin"])
    add_person(ctx, "other-boss", other_org.code, ["admin"])
    admin.add_user(ctx, "chief", None, ["admin"], PASSWORD, "ผู้ดูแลระบบ")
    smtp.refused["somsri@example.go.th"] = "550 5.1.1 no such mailbox"
    Procedure(client, org).start()
    Procedure(client, other_org).start()
    jobs.work(ctx)
    assert sorted(deliveries(ctx)) == [("email", "somsri@example.go.th", "failed", 1),
                                       ("email", "x@example.go.th", "sent", 1)]
    boss = app.test_client()
    assert log_in(boss, "boss").status_code == 302
    page = boss.get("/admin/deliveries").get_data(as_text=True)
    assert "somsri@example.go.th" in page and "x@example.go.th" not in page  # only his organization's
    assert "เซิร์ฟเวอร์อีเมลปฏิเสธผู้รับ" in page and "ส่งใหม่" in page
    assert "x@example.go.th" not in boss.get("/admin/deliveries?state=sent").get_data(as_text=True)
    chief = app.test_client()
    assert log_in(chief, "chief").status_code == 302
    everything = chief.get("/admin/deliveries").get_data(as_text=True)
    assert "somsri@example.go.th" in everything and "x@example.go.th" in everything
    assert "x@example.go.th" not in chief.get("/admin/deliveries?state=failed").get_data(as_text=True)
    first = notices.deliveries_page(ctx, actor(ctx, "chief"), limit=1)
    second = notices.deliveries_page(ctx, actor(ctx, "chief"), limit=1, before=first["next"])
    assert first["next"] and second["next"] is None  # keyset pages: newest first, each row once
    assert {first["items"][0]["address"], second["items"][0]["address"]} == {"somsri@example.go.th",
                                                                           "x@example.go.th"}
    assert first["counts"] == {"queued": 0, "sent": 1, "failed": 1}

    worker = app.test_client()
    assert log_in(worker, "somsri").status_code == 302
    assert worker.get("/admin/deliveries").status_code == 403
    with ctx.db.read() as session:
        failed_id, sent_id = (session.scalars(select(Delivery.id).where(Delivery.address == address)).one()
                              for address in ("somsri@example.go.th", "x@example.go.th"))
    assert post_form(worker, f"/admin/deliveries/{failed_id}/retry", {}, "/account").status_code == 403
    other = app.test_client()
    assert log_in(other, "other-boss").status_code == 302
    assert post_form(other, f"/admin/deliveries/{failed_id}/retry", {}, "/admin/deliveries").status_code == 404
    assert boss.post(f"/admin/deliveries/{failed_id}/retry").status_code == 400  # no CSRF token: nothing
    assert post_form(chief, f"/admin/deliveries/{sent_id}/retry", {}, "/admin/deliveries").status_code == 409
    assert deliveries(ctx)[0][2] == "failed"
    del smtp.refused["somsri@example.go.th"]  # the address was put right
    assert post_form(boss, f"/admin/deliveries/{failed_id}/retry", {}, "/admin/deliveries").status_code == 302
    assert jobs.work(ctx) == 1
    mails = [m for m in smtp.messages if m["To"] == "somsri@example.go.th"]
    with ctx.db.read() as session:
        retried = session.get(Delivery, failed_id)
        assert (retried.state, retried.attempts) == ("sent", 1) and mails[0]["Message-ID"] == f"<{retried.key}@phaen>"


CHILD_SENDER = """
import sys
from datetime import datetime
from pathlib import Path
from service.clock import FixedClock
from service.commands import jobs, notices
from service.config import Settings
from service.context import Context
url, instance, port, at = sys.argv[1:5]
settings = Settings.from_env({}, instance_path=Path(instance), database_url=url)
settings.smtp_host, settings.smtp_port = "127.0.0.1", int(port)
jobs.work(Context.create(settings, FixedClock(datetime.fromisoformat(at))))
"""


def test_a_sender_killed_mid_batch_loses_nothing_and_resends_at_most_the_one_in_flight_with_its_key(
        ctx, client, org, smtp, clock, tmp_path):
    """A real child process runs the sender on the same database file; the SMTP server holds its
    answer to the third message until the child is killed with SIGKILL. The restart (after the
    job's lease) sends the rest, and the one in flight again under the same Message-ID."""
    import asyncio
    import os
    import signal
    import subprocess
    import sys

    from service.config import SOURCE_ROOT
    from service.models import Job

    if not ctx.settings.database_url.startswith("sqlite:///"):
        pytest.skip("the child process opens the same SQLite file")
    people = [person(ctx, f"member{n}", org, ["support_committee"], email=f"member{n}@example.go.th")
              for n in range(6)]
    Procedure(client, org).start()
    with ctx.db.write() as session:  # the plan's document renders are not what this is about
        session.execute(Job.__table__.delete().where(Job.kind != notices.DELIVER))
    arrived, released = threading.Event(), threading.Event()
    handle_data = smtp.handle_DATA

    async def hold_the_third(server, session, envelope):
        answer = await handle_data(server, session, envelope)
        if len(smtp.messages) == 3:
            arrived.set()  # the server has it; the sender waits for "250"
            while not released.is_set():
                await asyncio.sleep(0.01)
        return answer

    smtp.handle_DATA = hold_the_third
    child = subprocess.Popen([sys.executable, "-c", CHILD_SENDER, ctx.settings.database_url,
                              str(tmp_path / "child"), str(smtp.server.port), clock.now().isoformat()],
                             cwd=SOURCE_ROOT)
    try:
        assert arrived.wait(120), "the child sent no third message"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(60) == -signal.SIGKILL
    finally:
        released.set()
        if child.poll() is None:
            child.kill()
    with ctx.db.read() as session:
        states = sorted(session.execute(select(Delivery.state, Delivery.attempts)).all())
    assert states == [("queued", 0)] * 3 + [("queued", 1)] + [("sent", 1)] * 2  # the third in flight

    clock.advance(minutes=11)  # the dead sender's lease runs out
    assert jobs.work(ctx) == 1
    with ctx.db.read() as session:
        rows = session.execute(select(Delivery.key, Delivery.state, Delivery.attempts)).all()
    assert len(rows) == len(people) and all(state == "sent" for _, state, _ in rows)
    sent = [m["Message-ID"] for m in smtp.messages]
    assert sorted(set(sent)) == sorted(f"<{key}@phaen>" for key, *_ in rows)  # every one delivered, none lost
    assert len(sent) == len(people) + 1 and sum(attempts for *_, attempts in rows) == len(sent)
    twice = [key for key in set(sent) if sent.count(key) == 2]
    assert twice == [f"<{key}@phaen>" for key, _, attempts in rows if attempts == 2]  # the resend is recognisable
