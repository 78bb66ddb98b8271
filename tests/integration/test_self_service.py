"""Self-service on the account page: a new password (the current one required; every other browser
and every API token ends, this browser stays signed in), the sign-in history (each attempt under a
known name, none under an unknown one, the network and browser as hints only), and the refusals."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from service.commands import admin
from service.errors import Forbidden, Invalid, TooManyAttempts, Unauthorized
from service.models import SignIn

from .web import PASSWORD, add_person, csrf_token, errors_beside, log_in, post_form

NEW_PASSWORD = "a new horse 2564"
OFFICE = {"REMOTE_ADDR": "203.0.113.77", "HTTP_USER_AGENT": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
          "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"}


@pytest.fixture
def app(ctx):
    from service.app import create_app

    return create_app(context=ctx, test_config={"TESTING": True, "WTF_CSRF_ENABLED": True})


@pytest.fixture
def person(ctx, org):
    return add_person(ctx, "somchai", org.code, ["support_committee"], "นายสมชาย ใจดี")


def change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return post_form(client, "/account/password", {"current_password": current, "new_password": new,
                                                   "confirm_password": new if confirm is None else confirm},
                     page="/account")


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def api(client, token):
    return client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {token}"})


def history(ctx, username) -> list[tuple[str, str]]:
    """(action, outcome) of the user's sign-in history, oldest first."""
    return [(row["action"], row["outcome"]) for row in reversed(_rows_of(ctx, username))]


def _rows_of(ctx, username) -> list[dict]:
    from service import queries

    return queries.sign_in_page(ctx, queries.actor_named(ctx, username), 1000)["sign_ins"]


# --- A new password -------------------------------------------------------------------------
def test_a_new_password_ends_every_other_browser_and_every_token_at_once_and_keeps_this_one(ctx, app, person):
    here, there = app.test_client(), app.test_client()
    token = admin.issue_token(ctx, person)
    log_in(here, person)
    log_in(there, person)
    assert signed_in(there) and api(here, token).status_code == 200

    answer = change(here)
    assert answer.status_code == 302 and answer.headers["Location"] == "/account"
    page = here.get("/account").get_data(as_text=True)
    assert "เปลี่ยนรหัสผ่านแล้ว" in page and "ยกเว้นเครื่องนี้" in page
    assert not signed_in(there)  # the other browser's next request: the log-in page
    assert api(here, token).status_code == 401
    assert "ยกเลิกแล้ว" in page and ">ยกเลิก</button>" not in page  # the token, listed as revoked
    assert log_in(app.test_client(), person).status_code == 401  # the old password no longer signs in
    assert log_in(app.test_client(), person, NEW_PASSWORD).status_code == 302
    assert signed_in(here)  # still, after the others signed in anew


def test_the_old_session_cookie_replayed_after_the_change_signs_no_one_in(app, person):
    client = app.test_client()
    log_in(client, person)
    cookie = client.get_cookie("session").value
    assert change(client).status_code == 302
    replayed = app.test_client()
    replayed.set_cookie("session", cookie)
    assert not signed_in(replayed) and signed_in(client)


def test_a_wrong_current_password_changes_nothing_and_counts_toward_the_lock_out(ctx, app, person, clock):
    client, other = app.test_client(), app.test_client()
    token = admin.issue_token(ctx, person)
    log_in(client, person)
    log_in(other, person)
    answer = change(client, current="not my password")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert errors_beside(html)["current_password"].startswith("รหัสผ่านปัจจุบันไม่ถูกต้อง ยังไม่ได้เปลี่ยนรหัสผ่าน")
    assert "หากผิดอีก 4 ครั้ง" in html and 'aria-invalid="true"' in html
    assert NEW_PASSWORD not in html and "not my password" not in html  # nothing typed is sent back
    assert signed_in(client) and signed_in(other) and api(client, token).status_code == 200
    for left in (3, 2, 1):
        assert f"หากผิดอีก {left} ครั้ง" in change(client, current="still wrong").get_data(as_text=True)
    locked = change(client, current="still wrong")
    assert locked.status_code == 422 and "ถูกระงับชั่วคราว" in errors_beside(locked.get_data(as_text=True))[
        "current_password"]
    # the name is locked: the log-in refuses even the right password, and so does the change
    assert "ถูกระงับชั่วคราว" in log_in(app.test_client(), person).get_data(as_text=True)
    assert "ถูกระงับชั่วคราว" in change(client).get_data(as_text=True)
    assert signed_in(client) and signed_in(other) and api(client, token).status_code == 200  # lock ends nothing
    clock.advance(minutes=5, seconds=1)
    assert change(client).status_code == 302
    assert log_in(app.test_client(), person, NEW_PASSWORD).status_code == 302


def test_wrong_passwords_at_the_log_in_and_at_the_change_count_together(app, person):
    client = app.test_client()
    log_in(client, person)
    for _ in range(2):
        log_in(app.test_client(), person, "wrong")
    assert "หากผิดอีก 2 ครั้ง" in change(client, current="wrong").get_data(as_text=True)


@pytest.mark.parametrize(("new", "confirm", "field", "message"), [
    ("short", "short", "new_password", "รหัสผ่านต้องยาวอย่างน้อย 8 ตัวอักษร"),
    ("", "", "new_password", "รหัสผ่านต้องยาวอย่างน้อย 8 ตัวอักษร"),
    (NEW_PASSWORD, NEW_PASSWORD + "x", "confirm_password", "รหัสผ่านใหม่ที่กรอกสองครั้งไม่ตรงกัน"),
    (PASSWORD, PASSWORD, "new_password", "รหัสผ่านใหม่ต้องไม่ซ้ำกับรหัสผ่านปัจจุบัน"),
])
def test_a_refused_new_password_says_why_beside_its_field_and_changes_nothing(app, person, new, confirm, field,
                                                                              message):
    client, other = app.test_client(), app.test_client()
    log_in(client, person)
    log_in(other, person)
    answer = change(client, new=new, confirm=confirm)
    assert answer.status_code == 422 and errors_beside(answer.get_data(as_text=True))[field] == message
    assert signed_in(client) and signed_in(other)
    # not a wrong current password: nothing counted toward the lock-out
    assert "หากผิดอีก 4 ครั้ง" in log_in(app.test_client(), person, "wrong").get_data(as_text=True)
    assert log_in(app.test_client(), person).status_code == 302


def test_an_empty_current_password_is_asked_for_and_not_counted(app, person):
    client = app.test_client()
    log_in(client, person)
    answer = change(client, current="")
    assert answer.status_code == 422
    assert errors_beside(answer.get_data(as_text=True))["current_password"] == "กรุณากรอกรหัสผ่านปัจจุบัน"
    assert "หากผิดอีก 4 ครั้ง" in log_in(app.test_client(), person, "wrong").get_data(as_text=True)


def test_a_change_without_the_csrf_token_is_refused_and_changes_nothing(app, person):
    client = app.test_client()
    log_in(client, person)
    answer = client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                    "confirm_password": NEW_PASSWORD})
    assert answer.status_code == 400 and "แบบฟอร์มนี้หมดอายุ" in answer.get_data(as_text=True)
    assert signed_in(client) and log_in(app.test_client(), person).status_code == 302


def test_a_change_needs_a_signed_in_browser(app, person):
    client = app.test_client()
    token = csrf_token(client)
    answer = client.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                    "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert log_in(app.test_client(), person).status_code == 302


def test_the_account_page_cannot_revoke_another_users_token(ctx, app, person, org):
    client = app.test_client()
    theirs = admin.issue_token(ctx, "kradangnga-executive")
    log_in(client, person)
    target = admin.tokens_of(ctx, "kradangnga-executive")[0]["id"]
    answer = post_form(client, f"/account/tokens/{target}/revoke", {}, page="/account")
    assert answer.status_code == 404 and "ไม่พบโทเค็นหมายเลขนี้ของท่าน" in answer.get_data(as_text=True)
    assert api(client, theirs).status_code == 200


def test_the_command_refuses_a_deactivated_actor(ctx, person):
    from service import queries

    me = queries.actor_named(ctx, person)
    admin.set_active(ctx, person, False)
    with pytest.raises(Forbidden, match="ปิดการใช้งาน"):
        admin.change_password(ctx, me, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    with pytest.raises(Invalid):
        admin.change_password(ctx, me, PASSWORD, "short", "short")


# --- The sign-in history --------------------------------------------------------------------
def test_each_sign_in_of_a_known_user_is_kept_with_its_outcome_network_and_browser(ctx, app, person, clock):
    client = app.test_client()
    client.post("/login", data={"username": person, "password": "wrong", "csrf_token": csrf_token(client)},
                environ_base=OFFICE)
    clock.advance(minutes=1)
    assert client.post("/login", data={"username": person, "password": PASSWORD, "csrf_token": csrf_token(client)},
                       environ_base=OFFICE).status_code == 302
    rows = _rows_of(ctx, person)
    assert [(r["action"], r["outcome"]) for r in rows] == [("sign_in", "ok"), ("sign_in", "wrong_password")]
    assert {r["network"] for r in rows} == {"203.0.113.0/24"}  # the network, never the address
    assert rows[0]["browser"].startswith("Mozilla/5.0 (Windows NT 10.0") and len(rows[0]["browser"]) <= 120
    assert rows[0]["at"] > rows[1]["at"]
    page = client.get("/account").get_data(as_text=True)
    assert "ประวัติการเข้าสู่ระบบ" in page and "เข้าสู่ระบบสำเร็จ" in page
    assert "เข้าสู่ระบบไม่สำเร็จ: รหัสผ่านไม่ถูกต้อง" in page and "Chrome บน Windows" in page
    assert "203.0.113.0/24" in page and "203.0.113.77" not in page
    assert page.index("เข้าสู่ระบบสำเร็จ") < page.index("เข้าสู่ระบบไม่สำเร็จ")  # newest first


def test_unknown_names_leave_no_row_and_answer_as_before(ctx, app, person):
    client = app.test_client()
    assert "หากผิดอีก 4 ครั้ง" in log_in(client, "nobody", "wrong").get_data(as_text=True)
    for name in ("somchai ", "SOMCHAI", "x" * 300, "สมชาย"):
        assert log_in(client, name, "wrong").status_code == 401
    with ctx.db.read() as session:
        # "somchai " is the user's name once trimmed, as the log-in reads it: one row, theirs
        assert session.scalar(select(func.count()).select_from(SignIn)) == 1
    assert history(ctx, person) == [("sign_in", "wrong_password")]


def test_locked_deactivated_and_throttled_attempts_are_kept_too(ctx, app, person, org):
    for _ in range(5):
        with pytest.raises(Unauthorized):
            admin.sign_in(ctx, person, "wrong", "198.51.100.9")
    with pytest.raises(Unauthorized, match="ถูกระงับชั่วคราว"):
        admin.sign_in(ctx, person, PASSWORD, "198.51.100.9")
    add_person(ctx, "gone", org.code, ["executive"])
    admin.set_active(ctx, "gone", False)
    with pytest.raises(Unauthorized):
        admin.sign_in(ctx, "gone", PASSWORD, "198.51.100.9")
    with pytest.raises(Unauthorized):
        admin.sign_in(ctx, "kradangnga-executive", "", "198.51.100.9")  # a token-only user: no password
    for _ in range(30):  # the address's window fills up (login_throttle_failures), under unknown names
        try:
            admin.sign_in(ctx, "someone-else", "wrong", "192.0.2.1")
        except Unauthorized:
            pass
    with pytest.raises(TooManyAttempts):
        admin.sign_in(ctx, "gone", PASSWORD, "192.0.2.1")
    assert history(ctx, person) == [("sign_in", "wrong_password")] * 5 + [("sign_in", "locked")]
    admin.set_active(ctx, "gone", True)
    assert history(ctx, "gone") == [("sign_in", "deactivated"), ("sign_in", "throttled")]
    assert history(ctx, "kradangnga-executive") == [("sign_in", "no_password")]


def test_a_password_change_and_its_refusals_are_in_the_history(ctx, app, person):
    client = app.test_client()
    log_in(client, person)
    change(client, current="wrong")
    change(client, new="short", confirm="short")  # refused before the password is read: not an attempt
    change(client)
    assert history(ctx, person) == [("sign_in", "ok"), ("password", "wrong_password"), ("password", "ok")]
    page = client.get("/account").get_data(as_text=True)
    assert "เปลี่ยนรหัสผ่านไม่สำเร็จ: รหัสผ่านปัจจุบันไม่ถูกต้อง" in page and ">เปลี่ยนรหัสผ่าน</span>" in page


def test_the_history_pages_twenty_at_a_time_newest_first_and_is_ones_own(ctx, app, person, org, clock):
    add_person(ctx, "somsri", org.code, ["executive"])
    for _ in range(24):
        admin.sign_in(ctx, person, PASSWORD, "203.0.113.5", "Firefox/128.0")
        clock.advance(minutes=1)
    admin.sign_in(ctx, "somsri", PASSWORD, "203.0.113.5")
    client = app.test_client()
    log_in(client, person)  # the 25th
    first = client.get("/account").get_data(as_text=True)
    assert first.count("เข้าสู่ระบบสำเร็จ") == 20
    older = re.search(r'href="(/account\?after=[^"#]+)#history"', first)
    assert older, "no link to the older sign-ins"
    second = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("เข้าสู่ระบบสำเร็จ") == 5 and "รายการก่อนหน้า" not in second and "« ล่าสุด" in second
    assert len(_rows_of(ctx, person)) == 25 and len(_rows_of(ctx, "somsri")) == 1
    bad = client.get("/account?after=not-a-cursor")
    assert bad.status_code == 422
    other = app.test_client()
    log_in(other, "somsri")
    assert other.get("/account").get_data(as_text=True).count("เข้าสู่ระบบสำเร็จ") == 2  # theirs only


def test_a_user_keeps_only_their_newest_rows(ctx, person, monkeypatch):
    monkeypatch.setattr(admin, "SIGN_INS_KEPT", 3)
    for _ in range(5):
        admin.sign_in(ctx, person, PASSWORD, "203.0.113.5")
    with pytest.raises(Unauthorized):
        admin.sign_in(ctx, person, "wrong", "203.0.113.5")
    assert history(ctx, person) == [("sign_in", "ok"), ("sign_in", "ok"), ("sign_in", "wrong_password")]


@pytest.mark.parametrize(("address", "hint"), [
    ("203.0.113.77", "203.0.113.0/24"), ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
    ("::ffff:198.51.100.200", "198.51.100.0/24"), ("", ""), ("not an address", ""), ("10.0.0.1, 10.0.0.2", ""),
])
def test_the_network_hint_keeps_the_network_and_never_the_address(address, hint):
    assert admin.network_hint(address) == hint


def test_the_browser_hint_is_printable_and_trimmed():
    assert admin.browser_hint("Mozilla\x00/5.0\n\t(X11)  " + "x" * 500) == ("Mozilla /5.0 (X11) " + "x" * 500)[:120]
    assert admin.browser_hint("") == ""
