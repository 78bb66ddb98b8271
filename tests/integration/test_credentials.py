"""Credentials end: API tokens expire and can be revoked (console, API, the user's own page), a new
password or a deactivation ends every session and token, logging out ends the session on the
server, and the log-in page never tells a known user name from an unknown one, and throttles a
client address that fails too often."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select

from service.app import create_app
from service.cli import main as cli
from service.commands import admin
from service.config import Settings
from service.context import Context
from service.errors import Invalid, NotFound
from service.models import ApiToken

from .web import PASSWORD, add_person, csrf_token, log_in, post_form

START = {"organization": "kradangnga", "fiscal_year": 2564, "budget_announced_on": "2020-09-20"}


@pytest.fixture
def person(ctx, org):
    return add_person(ctx, "somchai", org.code, ["support_committee"], "นายสมชาย ใจดี")


@pytest.fixture
def ninety_days(ctx):
    """The default lifetime, whatever the suite's fixtures give their own tokens."""
    ctx.settings.token_lifetime = timedelta(days=90)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def inbox(client, token: str):
    return client.get("/api/v1/tasks", headers=bearer(token))


def token_rows(ctx) -> dict[int, tuple]:
    with ctx.db.read() as session:
        return {t.id: (t.revoked_at, t.revoked_by, t.expires_at) for t in session.scalars(select(ApiToken))}


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str):
    """A fresh browser sending a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


# --- Expiry --------------------------------------------------------------------------------
def test_a_token_is_refused_from_the_end_of_its_lifetime_like_an_unknown_one(ctx, client, org, clock, ninety_days):
    admin.revoke_tokens_of(ctx, "kradangnga-support_committee")  # the fixture's, of whatever lifetime
    token = admin.issue_token(ctx, "kradangnga-support_committee")
    unknown = inbox(client, "phaen_" + "x" * 43)
    assert unknown.status_code == 401
    clock.advance(days=90, seconds=-1)
    assert inbox(client, token).status_code == 200
    clock.advance(seconds=1)
    expired = inbox(client, token)
    assert (expired.status_code, expired.get_json()) == (401, unknown.get_json())
    assert expired.mimetype == "application/problem+json"
    # every place that takes a bearer token refuses it
    assert client.post("/api/v1/plans", headers=bearer(token), json=START).status_code == 401
    assert client.get("/plans/1/record.pdf", headers=bearer(token)).status_code == 401
    assert [t["state"] for t in admin.tokens_of(ctx, "kradangnga-support_committee")] == ["expired", "revoked"]


def test_the_lifetime_is_a_setting_and_each_token_keeps_its_own(ctx, client, person, clock):
    assert Settings.from_env({}).token_lifetime == timedelta(days=90)
    assert Settings.from_env({"PHAEN_TOKEN_DAYS": "7"}).token_lifetime == timedelta(days=7)
    for bad in ("0", "-3", "seven", "1e3", "๗"):
        with pytest.raises(ValueError, match="PHAEN_TOKEN_DAYS"):
            Settings.from_env({"PHAEN_TOKEN_DAYS": bad})
    ctx.settings.token_lifetime = timedelta(days=1)
    short = admin.issue_token(ctx, person)
    long = admin.issue_token(ctx, person, days=30)
    for days in (0, 3651, -1):
        with pytest.raises(Invalid):
            admin.issue_token(ctx, person, days=days)
    assert len(token_rows(ctx)) == 8  # the org's six and these two: a refused issue stores nothing
    ctx.settings.token_lifetime = timedelta(days=365)  # changing the setting moves no issued token
    clock.advance(days=1)
    assert inbox(client, short).status_code == 401
    assert inbox(client, long).status_code == 200
    clock.advance(days=29)
    assert inbox(client, long).status_code == 401


# --- Listing and revoking through the API ---------------------------------------------------
def test_the_api_lists_the_callers_own_tokens_without_their_secret(ctx, client, org, person, ninety_days):
    second = admin.issue_token(ctx, "kradangnga-executive")
    response = client.get("/api/v1/tokens", headers=org.headers("executive"))
    assert response.status_code == 200
    listed = response.get_json()["tokens"]
    assert [t["hint"] for t in listed] == [second[-4:], org.tokens["executive"][-4:]]
    assert all(t["state"] == "active" and t["revoked_at"] is None for t in listed)
    assert listed[0]["created_at"] == "2020-09-21T02:00:00+00:00"  # 09:00 Bangkok
    assert listed[0]["expires_at"] == "2020-12-20T02:00:00+00:00"  # 90 days on
    body = response.get_data(as_text=True)
    assert second not in body and org.tokens["executive"] not in body and "hash" not in body
    mine = {t["id"] for t in listed}
    others = client.get("/api/v1/tokens", headers=org.headers("planning_office")).get_json()["tokens"]
    assert len(others) == 1 and not mine & {t["id"] for t in others}
    assert client.get("/api/v1/tokens").status_code == 401


def test_revoking_ones_own_token_ends_it_and_again_changes_nothing(ctx, client, org, clock):
    headers = org.headers("executive")
    token_id = client.get("/api/v1/tokens", headers=headers).get_json()["tokens"][0]["id"]
    spare = admin.issue_token(ctx, "kradangnga-executive")
    response = client.delete(f"/api/v1/tokens/{token_id}", headers=headers)
    assert response.status_code == 200
    revoked = response.get_json()
    assert revoked["state"] == "revoked" and revoked["revoked_by"] == "kradangnga-executive"
    assert inbox(client, org.tokens["executive"]).status_code == 401
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code == 401  # it was this one
    clock.advance(minutes=5)
    again = client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(spare))
    assert again.status_code == 200 and again.get_json() == revoked  # the first revocation stands
    assert inbox(client, spare).status_code == 200


def test_another_users_token_is_not_found_not_forbidden_and_stays_valid(ctx, client, org, other_org):
    target = client.get("/api/v1/tokens", headers=org.headers("executive")).get_json()["tokens"][0]["id"]
    before = token_rows(ctx)
    missing = client.delete("/api/v1/tokens/999999", headers=org.headers("support_committee"))
    assert missing.status_code == 404
    for caller in (org.headers("support_committee"), org.headers("admin"), other_org.headers("admin")):
        refused = client.delete(f"/api/v1/tokens/{target}", headers=caller)
        assert (refused.status_code, refused.get_json()) == (404, missing.get_json())  # as if there were none
    assert token_rows(ctx) == before
    assert inbox(client, org.tokens["executive"]).status_code == 200


def test_a_national_admin_may_revoke_anyones_token(ctx, client, org):
    national = admin.add_user(ctx, "dla-admin", None, ["admin"], with_token=True)
    target = client.get("/api/v1/tokens", headers=org.headers("executive")).get_json()["tokens"][0]["id"]
    response = client.delete(f"/api/v1/tokens/{target}", headers=bearer(national))
    assert response.status_code == 200 and response.get_json()["revoked_by"] == "dla-admin"
    assert inbox(client, org.tokens["executive"]).status_code == 401


@pytest.mark.parametrize("token_id", ["abc", "0", "-1", "1.0", "99999999999999999999999", "１", "²", "1%20"])
def test_a_bad_token_id_is_not_found_and_changes_nothing(ctx, client, org, token_id):
    before = token_rows(ctx)
    response = client.delete(f"/api/v1/tokens/{token_id}", headers=org.headers("admin"))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert "โทเค็น" in response.get_json()["detail"]
    assert token_rows(ctx) == before


# --- A new password, a deactivation ---------------------------------------------------------
def test_a_new_password_ends_every_token_and_every_session(ctx, app, client, person):
    token = admin.issue_token(ctx, person)
    log_in(client, person)
    cookie = session_cookie(client)
    other = app.test_client()
    log_in(other, person)
    admin.set_password(ctx, person, "a brand new password")
    assert inbox(client, token).status_code == 401
    assert not signed_in(client) and not signed_in(other)
    assert not signed_in(replay(app, cookie))
    assert {by for _, by, _ in token_rows(ctx).values() if by} == {"operator"}
    assert log_in(client, person, PASSWORD).status_code == 401
    assert log_in(client, person, "a brand new password").status_code == 302
    assert inbox(client, admin.issue_token(ctx, person)).status_code == 200  # new tokens work


def test_a_deactivated_user_loses_tokens_and_sessions_and_answers_like_an_unknown_name(ctx, app, client, person):
    token = admin.issue_token(ctx, person)
    log_in(client, person)
    cookie = session_cookie(client)
    admin.set_active(ctx, person, False)
    assert inbox(client, token).status_code == 401
    assert not signed_in(client) and not signed_in(replay(app, cookie))
    fresh = app.test_client()
    refused, unknown = log_in(fresh, person), log_in(fresh, "somchaj")
    assert refused.status_code == unknown.status_code == 401
    assert page_text(refused, person) == page_text(unknown, "somchaj")
    admin.set_active(ctx, person, True)
    assert inbox(client, token).status_code == 401  # ended tokens stay ended
    assert log_in(fresh, person).status_code == 302
    with pytest.raises(NotFound):
        admin.set_active(ctx, "nobody", False)


# --- Sessions ended on the server -----------------------------------------------------------
def test_a_session_cookie_replayed_after_logout_signs_no_one_in(app, client, person):
    log_in(client, person)
    cookie = session_cookie(client)
    assert signed_in(replay(app, cookie))
    other = app.test_client()
    log_in(other, person)
    assert post_form(client, "/logout", {}, page="/").status_code == 302
    thief = replay(app, cookie)
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert signed_in(other)  # logging out here leaves the user's other browser signed in


def test_a_forged_or_old_style_session_id_signs_no_one_in(app, client, person):
    log_in(client, person)
    for forged in ("1:0123456789abcdef", "x:y", "1:", "99999999999999999999999:key", ""):
        with client.session_transaction() as session:
            session["_user_id"] = forged
        assert not signed_in(client)


# --- The account page -----------------------------------------------------------------------
def test_the_account_page_lists_ones_tokens_and_revokes_one_with_the_csrf_token(ctx, client, org, person):
    token = admin.issue_token(ctx, person)
    other = admin.issue_token(ctx, person)
    log_in(client, person)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/account"' in home and "บัญชีของฉัน" in home
    page = client.get("/account").get_data(as_text=True)
    assert token[-4:] in page and other[-4:] in page and token not in page and other not in page
    assert page.count(">ยกเลิก</button>") == 2 and "ใช้งานได้" in page
    first_id = admin.tokens_of(ctx, person)[-1]["id"]  # newest first: the first issued is last
    assert client.post(f"/account/tokens/{first_id}/revoke").status_code == 400  # no CSRF token
    assert inbox(client, token).status_code == 200
    done = post_form(client, f"/account/tokens/{first_id}/revoke", {}, page="/account")
    assert done.status_code == 302 and done.headers["Location"] == "/account"
    assert inbox(client, token).status_code == 401 and inbox(client, other).status_code == 200
    page = client.get("/account").get_data(as_text=True)
    assert "ยกเลิกแล้ว" in page and page.count(">ยกเลิก</button>") == 1


def test_the_account_page_cannot_revoke_another_users_token(ctx, client, org, person):
    log_in(client, person)
    target = min(token_rows(ctx))  # one of the organization's tokens
    response = post_form(client, f"/account/tokens/{target}/revoke", {}, page="/account")
    assert response.status_code == 404 and "โทเค็น" in response.get_data(as_text=True)
    assert post_form(client, "/account/tokens/abc/revoke", {}, page="/account").status_code == 404
    assert all(row[0] is None for row in token_rows(ctx).values())
    assert client.application.test_client().get("/account").status_code == 302  # signed in only


def test_logging_out_everywhere_ends_every_browser_but_not_the_tokens(ctx, app, client, person):
    token = admin.issue_token(ctx, person)
    log_in(client, person)
    other = app.test_client()
    log_in(other, person)
    assert post_form(client, "/account/sessions/end", {}, page="/account").status_code == 302
    assert not signed_in(client) and not signed_in(other)
    assert inbox(client, token).status_code == 200


# --- The console ----------------------------------------------------------------------------
def test_the_cli_lists_and_revokes_a_users_tokens(ctx, org, tmp_path, monkeypatch, ninety_days):
    monkeypatch.setenv("PHAEN_DATABASE_URL", ctx.db.url)
    monkeypatch.setenv("PHAEN_INSTANCE_PATH", str(tmp_path / "instance"))
    admin.revoke_tokens_of(ctx, "kradangnga-executive")
    admin.issue_token(ctx, "kradangnga-executive")  # 90 days from the tests' clock in 2020
    runner = CliRunner()
    issued = runner.invoke(cli, ["user", "token", "kradangnga-executive", "--days", "30"])
    assert issued.exit_code == 0, issued.output
    fresh = issued.output.strip().splitlines()[-1]
    listed = runner.invoke(cli, ["user", "tokens", "kradangnga-executive"])
    assert listed.exit_code == 0 and fresh not in listed.output
    lines = listed.output.strip().splitlines()
    assert len(lines) == 3 and f"...{fresh[-4:]}" in lines[0] and lines[0].endswith("\tactive")
    assert lines[1].endswith("\texpired")  # issued on the tests' clock in 2020; the console reads today's
    assert "\trevoked at " in lines[2] and lines[2].endswith(" by operator")
    first_id = lines[1].split("\t")[0]
    for args in ([], ["--all", "--token", first_id]):
        usage = runner.invoke(cli, ["user", "revoke", "kradangnga-executive", *args])
        assert usage.exit_code == 2
    mismatch = runner.invoke(cli, ["user", "revoke", "kradangnga-admin", "--token", first_id])
    assert mismatch.exit_code == 1 and "ไม่พบโทเค็น" in mismatch.output
    one = runner.invoke(cli, ["user", "revoke", "kradangnga-executive", "--token", first_id])
    assert one.exit_code == 0 and "1 token(s)" in one.output
    every = runner.invoke(cli, ["user", "revoke", "kradangnga-executive", "--all"])
    assert every.exit_code == 0 and "1 token(s)" in every.output  # the one left: the fresh one
    assert runner.invoke(cli, ["user", "revoke", "kradangnga-executive", "--all"]).output.strip() == \
        "0 token(s) of kradangnga-executive revoked"
    assert all(by == "operator" for i, (_, by, _) in token_rows(ctx).items() if by)
    unknown = runner.invoke(cli, ["user", "tokens", "nobody"])
    assert unknown.exit_code == 1 and "ไม่พบผู้ใช้" in unknown.output and "Traceback" not in unknown.output
    assert runner.invoke(cli, ["user", "token", "kradangnga-executive", "--days", "0"]).exit_code == 1


# --- The log-in page tells no name from another -----------------------------------------------
CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]+"')


def page_text(response, typed: str) -> str:
    """The page with the CSRF token (a new one each time) and the name typed back into the form
    taken out: what is left must not depend on which name it was."""
    return CSRF_VALUE.sub("CSRF", response.get_data(as_text=True)).replace(f'value="{typed}"', 'value="NAME"')


def test_unknown_and_known_names_answer_the_same_bytes_through_the_lock_out(app, person, clock):
    ours, theirs = app.test_client(), app.test_client()  # two browsers with the same history, one per name
    for attempt in range(1, 8):
        known = log_in(ours, person, "wrong password")
        unknown = log_in(theirs, "somchaj", "wrong password")
        assert known.status_code == unknown.status_code == 401, attempt
        assert page_text(known, person) == page_text(unknown, "somchaj"), attempt
        assert sorted(known.headers.keys()) == sorted(unknown.headers.keys())  # a cookie's value may differ
        assert known.headers["Content-Length"] == unknown.headers["Content-Length"]
    assert "ถูกระงับชั่วคราว" in page_text(known, person) and "09:05 น." in page_text(known, person)
    locked = log_in(ours, person, PASSWORD)  # the right password while the name is locked
    assert locked.status_code == 401 and page_text(locked, person) == page_text(unknown, "somchaj")
    clock.advance(minutes=5, seconds=1)
    first_known, first_unknown = log_in(ours, person, "wrong"), log_in(theirs, "somchaj", "wrong")
    assert "หากผิดอีก 4 ครั้ง" in page_text(first_known, person)
    assert page_text(first_known, person) == page_text(first_unknown, "somchaj")
    assert log_in(ours, person).status_code == 302


def test_a_name_typed_with_spaces_or_too_long_counts_as_the_same_or_an_unknown_name(client, person):
    for _ in range(5):
        log_in(client, f"  {person} ", "wrong")
    assert "ถูกระงับชั่วคราว" in log_in(client, person).get_data(as_text=True)
    long_name = "ก" * 5000
    assert log_in(client, long_name, "x").status_code == 401


# --- Per-address throttling -----------------------------------------------------------------
def log_in_from(client, address: str, username: str, password: str = "wrong", **headers):
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


THROTTLED = "มีการเข้าสู่ระบบไม่สำเร็จจากเครื่องนี้หลายครั้งเกินไป"


def test_one_address_spraying_many_names_is_throttled_with_429_on_every_node(ctx, settings, clock, client, person):
    ctx.settings.login_throttle_failures = 3
    for name in ("alice", "bob", person):
        assert log_in_from(client, "203.0.113.9", name).status_code == 401
    for name, password in (("carol", "x"), (person, PASSWORD)):  # even the right password
        refused = log_in_from(client, "203.0.113.9", name, password)
        assert refused.status_code == 429
        assert THROTTLED in refused.get_data(as_text=True) and "09:15 น." in refused.get_data(as_text=True)
    assert page_text(log_in_from(client, "203.0.113.9", "carol"), "carol") == \
        page_text(log_in_from(client, "203.0.113.9", person), person)
    # another web node (its own app and connections, the same database) sees the same count
    node = Context.create(settings, clock)
    node.settings.login_throttle_failures = 3
    try:
        other = create_app(context=node, test_config={"TESTING": True}).test_client()
        assert log_in_from(other, "203.0.113.9", person, PASSWORD).status_code == 429
    finally:
        node.db.dispose()
    assert log_in_from(client, "198.51.100.7", person, PASSWORD).status_code == 302  # another address
    clock.advance(minutes=15)
    fresh = client.application.test_client()
    assert log_in_from(fresh, "203.0.113.9", person, PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_the_address_it_saw_counts_and_forged_ones_do_not(ctx, client, person):
    ctx.settings.login_throttle_failures = 2
    ctx.settings.trusted_proxies = 1
    for forged in ("10.0.0.1", "10.0.0.2"):  # the client writes what it likes on the left
        log_in_from(client, "192.0.2.1", "alice", **{"X-Forwarded-For": f"{forged}, 203.0.113.5"})
    refused = log_in_from(client, "192.0.2.1", person, PASSWORD, **{"X-Forwarded-For": "10.0.0.3, 203.0.113.5"})
    assert refused.status_code == 429
    ok = log_in_from(client, "192.0.2.1", person, PASSWORD, **{"X-Forwarded-For": "203.0.113.6"})
    assert ok.status_code == 302


def test_throttle_settings_are_read_and_checked(ctx):
    settings = Settings.from_env({"PHAEN_LOGIN_THROTTLE_FAILURES": "10", "PHAEN_LOGIN_THROTTLE_MINUTES": "5",
                                  "PHAEN_TRUSTED_PROXIES": "1"})
    assert (settings.login_throttle_failures, settings.login_throttle_window, settings.trusted_proxies) == \
        (10, timedelta(minutes=5), 1)
    with pytest.raises(ValueError, match="PHAEN_LOGIN_THROTTLE_FAILURES"):
        Settings.from_env({"PHAEN_LOGIN_THROTTLE_FAILURES": "0"})


# --- The migration --------------------------------------------------------------------------
def test_tokens_of_the_previous_release_survive_the_upgrade_with_a_grace_period(ctx, client, org):
    ctx.db.downgrade("0008")
    columns = {c["name"] for c in inspect(ctx.db.engine).get_columns("users")}
    assert {"failed_logins", "locked_until"} <= columns
    assert "expires_at" not in {c["name"] for c in inspect(ctx.db.engine).get_columns("api_tokens")}
    ctx.db.migrate()
    assert inbox(client, org.tokens["executive"]).status_code == 200
    listed = client.get("/api/v1/tokens", headers=org.headers("executive")).get_json()["tokens"]
    assert listed[0]["hint"] == "" and listed[0]["state"] == "active"


def test_concurrent_failures_on_one_name_and_address_lose_no_count_and_never_collide(ctx):
    """Eight web nodes' log-ins at once for one new name from one address: every one is an
    ordinary refusal (no duplicate-key error on the first count), and every one is counted."""
    import threading

    from service.errors import Unauthorized
    from service.models import LoginThrottle

    barrier, outcomes = threading.Barrier(8), []

    def attempt() -> None:
        barrier.wait()
        try:
            admin.sign_in(ctx, "sprayed-name", "wrong", "203.0.113.77")
        except Unauthorized as err:
            outcomes.append(type(err).__name__)
        except Exception as err:  # noqa: BLE001 - the point is that there are none
            outcomes.append(repr(err))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["Unauthorized"] * 8
    with ctx.db.read() as session:
        assert [row.failures for row in session.scalars(select(LoginThrottle))] == [8]
    with pytest.raises(Unauthorized, match="ถูกระงับชั่วคราว"):
        admin.sign_in(ctx, "sprayed-name", "wrong", "198.51.100.1")


def test_a_user_without_a_password_answers_like_an_unknown_name(app, org):
    ours, theirs = app.test_client(), app.test_client()
    for _ in range(6):  # the organization's users have tokens only
        known, unknown = log_in(ours, "kradangnga-executive", ""), log_in(theirs, "kradangnga-executivf", "")
        assert known.status_code == unknown.status_code == 401
        assert page_text(known, "kradangnga-executive") == page_text(unknown, "kradangnga-executivf")
