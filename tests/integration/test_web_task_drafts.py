"""Nothing typed is lost, nothing forwarded by accident: drafts of a task's form (per user, across
sessions and a restart, bounded, gone with the task), Enter that never completes, the confirmation
of what goes to whom, a post after the log-in expired, a spreadsheet import that asks, two tabs."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from service import queries
from service.app import create_app
from service.commands import admin, taskdrafts
from service.context import Context
from service.models import Event, TaskDraft
from service.taskforms import writing

from .procedure import SAMPLES, Procedure
from .test_web_spreadsheets import ITEMS
from .test_web_tasks import collect_form
from .web import PASSWORD, add_person, csrf_token, errors_beside, log_in

LANE = "คณะกรรมการสนับสนุนการจัดทำแผนพัฒนาท้องถิ่น"
PROJECTS = SAMPLES["collect_projects"]["projects"]


@pytest.fixture
def people(ctx, org, other_org):
    add_person(ctx, "support1", org.code, ["support_committee"], "สมศรี หนึ่ง")
    add_person(ctx, "support2", org.code, ["support_committee"], "สมหมาย สอง")
    add_person(ctx, "stranger", other_org.code, ["support_committee"])


@pytest.fixture
def plan(client, org, people):
    return Procedure(client, org).start()


@pytest.fixture
def task(plan):
    return f"/tasks/{plan['tasks'][0]['id']}"


def as_user(app, username):
    client = app.test_client()
    assert log_in(client, username).status_code == 302
    return client


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} on the page"
    return html.unescape(found.group(1))


def send(client, task, data, intent, page=None, token=True):
    """Post the task form as a browser does, with the hidden fields of the page it came from."""
    shown = client.get(task).get_data(as_text=True) if page is None else page
    fields = {"_draft": hidden(shown, "_draft"), "_owner": hidden(shown, "_owner"), **data}
    if intent:
        fields["_intent"] = intent
    if token:
        fields["csrf_token"] = hidden(shown, "csrf_token")
    return client.post(task, data=fields)


class Recorded:
    def __init__(self, event: Event):
        self.kind, self.task_id, self.data = event.kind, event.task_id, event.data


def events(ctx, plan_id) -> list[Recorded]:
    with ctx.db.read() as session:
        return [Recorded(e) for e in session.scalars(select(Event).where(Event.plan_id == plan_id).order_by(Event.seq))]


def drafts(ctx) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(TaskDraft)) or 0


def typed(name="โครงการที่พิมพ์ไว้", budget="สองล้าน"):
    data = collect_form([PROJECTS[0]])
    data["/projects/0/name"], data["/projects/0/budget"] = name, budget
    return data


def test_a_draft_is_kept_for_its_user_across_log_ins_and_a_restart(ctx, app, settings, clock, plan, task):
    one = as_user(app, "support1")
    before = len(events(ctx, plan["id"]))
    saved = send(one, task, typed(), "draft")
    assert saved.status_code == 302 and saved.headers["Location"] == task
    page = text_of(one.get(task))
    assert "บันทึกร่างแล้วเมื่อ" in page and "ร่างที่ท่านบันทึกไว้เมื่อ" in page
    assert 'value="โครงการที่พิมพ์ไว้"' in page and 'value="สองล้าน"' in page  # unreadable values kept as typed
    assert len(events(ctx, plan["id"])) == before  # a draft is not a step of the plan

    assert 'value="โครงการที่พิมพ์ไว้"' in text_of(as_user(app, "support1").get(task))  # a new log-in
    restarted = Context.create(settings, clock)  # a new process over the same database and instance
    try:
        again = as_user(create_app(context=restarted, test_config={"TESTING": True}), "support1")
        assert 'value="โครงการที่พิมพ์ไว้"' in text_of(again.get(task))
    finally:
        restarted.db.dispose()


def test_a_draft_is_never_shown_to_another_user(ctx, app, task):
    send(as_user(app, "support1"), task, typed("ร่างของสมศรี"), "draft")
    other = as_user(app, "support2")
    page = text_of(other.get(task))
    assert "ร่างของสมศรี" not in page and "ร่างที่ท่านบันทึกไว้" not in page
    assert send(other, task, typed("ร่างของสมหมาย"), "draft").status_code == 302
    assert "ร่างของสมศรี" in text_of(as_user(app, "support1").get(task))
    assert "ร่างของสมหมาย" in text_of(other.get(task))
    stranger = as_user(app, "stranger")  # another organization: not even the task
    assert stranger.get(task).status_code == 404
    assert drafts(ctx) == 2


def test_enter_saves_the_draft_and_never_completes(ctx, app, plan, task):
    one = as_user(app, "support1")
    page = one.get(task).get_data(as_text=True)
    form = page[page.index('id="task-form"'):]
    first = re.search(r"<button[^>]*>", form).group(0)  # what a browser presses on Enter in a field
    assert 'type="submit"' in first and 'value="draft"' in first and 'name="_intent"' in first
    complete = re.search(r'<button[^>]*value="complete"[^>]*>', form).group(0)
    assert form.index(complete) > form.index(first)
    pressed = send(one, task, collect_form(PROJECTS), "draft")  # Enter, with a complete, valid form
    assert pressed.status_code == 302 and pressed.headers["Location"] == task
    assert [e.kind for e in events(ctx, plan["id"])] == ["plan_started"]


def test_completing_shows_what_goes_to_whom_then_completes_once_confirmed(ctx, app, client, org, plan, task):
    one = as_user(app, "support1")
    asked = send(one, task, collect_form(PROJECTS), "complete")
    page = text_of(asked)
    assert asked.status_code == 200 and "ยืนยันการส่งต่อ" in page
    assert "จัดทำร่างแผนการดำเนินงาน" in page and f"ผู้รับผิดชอบ: {LANE}" in page
    assert "2 รายการ" in page  # what it records: the project list, by count
    assert [e.kind for e in events(ctx, plan["id"])] == ["plan_started"]  # nothing forwarded yet

    done = one.post(task, data={"_intent": "confirm", "_draft": hidden(page, "_draft"),
                                "_version": hidden(page, "_version"), "csrf_token": hidden(page, "csrf_token")})
    assert done.status_code == 302 and done.headers["Location"] == f"/plans/{plan['id']}"
    assert "และส่งต่อเรียบร้อยแล้ว" in text_of(one.get(done.headers["Location"]))
    recorded = events(ctx, plan["id"])
    assert [e.kind for e in recorded] == ["plan_started", "task_completed"]
    assert recorded[-1].data == SAMPLES["collect_projects"]  # exactly what the API would store
    assert drafts(ctx) == 0  # the draft went with the task


def test_a_form_with_errors_is_shown_again_and_nothing_is_forwarded(ctx, app, plan, task):
    one = as_user(app, "support1")
    data = collect_form(PROJECTS)
    data["/projects/0/budget"] = "สองล้าน"
    asked = send(one, task, data, "complete")
    assert asked.status_code == 422
    assert "ต้องเป็นตัวเลข" in text_of(asked) and "ยืนยันการส่งต่อ" not in text_of(asked)
    assert len(events(ctx, plan["id"])) == 1 and drafts(ctx) == 0


def test_the_confirmation_is_not_shown_for_what_the_completion_would_refuse(ctx, app, client, org, plan):
    """The form's cross-field rules (a date in the future here) answer before the confirmation."""
    Procedure(client, org).complete(plan["id"], "collect_projects")
    one = as_user(app, "support1")
    draft = Procedure(client, org).open_task(plan["id"], "draft_plan")["id"]
    refused = send(one, f"/tasks/{draft}", {**collect_form(PROJECTS), "/draft_prepared_on#d": "22",
                                            "/draft_prepared_on#m": "9", "/draft_prepared_on#y": "2564"}, "complete")
    assert refused.status_code == 422 and "ยืนยันการส่งต่อ" not in text_of(refused)
    assert "f-draft_prepared_on" in errors_beside(refused.get_data(as_text=True))
    assert [e.kind for e in events(ctx, plan["id"])] == ["plan_started", "task_completed"]


def test_two_tabs_after_a_draft_save_complete_once_and_the_second_is_told(ctx, app, plan, task):
    one = as_user(app, "support1")
    tab_a, tab_b = one.get(task).get_data(as_text=True), one.get(task).get_data(as_text=True)
    assert send(one, task, typed("จากแท็บแรก", "1,000"), "draft", page=tab_a).status_code == 302

    # the second tab, opened before that save, does not overwrite it silently
    stale = send(one, task, typed("จากแท็บที่สอง", "2,000"), "draft", page=tab_b)
    shown = text_of(stale)
    assert stale.status_code == 409 and "ถูกบันทึกจากหน้าต่างหรือแท็บอื่น" in shown
    assert 'value="จากแท็บที่สอง"' in shown  # what this tab typed is still on its page
    assert "จากแท็บแรก" in text_of(one.get(task))

    # both tabs reach the confirmation; the first confirms, the second is told, nothing twice
    confirm_a = text_of(send(one, task, collect_form(PROJECTS), "complete"))
    confirm_b = text_of(send(one, task, collect_form(PROJECTS[:1]), "complete"))  # one project fewer
    for page in (confirm_a, confirm_b):
        assert "ยืนยันการส่งต่อ" in page

    def confirm(page):
        return one.post(task, data={"_intent": "confirm", "_draft": hidden(page, "_draft"),
                                    "_version": hidden(page, "_version"), "csrf_token": hidden(page, "csrf_token")})

    stale_confirm = confirm(confirm_a)  # the draft was saved again (by the second tab) after this page
    assert stale_confirm.status_code == 409 and "ถูกแก้ไขจากหน้าต่างหรือแท็บอื่น" in text_of(stale_confirm)
    assert confirm(confirm_b).status_code == 302
    again = confirm(confirm_b)
    assert again.status_code == 302 and again.headers["Location"] == "/"
    assert "สมศรี หนึ่ง บันทึกเสร็จไปแล้ว" in text_of(one.get("/"))
    late = send(one, task, collect_form(PROJECTS), "complete", page=tab_b)
    assert late.status_code == 302 and late.headers["Location"] == "/"
    completed = [e for e in events(ctx, plan["id"]) if e.kind == "task_completed"]
    assert len(completed) == 1 and completed[0].task_id == task.rsplit("/", 1)[1]
    assert completed[0].data["projects"] == PROJECTS[:1]  # what the confirmed page showed


def test_a_confirmation_is_refused_when_the_plan_moved_meanwhile(ctx, app, client, org, plan, task):
    one = as_user(app, "support1")
    page = text_of(send(one, task, collect_form(PROJECTS), "complete"))
    client.post(f"/api/v1/tasks/{task.rsplit('/', 1)[1]}/claim", headers=org.headers("support_committee"))
    client.post(f"/api/v1/tasks/{task.rsplit('/', 1)[1]}/release", headers=org.headers("admin"))
    moved = one.post(task, data={"_intent": "confirm", "_draft": hidden(page, "_draft"),
                                 "_version": hidden(page, "_version"), "csrf_token": hidden(page, "csrf_token")})
    assert moved.status_code == 409 and "แผนนี้มีการเปลี่ยนแปลง" in text_of(moved)
    assert not [e for e in events(ctx, plan["id"]) if e.kind == "task_completed"]


def test_an_oversized_draft_is_refused_and_nothing_is_stored(ctx, app, task):
    one = as_user(app, "support1")
    refused = send(one, task, typed(name="x" * (taskdrafts.MAX_BYTES + 1)), "draft")
    assert refused.status_code == 422 and "ร่างนี้มีขนาดใหญ่เกิน 4 MB" in text_of(refused)
    assert drafts(ctx) == 0


def test_the_drafts_of_a_completed_task_are_gone_and_cannot_come_back(ctx, app, client, org, plan, task):
    other = as_user(app, "support2")
    page = other.get(task).get_data(as_text=True)
    assert send(other, task, typed("ร่างที่ค้างไว้"), "draft").status_code == 302
    Procedure(client, org).complete(plan["id"], "collect_projects")  # through the API, by someone else
    assert drafts(ctx) == 0
    assert other.get(task).status_code == 302
    late = send(other, task, typed("ร่างที่ค้างไว้"), "draft", page=page)
    assert late.status_code == 302 and late.headers["Location"] == "/"
    assert "บันทึกเสร็จไปแล้ว" in text_of(other.get("/")) and drafts(ctx) == 0


def test_a_draft_can_be_dropped(ctx, app, task):
    one = as_user(app, "support1")
    send(one, task, typed("จะลบทิ้ง"), "draft")
    assert send(one, task, {}, "discard").status_code == 302
    assert "จะลบทิ้ง" not in text_of(one.get(task)) and drafts(ctx) == 0


def test_a_post_without_its_csrf_token_changes_nothing(ctx, app, plan, task):
    one = as_user(app, "support1")
    for intent in ("draft", "complete", "confirm", ""):
        refused = send(one, task, collect_form(PROJECTS), intent, token=False)
        assert refused.status_code == 400 and "แบบฟอร์มนี้หมดอายุ" in text_of(refused)
    assert drafts(ctx) == 0 and len(events(ctx, plan["id"])) == 1


def test_a_post_after_the_session_ended_keeps_what_was_typed_through_the_log_in(ctx, app, plan, task):
    one = as_user(app, "support1")
    page = one.get(task).get_data(as_text=True)
    admin.sign_out_everywhere(ctx, queries.actor_named(ctx, "support1"))  # e.g. from another computer
    expired = send(one, task, typed("พิมพ์ไว้ก่อนหมดเวลา"), "complete", page=page)
    shown = text_of(expired)
    assert expired.status_code == 401 and "ข้อมูลที่ท่านกรอกยังไม่หาย" in shown
    assert drafts(ctx) == 0 and len(events(ctx, plan["id"])) == 1  # nothing stored, nothing forwarded yet

    wrong = one.post(f"/login?next={task}",
                     data={"username": "support1", "password": "wrong", "kept": hidden(shown, "kept"),
                           "csrf_token": hidden(shown, "csrf_token")})
    assert wrong.status_code == 401 and hidden(text_of(wrong), "kept") == hidden(shown, "kept")  # kept again
    back = one.post(f"/login?next={task}", data={"username": "support1", "password": PASSWORD,
                                                 "kept": hidden(shown, "kept"), "csrf_token": csrf_token(one)})
    assert back.status_code == 302 and back.headers["Location"] == task
    restored = text_of(one.get(task))
    assert 'value="พิมพ์ไว้ก่อนหมดเวลา"' in restored and "ก่อนหมดเวลาเข้าสู่ระบบกลับมาเป็นร่างแล้ว" in restored
    assert len(events(ctx, plan["id"])) == 1  # a draft, not a completion


def test_a_post_without_any_session_is_kept_only_for_the_user_whose_form_it_was(ctx, app, task):
    page = as_user(app, "support1").get(task).get_data(as_text=True)
    browser = app.test_client()  # the session cookie expired: no session, no CSRF token
    expired = send(browser, task, typed("ของสมศรี"), "draft", page=page, token=False)
    shown = text_of(expired)
    assert expired.status_code == 401 and 'name="kept"' in shown

    someone_else = app.test_client()  # another official at the same computer logs in instead
    someone_else.get("/login")
    back = someone_else.post(f"/login?next={task}", data={"username": "support2", "password": PASSWORD,
                                                          "kept": hidden(shown, "kept"),
                                                          "csrf_token": csrf_token(someone_else)})
    assert back.status_code == 302 and drafts(ctx) == 0
    assert "ของสมศรี" not in text_of(someone_else.get(task))

    browser.get("/login")
    mine = browser.post(f"/login?next={task}", data={"username": "support1", "password": PASSWORD,
                                                     "kept": hidden(shown, "kept"), "csrf_token": csrf_token(browser)})
    assert mine.headers["Location"] == task and 'value="ของสมศรี"' in text_of(browser.get(task))


def test_a_post_that_did_not_come_from_a_task_page_keeps_nothing(ctx, app, task):
    forged = app.test_client().post(task, data={**typed("ปลอม"), "_intent": "draft", "_owner": "forged"})
    assert forged.status_code == 302 and "/login" in forged.headers["Location"]
    kept_elsewhere = app.test_client().post(task, data={**typed("ปลอม"), "_intent": "draft"})
    assert kept_elsewhere.status_code == 302 and drafts(ctx) == 0
    tampered = app.test_client().post("/login", data={"username": "support1", "password": PASSWORD,
                                                      "kept": "eyJ0YXNrIjoiIn0.tampered"})
    assert tampered.status_code == 400  # no CSRF token: the log-in form itself is protected


def upload_with_form(client, task, page, data, content, name="projects"):
    """The task page's "check the file" button: the whole form, typed values included, with the file."""
    parts = {"csrf_token": hidden(page, "csrf_token"), "_draft": hidden(page, "_draft"),
             "_owner": hidden(page, "_owner"), **data}
    body = b""
    for key, value in parts.items():
        for one in value if isinstance(value, list) else [value]:
            body += f'--b\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{one}\r\n'.encode()
    body += (f'--b\r\nContent-Disposition: form-data; name="file-{name}"; filename="more.xlsx"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n--b--\r\n"
    return client.post(f"{task}/spreadsheet/{name}", data=body, content_type="multipart/form-data; boundary=b")


def test_an_import_asks_whether_to_replace_or_add_to_the_rows_typed(ctx, app, task):
    one = as_user(app, "support1")
    page = one.get(task).get_data(as_text=True)
    preview = upload_with_form(one, task, page, typed("แถวที่พิมพ์เอง", "5,000"), writing.write_xlsx(ITEMS, PROJECTS))
    shown = text_of(preview)
    assert preview.status_code == 200 and "ที่กรอกไว้แล้ว 1 รายการ" in shown
    assert "เพิ่มต่อท้าย 1 รายการเดิม" in shown and "แทนที่รายการเดิมทั้งหมดด้วย 2 รายการจากไฟล์" in shown
    assert drafts(ctx) == 1  # what was typed is kept before the file is even read
    rows = hidden(preview.get_data(as_text=True), "rows")

    def apply(mode):
        return one.post(f"{task}/spreadsheet/projects/apply", data={
            "rows": rows, "filename": "more.xlsx", "mode": mode, "csrf_token": csrf_token(one, task)})

    added = text_of(apply("append"))
    assert "(3 รายการ)" in added and 'value="แถวที่พิมพ์เอง"' in added and "ต่อท้ายรายการเดิม 1 รายการ" in added
    replaced = text_of(apply("replace"))
    assert "(2 รายการ)" in replaced and "แถวที่พิมพ์เอง" not in replaced
    assert apply("merge").status_code == 400
