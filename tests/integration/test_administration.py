"""Administration in the browser and the API (issue 17, items 1, 2 and 6): organizations created,
renamed, deactivated and onboarded from the national list (all or none, line-numbered faults, a
preview that writes nothing); an organization's admin managing its users and roles and no one
else's; deactivation ending credentials at once; unlocks; one-time reset links; the append-only
admin log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from service import queries
from service.commands import admin, administration
from service.errors import Invalid
from service.models import AdminLogEntry, Organization, PasswordResetLink, User

from .web import CSRF, PASSWORD, add_person, csrf_token, log_in, post_form

API = "/api/v1"
HEADER = "code,name,type,province,district\n"
TYPES = ["อบต.", "เทศบาลตำบล", "เทศบาลเมือง", "เทศบาลนคร"]


@pytest.fixture
def national(ctx):
    token = admin.add_user(ctx, "national-admin", None, ["admin"], PASSWORD, "ผู้ดูแลระบบประเทศ", with_token=True)
    return {"Authorization": f"Bearer {token}"}


def national_list(rows: int, duplicate_at: int | None = None) -> bytes:
    """A CSV of ``rows`` organizations (line 1 is the header, row i on line i + 1)."""
    lines = [HEADER]
    for i in range(1, rows + 1):
        number = 1 if duplicate_at is not None and i + 1 == duplicate_at else i
        lines.append(f"{6000000 + number},องค์การบริหารส่วนตำบลทดสอบ{i},{TYPES[i % 4]},"
                     f"จังหวัดทดสอบ{i % 76},อำเภอ{i % 900}\n")
    return "".join(lines).encode("utf-8")


def onboard(client, headers, data: bytes, preview: bool = False):
    return client.post(f"{API}/organizations/onboarding", headers={**headers, "Content-Type": "text/csv"},
                       data=data, query_string={"preview": "1"} if preview else None)


def organization_count(ctx) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(Organization))


def log_actions(ctx, by_operator: bool = False) -> list[str]:
    """The admin log's actions in order: of the browser and the API, or (``by_operator``) of the console."""
    made_at_console = AdminLogEntry.actor == admin.OPERATOR
    with ctx.db.read() as session:
        return list(session.scalars(select(AdminLogEntry.action).where(made_at_console if by_operator
                                                                       else ~made_at_console)
                                    .order_by(AdminLogEntry.id)))


def test_the_operators_changes_at_the_console_are_in_the_admin_log_too(ctx):
    admin.add_organization(ctx, "6340199", "อบต.คอนโซล")
    admin.add_user(ctx, "console-user", "6340199", ["executive"], "correct horse 2563")
    admin.grant_role(ctx, "console-user", "6340199", "auditor")
    admin.set_password(ctx, "console-user", "another horse 2563")
    admin.set_active(ctx, "console-user", False)
    assert log_actions(ctx, by_operator=True)[-5:] == ["organization_created", "user_added", "role_granted",
                                                       "password_set", "user_deactivated"]
    assert log_actions(ctx) == []


# --- Organizations -------------------------------------------------------------------------
def test_a_national_admin_creates_renames_and_deactivates_an_organization(ctx, client, national, org):
    page = log_in(client, "national-admin")
    assert page.status_code == 302
    answer = post_form(client, "/admin/organizations", {"code": "6340101", "name": "อบต.ทดสอบ", "type": "sao",
                                                          "province": "ตาก", "district": "เมืองตาก"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/organizations/6340101")
    shown = client.get("/admin/organizations/6340101").get_data(as_text=True)
    assert "อบต.ทดสอบ" in shown and "เมืองตาก" in shown
    renamed = client.patch(f"{API}/organizations/6340101", headers=national, json={"name": "อบต.ทดสอบใหม่"})
    assert renamed.get_json()["name"] == "อบต.ทดสอบใหม่"
    add_person(ctx, "member", "6340101", ["executive"])
    member_token = admin.issue_token(ctx, "member")
    off = client.post(f"{API}/organizations/6340101/deactivate", headers=national)
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert client.get(f"{API}/plans", headers={"Authorization": f"Bearer {member_token}"}).status_code == 401
    assert client.post(f"{API}/organizations/6340101/users", headers=national,
                       json={"username": "late", "roles": ["executive"]}).status_code == 409
    assert log_actions(ctx) == ["organization_created", "organization_renamed", "organization_deactivated"]


def test_an_organizations_admin_may_not_create_rename_or_deactivate_organizations(ctx, client, org):
    for method, path, body in (("post", "/organizations/onboarding", None), ("patch", f"/organizations/{org.code}",
                               {"name": "x"}), ("post", f"/organizations/{org.code}/deactivate", None)):
        answer = client.open(API + path, method=method.upper(), headers=org.headers("admin"), json=body)
        assert answer.status_code == 403
    assert log_actions(ctx) == []


def test_bad_organization_fields_are_refused_in_thai(ctx, national):
    actor = queries.actor_named(ctx, "national-admin")
    for body, field in (({"code": "x y", "name": "ก", "type": "sao"}, "/code"),
                        ({"code": "a", "name": " ", "type": "sao"}, "/name"),
                        ({"code": "a", "name": "ก", "type": "อำเภอ"}, "/type"),
                        ({"code": "a", "name": "ก" * 201, "type": "sao"}, "/name"),
                        ({"code": "a", "name": "ก", "type": "sao", "district": "ข" * 101}, "/district")):
        with pytest.raises(Invalid) as refused:
            administration.create_organization(ctx, actor, body)
        assert refused.value.errors[0]["field"] == field, body
    assert organization_count(ctx) == 0


# --- Onboarding ----------------------------------------------------------------------------
def test_eight_thousand_organizations_onboard_in_one_go_and_the_preview_writes_nothing(ctx, client, national):
    data = national_list(8000)
    before = organization_count(ctx)
    preview = onboard(client, national, data, preview=True)
    assert preview.status_code == 200 and preview.get_json()["count"] == 8000
    assert organization_count(ctx) == before and log_actions(ctx) == []
    applied = onboard(client, national, data)
    assert applied.status_code == 201, applied.get_json()
    assert organization_count(ctx) == before + 8000
    with ctx.db.read() as session:
        row = session.scalars(select(Organization).where(Organization.code == "6008000")).one()
        assert (row.type, row.province, row.active) == ("sao", "จังหวัดทดสอบ20", True)
    assert log_actions(ctx) == ["organizations_onboarded"]
    again = onboard(client, national, data)  # every code is now taken: refused whole
    assert again.status_code == 422 and "มีองค์กรรหัส 6000001 ในระบบอยู่แล้ว" in again.get_json()["errors"][0]["message"]
    assert organization_count(ctx) == before + 8000


def test_a_duplicate_code_on_line_7999_of_8000_rejects_the_whole_file(ctx, client, national):
    before = organization_count(ctx)
    answer = onboard(client, national, national_list(7999, duplicate_at=7999))  # 7,999 rows: 8,000 lines
    assert answer.status_code == 422
    errors = answer.get_json()["errors"]
    assert errors == [{"field": "/lines/7999/code", "message": "บรรทัดที่ 7,999: รหัส 6000001 ซ้ำกับบรรทัดที่ 2"}]
    assert organization_count(ctx) == before and log_actions(ctx) == []


@pytest.mark.parametrize(("data", "expected"), [
    (HEADER + "1,อบต.หนึ่ง,อบต.,ตาก,เมือง\n2,อบต.สอง,อำเภอ,ตาก,เมือง\n", "บรรทัดที่ 3: ประเภท “อำเภอ” ไม่ถูกต้อง"),
    ("code,name,type,province\n1,อบต.หนึ่ง,อบต.,ตาก\n", "บรรทัดที่ 1: ไม่มีคอลัมน์ district"),
    (HEADER + "1,,อบต.,ตาก,เมือง\n", "บรรทัดที่ 2: ไม่มีชื่อองค์กร"),
    (HEADER + "1," + "ก" * 201 + ",อบต.,ตาก,เมือง\n", "บรรทัดที่ 2: ชื่อองค์กรยาว 201 ตัวอักษร"),
    (HEADER + "1,อบต.หนึ่ง,อบต.,ตาก," + "ข" * 101 + "\n", "บรรทัดที่ 2: ชื่ออำเภอยาวเกิน 100"),
    (HEADER + "ไม่ใช่รหัส,อบต.หนึ่ง,อบต.,ตาก,เมือง\n", "บรรทัดที่ 2: รหัส “ไม่ใช่รหัส” ไม่ถูกต้อง"),
    (HEADER + "1,อบต.หนึ่ง,อบต.,,เมือง\n", "บรรทัดที่ 2: ไม่มีชื่อจังหวัด"),
])
def test_faults_of_a_file_are_named_by_line_and_nothing_is_added(ctx, client, national, data, expected):
    before = organization_count(ctx)
    answer = onboard(client, national, data.encode("utf-8"))
    assert answer.status_code == 422
    assert any(e["message"].startswith(expected) for e in answer.get_json()["errors"]), answer.get_json()
    assert organization_count(ctx) == before


def test_a_file_not_in_utf8_or_too_large_is_refused(ctx, client, national):
    tis620 = (HEADER + "1,อบต.หนึ่ง,อบต.,ตาก,เมือง\n").encode("cp874")
    answer = onboard(client, national, tis620)
    assert answer.status_code == 422 and "UTF-8" in answer.get_json()["errors"][0]["message"]
    assert answer.get_json()["errors"][0]["message"].startswith("บรรทัดที่ 2")
    huge = onboard(client, national, b"x" * (administration.MAX_CSV_BYTES + 1))
    assert huge.status_code == 422 and "ไม่เกิน 4 MB" in huge.get_json()["errors"][0]["message"]
    assert organization_count(ctx) == 0 or log_actions(ctx) == []


def test_the_onboarding_page_previews_then_applies(ctx, client, national):
    import io
    log_in(client, "national-admin")
    data = national_list(60)
    page = client.post("/admin/organizations/onboarding", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token(client, "/admin/organizations/onboarding"),
                             "file": (io.BytesIO(data), "lao.csv")})
    shown = page.get_data(as_text=True)
    assert page.status_code == 200 and "จะเพิ่มองค์กร 60 แห่ง" in shown and "แสดง 50 แถวแรก" in shown
    assert organization_count(ctx) == 0
    applied = client.post("/admin/organizations/onboarding", content_type="multipart/form-data",
                          data={"csrf_token": CSRF.search(shown).group(1), "apply": "1", "text": data.decode()})
    assert applied.status_code == 302 and organization_count(ctx) == 60
    bad = client.post("/admin/organizations/onboarding", content_type="multipart/form-data",
                      data={"csrf_token": csrf_token(client, "/admin/organizations/onboarding"),
                            "file": (io.BytesIO(national_list(3, duplicate_at=3)), "lao.csv")})
    assert bad.status_code == 422 and "บรรทัดที่ 3: รหัส 6000001 ซ้ำกับบรรทัดที่ 2" in bad.get_data(as_text=True)


# --- People and roles ----------------------------------------------------------------------
def test_an_organizations_admin_adds_a_user_and_sets_their_roles(ctx, client, org):
    headers = org.headers("admin")
    added = client.post(f"{API}/organizations/{org.code}/users", headers=headers,
                        json={"username": "somchai", "display_name": "สมชาย ใจดี", "roles": ["executive"]})
    assert added.status_code == 201 and added.get_json()["roles"] == [{"organization": org.code, "role": "executive"}]
    changed = client.put(f"{API}/users/somchai/roles", headers=headers,
                         json={"organization": org.code, "roles": ["planning_office", "auditor"]})
    assert changed.status_code == 200
    assert {r["role"] for r in changed.get_json()["roles"]} == {"planning_office", "auditor"}
    assert log_actions(ctx) == ["user_added", "role_removed", "role_granted", "role_granted"]
    listed = client.get(f"{API}/organizations/{org.code}/users", headers=headers).get_json()["users"]
    assert "somchai" in {u["username"] for u in listed}


def test_an_organizations_admin_gives_no_national_role_nor_the_designers_nor_an_unknown_one(ctx, client, org):
    headers = org.headers("admin")
    username = f"{org.code}-executive"
    for body, status in (({"organization": None, "roles": ["admin"]}, 403),
                         ({"organization": org.code, "roles": ["designer"]}, 403),
                         ({"organization": org.code, "roles": ["king"]}, 422)):
        assert client.put(f"{API}/users/{username}/roles", headers=headers, json=body).status_code == status, body
    assert client.post(f"{API}/organizations/{org.code}/users", headers=headers,
                       json={"username": "x", "roles": ["designer"]}).status_code == 403
    assert log_actions(ctx) == []


def test_a_national_admin_grants_national_roles(ctx, client, national, org):
    username = f"{org.code}-executive"
    answer = client.put(f"{API}/users/{username}/roles", headers=national,
                        json={"organization": None, "roles": ["auditor"]})
    assert answer.status_code == 200 and {"organization": None, "role": "auditor"} in answer.get_json()["roles"]
    # now the user holds a role beyond the organization: its own admin no longer changes them
    assert client.post(f"{API}/users/{username}/deactivate", headers=org.headers("admin")).status_code == 403


def test_nothing_of_another_organization_is_seen_or_changed(ctx, client, org, other_org):
    """Every administration endpoint, by an organization's admin, on the other organization: 404."""
    headers = other_org.headers("admin")
    mine = f"{org.code}-executive"
    calls = [("get", f"/organizations/{org.code}/users", None),
             ("post", f"/organizations/{org.code}/users", {"username": "spy", "roles": ["executive"]}),
             ("get", f"/users/{mine}", None),
             ("put", f"/users/{mine}/roles", {"organization": org.code, "roles": ["admin"]}),
             ("put", f"/users/{other_org.code}-executive/roles", {"organization": org.code, "roles": ["executive"]}),
             ("post", f"/users/{mine}/deactivate", None), ("post", f"/users/{mine}/activate", None),
             ("post", f"/users/{mine}/unlock", None), ("post", f"/users/{mine}/reset-link", None)]
    for method, path, body in calls:
        answer = client.open(API + path, method=method.upper(), headers=headers, json=body)
        assert answer.status_code == 404, (method, path, answer.get_json())
    assert client.get(f"{API}/admin-log", headers=headers, query_string={"organization": org.code}).status_code == 404
    assert log_actions(ctx) == []
    add_person(ctx, "other-admin", other_org.code, ["admin"])
    log_in(client, "other-admin")
    for path in (f"/admin/organizations/{org.code}", f"/admin/users/{mine}", f"/admin/log?organization={org.code}"):
        assert client.get(path).status_code == 404, path
    for path in (f"/admin/users/{mine}/active", f"/admin/users/{mine}/reset-link", f"/admin/users/{mine}/unlock",
                 f"/admin/organizations/{org.code}/users"):
        assert post_form(client, path, {"active": "0", "username": "spy"}, page="/account").status_code == 404, path
    assert log_actions(ctx) == []


def test_a_deactivated_users_sessions_and_tokens_stop_at_once(ctx, client, org):
    add_person(ctx, "leaving", org.code, ["executive"])
    token = admin.issue_token(ctx, "leaving")
    browser = client.application.test_client()
    log_in(browser, "leaving")
    assert browser.get("/account").status_code == 200
    answer = client.post(f"{API}/users/leaving/deactivate", headers=org.headers("admin"))
    assert answer.status_code == 200 and answer.get_json()["active"] is False
    assert client.get(f"{API}/plans", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert browser.get("/account").status_code == 302  # to the log-in page
    assert log_in(browser, "leaving").status_code == 401  # refused
    assert client.post(f"{API}/users/{org.code}-admin/deactivate", headers=org.headers("admin")).status_code == 403


def test_an_admin_unlocks_a_locked_account(ctx, client, org):
    add_person(ctx, "forgetful", org.code, ["executive"])
    for _ in range(admin.MAX_FAILED_LOGINS):
        log_in(client, "forgetful", "wrong password")
    assert client.get(f"{API}/users/forgetful", headers=org.headers("admin")).get_json()["locked"] is True
    assert log_in(client, "forgetful").status_code == 401
    assert client.post(f"{API}/users/forgetful/unlock", headers=org.headers("admin")).get_json()["locked"] is False
    assert log_in(client, "forgetful").status_code == 302
    assert "user_unlocked" in log_actions(ctx)


# --- Reset links ---------------------------------------------------------------------------
def test_a_reset_link_is_single_use_stored_hashed_and_sets_the_password(ctx, client, org):
    client.post(f"{API}/organizations/{org.code}/users", headers=org.headers("admin"),
                json={"username": "newcomer", "roles": ["executive"]})
    issued = client.post(f"{API}/users/newcomer/reset-link", headers=org.headers("admin")).get_json()
    token = issued["token"]
    with ctx.db.read() as session:
        stored = session.scalars(select(PasswordResetLink.token_hash)).all()
    assert token not in stored and len(stored) == 1
    path = f"/password-reset/{token}"
    form = client.get(path).get_data(as_text=True)
    assert "newcomer" in form
    no_token = client.post(path, data={"password": "new password 1", "confirm": "new password 1"})
    assert no_token.status_code == 400  # CSRF
    short = post_form(client, path, {"password": "short", "confirm": "short"})
    assert short.status_code == 422 and "อย่างน้อย 8" in short.get_data(as_text=True)
    done = post_form(client, path, {"password": "new password 1", "confirm": "new password 1"})
    assert done.status_code == 302
    assert client.get(path).status_code == 404  # used
    assert log_in(client.application.test_client(), "newcomer", "new password 1").status_code == 302
    assert log_actions(ctx)[-2:] == ["reset_link_issued", "reset_link_used"]


def test_a_reset_link_expires_after_24_hours_and_a_newer_one_replaces_it(ctx, client, clock, org):
    headers = org.headers("admin")
    first = client.post(f"{API}/users/{org.code}-executive/reset-link", headers=headers).get_json()["token"]
    second = client.post(f"{API}/users/{org.code}-executive/reset-link", headers=headers).get_json()["token"]
    assert client.get(f"/password-reset/{first}").status_code == 404
    assert client.get(f"/password-reset/{second}").status_code == 200
    clock.advance(hours=24)
    assert client.get(f"/password-reset/{second}").status_code == 404
    assert client.get("/password-reset/" + "x" * 43).status_code == 404


def test_the_printable_link_page_shows_the_link_once(ctx, client, org):
    add_person(ctx, "site-admin", org.code, ["admin"])
    log_in(client, "site-admin")
    page = post_form(client, f"/admin/users/{org.code}-executive/reset-link", {},
                     page=f"/admin/users/{org.code}-executive")
    shown = page.get_data(as_text=True)
    assert page.status_code == 200 and "/password-reset/" in shown and page.headers["Cache-Control"] == "no-store"
    assert "/password-reset/" not in client.get(f"/admin/users/{org.code}-executive").get_data(as_text=True)


# --- The admin log -------------------------------------------------------------------------
def test_the_admin_log_is_append_only_in_the_database(ctx, client, org):
    client.post(f"{API}/users/{org.code}-executive/unlock", headers=org.headers("admin"))
    client.post(f"{API}/users/{org.code}-executive/reset-link", headers=org.headers("admin"))
    for statement in ("UPDATE admin_log SET actor = 'someone else'", "DELETE FROM admin_log"):
        with pytest.raises(DBAPIError), ctx.db.write() as session:
            session.execute(text(statement))
    assert log_actions(ctx) == ["reset_link_issued"]


def test_the_admin_log_is_paged_and_scoped(ctx, client, national, org, other_org):
    for _ in range(3):
        client.post(f"{API}/users/{org.code}-executive/reset-link", headers=org.headers("admin"))
    client.post(f"{API}/users/{other_org.code}-executive/reset-link", headers=other_org.headers("admin"))
    first = client.get(f"{API}/admin-log", headers=national, query_string={"limit": 2}).get_json()
    rest = client.get(f"{API}/admin-log", headers=national,
                      query_string={"limit": 2, "after": first["next"]}).get_json()
    newest = first["entries"] + rest["entries"]  # the four links; the console's set-up (as "operator") before them
    assert len(first["entries"]) == 2 and [e["action"] for e in newest] == ["reset_link_issued"] * 4
    assert [e["id"] for e in newest] == sorted((e["id"] for e in newest), reverse=True)
    own = client.get(f"{API}/admin-log", headers=org.headers("admin"),
                     query_string={"limit": 200}).get_json()["entries"]
    assert {e["organization"] for e in own} == {org.code}
    assert len([e for e in own if e["action"] == "reset_link_issued"]) == 3
    assert client.get(f"{API}/admin-log", headers=org.headers("auditor")).status_code == 200
    assert client.get(f"{API}/admin-log", headers=org.headers("executive")).status_code == 403
    add_person(ctx, "site-admin", org.code, ["admin"])
    log_in(client, "site-admin")
    page = client.get("/admin/log").get_data(as_text=True)
    assert page.count("ออกลิงก์ตั้งรหัสผ่าน") == 3


def test_every_form_of_the_administration_pages_needs_the_csrf_token(ctx, client, org):
    add_person(ctx, "site-admin", org.code, ["admin"])
    log_in(client, "site-admin")
    for path in (f"/admin/organizations/{org.code}/users", f"/admin/users/{org.code}-executive/active",
                 f"/admin/users/{org.code}-executive/roles", f"/admin/users/{org.code}-executive/unlock",
                 f"/admin/users/{org.code}-executive/reset-link", "/admin/organizations",
                 "/admin/organizations/onboarding", f"/admin/organizations/{org.code}/rename", "/admin/users"):
        assert client.post(path, data={"active": "0"}).status_code == 400, path
    assert log_actions(ctx) == []


def test_the_pages_of_an_organizations_admin(ctx, client, org):
    add_person(ctx, "site-admin", org.code, ["admin"])
    log_in(client, "site-admin")
    assert client.get("/admin").headers["Location"].endswith(f"/admin/organizations/{org.code}")
    page = client.get(f"/admin/organizations/{org.code}").get_data(as_text=True)
    assert f"{org.code}-executive" in page and f"/organizations/{org.code}/strategies" in page
    assert "ระงับองค์กร" not in page  # a national admin's
    added = post_form(client, f"/admin/organizations/{org.code}/users",
                      {"username": "somsri", "display_name": "สมศรี", "roles": "planning_office"},
                      page=f"/admin/organizations/{org.code}")
    assert added.status_code == 302 and added.headers["Location"].endswith("/admin/users/somsri")
    user_page = client.get("/admin/users/somsri").get_data(as_text=True)
    assert "สมศรี" in user_page and 'value="designer"' not in user_page and "บทบาทระดับประเทศ" not in user_page
    assert client.get("/admin/organizations/onboarding").status_code == 403


def users_named(ctx, username: str) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(User).where(User.username == username))


def test_a_national_admin_adds_an_overseer_who_belongs_to_no_organization(ctx, client, national, org):
    """สถ.จังหวัด: no organization, no role, an area; added, granted and logged in one go."""
    answer = client.post(f"{API}/users", headers=national,
                         json={"username": "sto-test", "display_name": "สถ.จังหวัดทดสอบ", "province": "จังหวัดทดสอบ"})
    assert answer.status_code == 201, answer.get_json()
    shown = answer.get_json()
    assert shown["organization"] is None and shown["roles"] == []
    assert shown["oversight"] == {"province": "จังหวัดทดสอบ", "district": ""}
    assert log_actions(ctx)[-2:] == [administration.USER_ADDED, administration.OVERSIGHT_GRANTED]
    headers = {"Authorization": f"Bearer {admin.issue_token(ctx, 'sto-test', None)}"}
    seen = client.get(f"{API}/oversight", headers=headers).get_json()
    assert [row["organization"]["code"] for row in seen["organizations"]] == [org.code]
    # a national auditor with no area: a role is enough
    auditor = client.post(f"{API}/users", headers=national, json={"username": "nat-auditor", "roles": ["auditor"]})
    assert auditor.status_code == 201 and auditor.get_json()["oversight"] is None


@pytest.mark.parametrize(("body", "status"), [
    ({"username": "nobody"}, 422),  # neither a role nor an area
    ({"username": "nobody", "province": "จังหวัดที่ไม่มี"}, 422),  # no organization is there
    ({"username": "nobody", "district": "เมือง"}, 422),  # a district without its province
    ({"username": "nobody", "roles": ["executive"]}, 422),  # a role of an organization's processes
    ({"username": "nobody", "roles": "admin"}, 422),
    ({"username": "no body", "roles": ["auditor"]}, 422),
    ({"username": "kradangnga-executive", "roles": ["auditor"]}, 409),
])
def test_a_user_of_no_organization_is_refused_whole(ctx, client, national, org, body, status):
    before = log_actions(ctx)
    answer = client.post(f"{API}/users", headers=national, json=body)
    assert answer.status_code == status, answer.get_json()
    assert answer.get_json()["title"]
    assert users_named(ctx, "nobody") == 0 and log_actions(ctx) == before


def test_only_a_national_admin_adds_a_user_of_no_organization(ctx, client, org):
    for role in ("admin", "auditor", "executive"):
        answer = client.post(f"{API}/users", headers=org.headers(role),
                             json={"username": "sneaky", "roles": ["admin"]})
        assert answer.status_code == 403, role
    assert users_named(ctx, "sneaky") == 0


def test_the_organizations_page_adds_an_overseer(ctx, client, org):
    add_person(ctx, "nat", None, ["admin"])
    log_in(client, "nat")
    assert "เพิ่มผู้ใช้ที่ไม่สังกัดองค์กร" in client.get("/admin/organizations").get_data(as_text=True)
    added = post_form(client, "/admin/users", {"username": "sto-amphoe", "display_name": "สถ.อำเภอ",
                                               "province": "จังหวัดทดสอบ"}, page="/admin/organizations")
    assert added.status_code == 302 and added.headers["Location"].endswith("/admin/users/sto-amphoe")
    assert "กำกับดูแลจังหวัดจังหวัดทดสอบ" in client.get("/admin/users/sto-amphoe").get_data(as_text=True)
    refused = post_form(client, "/admin/users", {"username": "sto-none"}, page="/admin/organizations")
    assert refused.status_code == 422 and "พื้นที่กำกับดูแล" in refused.get_data(as_text=True)
    assert users_named(ctx, "sto-none") == 0
