"""Logging in and out of the pages: wrong passwords, the lock-out, cookies, CSRF, passwords."""

from __future__ import annotations

import pytest

from service.commands import admin
from service.errors import Invalid

from .web import PASSWORD, add_person, csrf_token, log_in, post_form


@pytest.fixture
def app(ctx):
    from service.app import create_app

    return create_app(context=ctx, test_config={"TESTING": True, "WTF_CSRF_ENABLED": True})


@pytest.fixture
def person(ctx, org):
    return add_person(ctx, "somchai", org.code, ["support_committee"], "นายสมชาย ใจดี")


def test_pages_need_a_log_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_log_in_sets_a_protected_session_cookie_and_goes_to_the_inbox(client, person):
    response = log_in(client, person)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/").get_data(as_text=True)
    assert "นายสมชาย ใจดี" in page and '<html lang="th">' in page


def test_secure_cookies_when_served_over_https(ctx, person, monkeypatch):
    from service.app import create_app

    monkeypatch.setenv("PHAEN_SECURE_COOKIES", "1")
    client = create_app(context=ctx).test_client()
    assert "Secure" in log_in(client, person).headers["Set-Cookie"]


def test_wrong_password_says_so_in_thai_and_counts_down(client, person):
    response = log_in(client, person, "not the password")
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in page and "หากผิดอีก 4 ครั้ง" in page
    assert 'value="somchai"' in page  # the name typed is kept
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_answer(client, person):
    page = log_in(client, "nobody", "whatever").get_data(as_text=True)
    # an unknown name counts down like a known one: the answer never tells which names exist
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in page and "หากผิดอีก 4 ครั้ง" in page


def test_five_wrong_passwords_lock_the_account_for_five_minutes(client, person, clock):
    for _ in range(4):
        log_in(client, person, "wrong")
    page = log_in(client, person, "wrong").get_data(as_text=True)
    assert "ถูกระงับชั่วคราว" in page and "09:05 น." in page  # the fixed clock reads 09:00 Bangkok
    locked = log_in(client, person)  # even the right password is refused while locked
    assert locked.status_code == 401 and "ถูกระงับชั่วคราว" in locked.get_data(as_text=True)
    clock.advance(minutes=5, seconds=1)
    assert log_in(client, person).status_code == 302


def test_a_good_log_in_resets_the_count(client, person):
    for _ in range(4):
        log_in(client, person, "wrong")
    assert log_in(client, person).status_code == 302
    post_form(client, "/logout", {}, page="/")
    for _ in range(4):
        assert log_in(client, person, "wrong").status_code == 401
    assert log_in(client, person).status_code == 302


def test_forms_without_the_csrf_token_are_refused_with_a_thai_page(client, person):
    response = client.post("/login", data={"username": person, "password": PASSWORD})
    assert response.status_code == 400
    assert "แบบฟอร์มนี้หมดอายุ" in response.get_data(as_text=True)
    response = client.post("/login", data={"username": person, "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # not logged in


def test_the_api_still_takes_bearer_tokens_without_csrf(client, org):
    response = client.post("/api/v1/plans", headers=org.headers("support_committee"),
                           json={"organization": org.code, "fiscal_year": 2564, "budget_announced_on": "2020-09-20"})
    assert response.status_code == 201


def test_log_out_needs_a_post_with_the_token(client, person):
    log_in(client, person)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200
    assert post_form(client, "/logout", {}, page="/").status_code == 302
    assert client.get("/").status_code == 302


def test_next_only_goes_to_this_site(client, person):
    token = csrf_token(client)
    response = client.post("/login?next=//evil.example/", data={"username": person, "password": PASSWORD,
                                                                 "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_changing_the_password_ends_other_sessions_and_lifts_a_lock(ctx, client, person):
    log_in(client, person)
    assert client.get("/").status_code == 200
    other = client.application.test_client()
    for _ in range(5):
        log_in(other, person, "wrong")
    admin.set_password(ctx, person, "a new password")
    assert client.get("/").status_code == 302
    assert log_in(client, person, "a new password").status_code == 302
    with pytest.raises(Invalid):
        admin.set_password(ctx, person, "short")
