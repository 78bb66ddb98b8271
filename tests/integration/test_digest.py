"""The daily digest (issue 18): a person who chose it gets, instead of immediate e-mail and LINE
messages, one message a Bangkok day at their hour with what collected since the last; what cannot
be turned off (the legal limits, a send-back) still goes at once; the bell shows everything at once;
a digest is written once per person and day however many sweeps run."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from service.commands import jobs, notices
from service.models import Notification

from .procedure import Procedure
from .test_notifications import BANGKOK, actor, notes, person, smtp  # noqa: F401 - smtp: the fixture
from .web import log_in, post_form


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), BANGKOK)


def subjects(inbox, address="somsri@example.go.th"):
    return [m["Subject"] for m in inbox.messages if m["To"] == address]


def test_a_digest_replaces_immediate_messages_once_a_day_but_not_the_legal_limits(ctx, client, org, smtp, clock):  # noqa: F811
    person(ctx, "somsri", org, ["support_committee"], email="somsri@example.go.th")
    add_admin = person(ctx, "boss", org, ["admin"])
    assert add_admin
    run = Procedure(client, org)
    first = run.start()
    jobs.work(ctx)
    assert subjects(smtp) == ["[เทศบาลตำบลกระดังงา] มีงานรอดำเนินการ: รวบรวมโครงการ/กิจกรรม"]  # immediate till now
    somsri = actor(ctx, "somsri")
    kept = notices.keep_settings(ctx, somsri, "somsri@example.go.th", [], digest_hour=17)
    assert kept["digest_hour"] == 17
    day = clock.now().astimezone(BANGKOK).date()

    run.start(fiscal_year=2565)
    jobs.work(ctx)
    assert len(subjects(smtp)) == 1  # waits for the digest
    assert notices.unread(ctx, somsri) == 2  # the bell has it at once
    clock.set(at(day, 16, 59))
    assert notices.sweep(ctx) == 0
    clock.set(at(day, 17, 5))
    assert notices.digests(ctx) == 1
    assert notices.digests(ctx) == 0 and notices.sweep(ctx) == 0  # once a day
    jobs.work(ctx)
    sent = [m for m in smtp.messages if m["To"] == "somsri@example.go.th"]
    assert len(sent) == 2
    digest = sent[-1]
    assert digest["Subject"].startswith("สรุปการแจ้งเตือนประจำวันที่") and digest["Subject"].endswith("1 เรื่อง")
    body = digest.get_body(("plain",)).get_content()
    assert "มีงานรอดำเนินการ: รวบรวมโครงการ/กิจกรรม" in body and f"{ctx.settings.public_url}/tasks/" in body
    assert str(first["tasks"][0]["id"]) not in body  # sent at once before the digest began: not again
    assert notices.unread(ctx, somsri) == 2  # the digest itself is not a new thing in the bell
    assert all(n["event"] != "digest" for n in notes(ctx, "somsri"))

    clock.set(at(day + timedelta(days=1), 18))
    assert notices.digests(ctx) == 0  # nothing collected: no message

    task = first["tasks"][0]
    clock.set(datetime.fromisoformat(task["due_at"]) + timedelta(seconds=1))
    before = len(subjects(smtp))
    assert notices.remind(ctx) >= 1
    jobs.work(ctx)
    late = subjects(smtp)[before:]
    assert len(late) == 2 and all("เกินกำหนด" in s for s in late)  # both plans' limits, at once, digest or not
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Notification)
                              .where(Notification.event == "digest")) == 1


def test_back_to_immediate_and_the_settings_page(ctx, app, client, org, smtp, clock):  # noqa: F811
    person(ctx, "somsri", org, ["support_committee"], email="somsri@example.go.th")
    web = app.test_client()
    assert log_in(web, "somsri").status_code == 302
    page = "/account/notifications"
    refused = post_form(web, page, {"email": "somsri@example.go.th", "timing": "digest", "digest_hour": "24"}, page)
    assert refused.status_code == 422 and "เลือกเวลาส่งสรุประหว่าง 0 ถึง 23 นาฬิกา" in refused.get_data(as_text=True)
    assert notices.settings_of(ctx, actor(ctx, "somsri"))["digest_hour"] is None  # nothing kept
    kept = post_form(web, page, {"email": "somsri@example.go.th", "timing": "digest", "digest_hour": "7",
                                 "on": ["step_available"]}, page)
    assert kept.status_code == 302
    assert notices.settings_of(ctx, actor(ctx, "somsri"))["digest_hour"] == 7
    assert 'value="7" selected' in web.get(page).get_data(as_text=True)
    Procedure(client, org).start()
    jobs.work(ctx)
    assert subjects(smtp) == []
    assert post_form(web, page, {"email": "somsri@example.go.th", "timing": "now", "on": ["step_available"]},
                     page).status_code == 302
    assert notices.settings_of(ctx, actor(ctx, "somsri"))["digest_hour"] is None
    Procedure(client, org).start(fiscal_year=2565)
    jobs.work(ctx)
    assert len(subjects(smtp)) == 1  # immediate again
