"""Committee membership with terms (issue 17, item 2): kept per organization by its admin or a
national admin, every refusal storing nothing, every change in the admin log, and the documents
printing who sat on the day of each meeting (the last day of a term and the first of the next)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.bundles import committees as seats
from service.commands import admin
from service.documents import cache, records
from service.models import AdminLogEntry, CommitteeSeat, Organization

from .documents_queue import get_document, work_queue
from .procedure import Procedure
from .test_documents import Pdf, key, out  # noqa: F401 - out: the fixture keeping the PDFs
from .web import PASSWORD, csrf_token, log_in, post_form

API = "/api/v1/organizations/{code}/committees"
CHAIR = {"committee": "development_committee", "name": "นายประธาน เดิมที", "seat": "chair",
         "starts_on": "2019-01-01"}


def url(org, seat_id=None, action=""):
    base = API.format(code=org.code)
    return base + (f"/{seat_id}" if seat_id is not None else "") + (f"/{action}" if action else "")


def add(client, org, body, role="admin", expect=201):
    answer = client.post(url(org), headers=org.headers(role), json=body)
    assert answer.status_code == expect, answer.get_json()
    return answer.get_json()


def stored(ctx) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(CommitteeSeat))


def log_of(ctx) -> list[tuple[str, dict]]:
    with ctx.db.read() as session:
        return [(e.action, e.details) for e in session.scalars(
            select(AdminLogEntry).where(AdminLogEntry.action.like("committee_%")).order_by(AdminLogEntry.id))]


# --- Who may --------------------------------------------------------------------------------
def test_only_the_organizations_admin_and_national_admins_keep_its_committees(ctx, client, org, other_org):
    national = admin.add_user(ctx, "national-admin", None, ["admin"], with_token=True)
    auditor = admin.add_user(ctx, "national-auditor", None, ["auditor"], with_token=True)
    for role in ("support_committee", "development_committee", "executive", "planning_office", "auditor"):
        assert client.get(url(org), headers=org.headers(role)).status_code == 403, role
        assert client.post(url(org), headers=org.headers(role), json=CHAIR).status_code == 403, role
    assert client.get(url(org), headers={"Authorization": f"Bearer {auditor}"}).status_code == 403
    # another organization's admin: as if it did not exist, reading or writing
    for method in ("get", "post"):
        answer = client.open(url(org), method=method.upper(), headers=other_org.headers("admin"), json=CHAIR)
        assert answer.status_code == 404, method
    seat = add(client, org, CHAIR)
    for action, body in (("end", {"ends_on": "2020-01-01"}),
                         ("replace", {"name": "นายใหม่", "starts_on": "2020-02-01"})):
        assert client.post(url(org, seat["id"], action), headers=other_org.headers("admin"),
                           json=body).status_code == 404
        assert client.post(url(org, seat["id"], action), headers=org.headers("executive"),
                           json=body).status_code == 403
    assert client.patch(url(org, seat["id"]), headers=other_org.headers("admin"), json={"name": "x"}).status_code == 404
    # the other organization's admin naming their own code cannot reach this organization's term either
    assert client.post(url(other_org, seat["id"], "end"), headers=other_org.headers("admin"),
                       json={"ends_on": "2020-01-01"}).status_code == 404
    assert client.get(url(org), headers={"Authorization": f"Bearer {national}"}).status_code == 200
    assert stored(ctx) == 1 and len(log_of(ctx)) == 1


# --- The rules ------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "status", "field"), [
    ({**CHAIR, "committee": "no_such_committee"}, 422, "/committee"),
    ({**CHAIR, "committee": "admin"}, 422, "/committee"),  # a system role is no committee
    ({**CHAIR, "name": "   "}, 422, "/name"),
    ({**CHAIR, "name": "ก" * 201}, 422, "/name"),
    ({**CHAIR, "name": "นาย\nสอง บรรทัด"}, 422, "/name"),
    ({**CHAIR, "seat": "king"}, 422, "/seat"),
    ({**CHAIR, "seat": ["chair"]}, 422, "/seat"),
    ({**CHAIR, "starts_on": "2563-01-01"}, 422, "/starts_on"),  # a year in พ.ศ. by mistake
    ({**CHAIR, "starts_on": "2020-02-30"}, 422, "/starts_on"),
    ({**CHAIR, "ends_on": "2018-12-31"}, 422, "/ends_on"),  # ends before it starts
    ({**CHAIR, "username": "nobody-here"}, 422, "/username"),
    ({**CHAIR, "committee": "executive", "seat": "holder"}, 422, "/position"),  # a holder's title is printed
    ({**CHAIR, "extra": 1}, 422, "/extra"),
])
def test_each_refused_term_says_why_in_thai_and_stores_nothing(ctx, client, org, body, status, field):
    answer = add(client, org, body, expect=status)
    assert field in [e["field"] for e in answer["errors"]], answer
    assert all(any("\u0e00" <= ch <= "\u0e7f" for ch in e["message"]) for e in answer["errors"])
    assert stored(ctx) == 0 and log_of(ctx) == []


def test_overlapping_terms_of_one_person_and_two_chairs_at_once_are_refused(ctx, client, org):
    first = add(client, org, {**CHAIR, "ends_on": "2020-12-31"})
    # the same person again in the committee while the first term runs (names compared without case)
    refused = add(client, org, {**CHAIR, "seat": "member", "starts_on": "2020-12-31"}, expect=409)
    assert "ซ้อน" in refused["detail"]
    # a second chair overlapping by one day
    refused = add(client, org, {**CHAIR, "name": "นางรอง ประธาน", "starts_on": "2020-12-31"}, expect=409)
    assert "ประธานกรรมการอยู่แล้ว" in refused["detail"] and "นายประธาน เดิมที" in refused["detail"]
    # from the day after: fine; and the same person as a member of another committee: fine
    add(client, org, {**CHAIR, "name": "นางรอง ประธาน", "starts_on": "2021-01-01"})
    add(client, org, {**CHAIR, "committee": "support_committee", "seat": "member"})
    # two members at once are as many as the committee has
    add(client, org, {**CHAIR, "name": "นายกรรมการ หนึ่ง", "seat": "member"})
    add(client, org, {**CHAIR, "name": "นายกรรมการ สอง", "seat": "member"})
    # a single-holder role: two holders at once are refused
    executive = {"committee": "executive", "seat": "holder", "name": "นายสมชาย ใจดี",
                 "position": "นายกเทศมนตรีตำบลกระดังงา", "starts_on": "2019-05-01"}
    add(client, org, executive)
    refused = add(client, org, {**executive, "name": "นายอื่น"}, expect=409)
    assert "ผู้ดำรงตำแหน่งอยู่แล้ว" in refused["detail"]
    assert stored(ctx) == 6
    assert first["ends_on"] == "2020-12-31"


def test_a_term_is_ended_never_deleted_and_a_replacement_starts_the_next_day(ctx, client, org):
    seat = add(client, org, CHAIR)
    assert client.post(url(org, seat["id"], "end"), headers=org.headers("admin"),
                       json={"ends_on": "2018-12-31"}).status_code == 422  # before it began
    new = client.post(url(org, seat["id"], "replace"), headers=org.headers("admin"),
                      json={"name": "นางใหม่ แทนที่", "starts_on": "2020-09-25"})
    assert new.status_code == 201, new.get_json()
    assert new.get_json()["seat"] == "chair" and new.get_json()["starts_on"] == "2020-09-25"
    listing = client.get(url(org), headers=org.headers("admin")).get_json()
    terms = next(c for c in listing["committees"] if c["key"] == "development_committee")["terms"]
    assert [(t["name"], t["starts_on"], t["ends_on"]) for t in terms] == [
        ("นายประธาน เดิมที", "2019-01-01", "2020-09-24"), ("นางใหม่ แทนที่", "2020-09-25", None)]
    # an ended term cannot be ended (or replaced) again: corrected, if it was mistyped
    again = client.post(url(org, seat["id"], "end"), headers=org.headers("admin"), json={"ends_on": "2020-09-30"})
    assert again.status_code == 409 and "สิ้นสุดแล้ว" in again.get_json()["detail"]
    assert client.post(url(org, seat["id"], "replace"), headers=org.headers("admin"),
                       json={"name": "อีกคน", "starts_on": "2020-10-01"}).status_code == 409
    # replacing on the old term's first day leaves no day for it: refused, nothing changed
    refused = client.post(url(org, new.get_json()["id"], "replace"), headers=org.headers("admin"),
                          json={"name": "เร็วเกิน", "starts_on": "2020-09-25"})
    assert refused.status_code == 422
    assert stored(ctx) == 2
    assert [action for action, _ in log_of(ctx)] == ["committee_seat_added", "committee_seat_ended",
                                                     "committee_seat_added"]


def test_a_correction_is_checked_as_a_new_term_and_logged_with_what_it_said(ctx, client, org):
    seat = add(client, org, {**CHAIR, "name": "นายพิมพ์ ผิด"})
    add(client, org, {**CHAIR, "name": "นายอื่น", "seat": "member"})
    # made a second chair: refused, and the row stays as it was
    refused = client.patch(url(org, seat["id"] + 1), headers=org.headers("admin"), json={"seat": "chair"})
    assert refused.status_code == 409
    fixed = client.patch(url(org, seat["id"]), headers=org.headers("admin"), json={"name": "นายพิมพ์ ถูก"})
    assert fixed.status_code == 200 and fixed.get_json()["name"] == "นายพิมพ์ ถูก"
    unchanged = client.patch(url(org, seat["id"]), headers=org.headers("admin"), json={"name": "นายพิมพ์ ถูก"})
    assert unchanged.status_code == 200
    corrections = [details for action, details in log_of(ctx) if action == "committee_seat_corrected"]
    assert corrections == [{"seat_id": seat["id"], "before": {"name": "นายพิมพ์ ผิด"}, "after": {"name": "นายพิมพ์ ถูก"}}]
    # the admin log shows it in Thai to the organization's admin
    page = client.get("/api/v1/admin-log", headers=org.headers("admin"),
                      query_string={"organization": org.code}).get_json()
    assert "แก้ไขข้อมูลกรรมการที่บันทึกผิด" in [e["action_title"] for e in page["entries"]]


def test_a_linked_user_must_be_of_the_organization(ctx, client, org, other_org):
    assert add(client, org, {**CHAIR, "username": f"{org.code}-development_committee"})["username"] == \
        f"{org.code}-development_committee"
    add(client, org, {**CHAIR, "name": "นายข้าม องค์กร", "seat": "member",
                      "username": f"{other_org.code}-development_committee"}, expect=422)


# --- The lookup by date ---------------------------------------------------------------------
def test_the_lookup_by_date_holds_the_last_day_of_a_term_and_the_first_of_the_next(ctx, client, org):
    old = add(client, org, {**CHAIR, "ends_on": "2020-09-24"})
    add(client, org, {**CHAIR, "name": "นางใหม่ แทนที่", "starts_on": "2020-09-25"})
    add(client, org, {**CHAIR, "name": "นายกรรมการ หนึ่ง", "seat": "member"})
    add(client, org, {**CHAIR, "name": "นางเลขา นุการ", "seat": "secretary"})
    with ctx.db.read() as session:
        kept = seats.seats_of(session, session.scalar(select(Organization.id).where(Organization.code == org.code)))
    on_last = seats.sitting(kept, "development_committee", "2020-09-24")
    on_first = seats.sitting(kept, "development_committee", "2020-09-25")
    assert [s["name"] for s in on_last] == ["นายประธาน เดิมที", "นายกรรมการ หนึ่ง", "นางเลขา นุการ"]
    assert [s["name"] for s in on_first] == ["นางใหม่ แทนที่", "นายกรรมการ หนึ่ง", "นางเลขา นุการ"]
    assert seats.sitting(kept, "development_committee", "2018-12-31") == []
    assert seats.sitting(kept, "support_committee", "2020-09-25") == []
    assert old["seat_title"] == "ประธานกรรมการ"


def test_the_record_prints_who_sat_on_the_meetings_day_and_the_render_key_follows_the_terms(
        ctx, client, org, out):  # noqa: F811 - the fixture test_documents keeps its PDFs in
    run = Procedure(client, org)
    plan_id = run.start()["id"]
    for step in ("collect_projects", "draft_plan", "propose_draft", "consider_draft"):
        run.complete(plan_id, step)  # the development committee met on 25 Sep 2020
    old = add(client, org, {**CHAIR, "name": "นายประธาน คนเดิม"})
    before = cache.source_key(records.load(ctx, None, plan_id), "record")
    pdf = Pdf(get_document(client, f"/api/v1/plans/{plan_id}/documents/record.pdf",
                           headers=org.headers("auditor")).data, out / "before.pdf")
    assert key("นายประธาน คนเดิม") in pdf.text
    # replaced from the day of the meeting: the record now prints the new chair for that meeting
    client.post(url(org, old["id"], "replace"), headers=org.headers("admin"),
                json={"name": "นางประธาน คนใหม่", "starts_on": "2020-09-25"})
    after = cache.source_key(records.load(ctx, None, plan_id), "record")
    assert after != before
    pdf = Pdf(get_document(client, f"/api/v1/plans/{plan_id}/documents/record.pdf",
                           headers=org.headers("auditor")).data, out / "after.pdf")
    assert key("นางประธาน คนใหม่") in pdf.text and key("นายประธาน คนเดิม") not in pdf.text
    # from the day after the meeting instead (a correction): the old chair sat at that meeting
    new_id = old["id"] + 1
    assert client.patch(url(org, old["id"]), headers=org.headers("admin"),
                        json={"ends_on": "2020-09-25"}).status_code == 409  # two chairs on the 25th
    assert client.patch(url(org, new_id), headers=org.headers("admin"),
                        json={"starts_on": "2020-09-26"}).status_code == 200
    assert client.patch(url(org, old["id"]), headers=org.headers("admin"),
                        json={"ends_on": "2020-09-25"}).status_code == 200
    pdf = Pdf(get_document(client, f"/api/v1/plans/{plan_id}/documents/record.pdf",
                           headers=org.headers("auditor")).data, out / "edge.pdf")
    assert key("นายประธาน คนเดิม") in pdf.text and key("นางประธาน คนใหม่") not in pdf.text


def test_a_frozen_announcement_keeps_its_bytes_and_the_form_offers_todays_executive(ctx, client, org, tmp_path):
    add(client, org, {"committee": "executive", "seat": "holder", "name": "นายสมชาย ใจดี",
                      "position": "นายกเทศมนตรีตำบลกระดังงา", "starts_on": "2019-05-01"})
    run = Procedure(client, org)
    plan_id = run.start()["id"]
    for step in ("collect_projects", "draft_plan", "propose_draft", "consider_draft", "present_to_executive",
                 "approve_plan"):
        run.complete(plan_id, step)
    task = run.open_task(plan_id, "announce_plan")
    schema = client.get(f"/api/v1/tasks/{task['id']}", headers=org.headers("executive")).get_json()["form"]["schema"]
    assert schema["properties"]["executive_name"]["default"] == "นายสมชาย ใจดี"
    assert schema["properties"]["executive_title"]["default"] == "นายกเทศมนตรีตำบลกระดังงา"
    run.complete(plan_id, "announce_plan")
    work_queue(client)
    frozen = client.get(f"/api/v1/plans/{plan_id}/documents/announcement.pdf", headers=org.headers("auditor"))
    assert frozen.status_code == 200 and frozen.headers.get("ETag")
    seat_id = client.get(url(org), headers=org.headers("admin")).get_json()
    executive = next(c for c in seat_id["committees"] if c["key"] == "executive")["terms"][0]["id"]
    client.post(url(org, executive, "replace"), headers=org.headers("admin"),
                json={"name": "นายคนใหม่ ของเทศบาล", "starts_on": "2020-09-20"})
    work_queue(client)
    again = client.get(f"/api/v1/plans/{plan_id}/documents/announcement.pdf", headers=org.headers("auditor"))
    assert again.data == frozen.data


def test_the_page_keeps_terms_with_csrf_and_shows_refusals(ctx, client, org, other_org):
    admin.add_user(ctx, "org-admin", org.code, ["admin"], PASSWORD, "ผู้ดูแลองค์กร")
    admin.add_user(ctx, "other-admin", other_org.code, ["admin"], PASSWORD)
    page_url = f"/admin/organizations/{org.code}/committees"
    assert log_in(client, "org-admin").status_code == 302
    assert "คณะกรรมการและผู้ดำรงตำแหน่ง" in client.get(f"/admin/organizations/{org.code}").get_data(as_text=True)
    page = client.get(page_url).get_data(as_text=True)
    assert "คณะกรรมการพัฒนาท้องถิ่น" in page and "ผู้บริหารท้องถิ่น" in page
    form = {"committee": "development_committee", "name": "นายหน้า เว็บ", "seat": "chair",
            "starts_on_d": "1", "starts_on_m": "10", "starts_on_y": "๒๕๖๒"}
    # without the page's CSRF token: refused, nothing stored
    assert client.post(page_url, data=form).status_code == 400
    assert post_form(client, page_url, form).status_code == 302
    shown = client.get(page_url).get_data(as_text=True)
    assert "นายหน้า เว็บ" in shown and "1 ต.ค. 2562" in shown
    refused = post_form(client, page_url, {**form, "name": "นายซ้ำ ประธาน"})
    assert refused.status_code == 409 and "ประธานกรรมการอยู่แล้ว" in refused.get_data(as_text=True)
    bad_day = post_form(client, page_url, {**form, "starts_on_d": "31", "starts_on_m": "2"})
    assert bad_day.status_code == 422 and "ไม่มีวันเริ่มวาระนี้ในปฏิทิน" in bad_day.get_data(as_text=True)
    seat_id = client.get(url(org), headers=org.headers("admin")).get_json()["committees"]
    chair = next(c for c in seat_id if c["key"] == "development_committee")["terms"][0]["id"]
    replaced = post_form(client, f"{page_url}/{chair}/replace", {"name": "นางแทน เว็บ", "starts_on_d": "1",
                                                                  "starts_on_m": "10", "starts_on_y": "2563"}, page_url)
    assert replaced.status_code == 302
    shown = client.get(page_url).get_data(as_text=True)
    assert "นางแทน เว็บ" in shown and "30 ก.ย. 2563" in shown
    assert stored(ctx) == 2
    # another organization's admin: the page is as if it did not exist
    other = client.application.test_client()
    assert log_in(other, "other-admin").status_code == 302
    assert other.get(page_url).status_code == 404
    assert other.post(page_url, data={**form, "csrf_token": csrf_token(other, "/account")}).status_code == 404
