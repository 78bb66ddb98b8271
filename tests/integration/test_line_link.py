"""Linking a LINE account by a one-time code (issue 18): the settings page shows a code (kept only
as a digest, valid 15 minutes, used once, replaced by a new one); the person sends it to the
organization's LINE Official Account; LINE's signed webhook links their LINE user id; a bad or
missing signature changes nothing, and no answer says whether a code existed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import pytest
from sqlalchemy import func, select

from service.commands import notices
from service.models import LineLinkCode, NoticeSetting, User

from .web import add_person, log_in, post_form

SECRET = "line-channel-secret"
LINE_USER = "U" + "0123456789abcdef" * 2
CODE = re.compile(r'aria-label="รหัสเชื่อมบัญชี LINE"><strong>([A-Z0-9]{4}-[A-Z0-9]{4})</strong>')


@pytest.fixture
def linking(ctx, settings, org):
    settings.line_secret, settings.line_token = SECRET, "channel-token"
    add_person(ctx, "somsri", org.code, ["support_committee"], "คุณสมศรี")
    return ctx


def signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook(client, text: str, user: str = LINE_USER, secret: str | None = SECRET, kind: str = "message"):
    event = {"type": kind, "mode": "active", "timestamp": 1700000000000, "webhookEventId": "01H",
             "source": {"type": "user", "userId": user}, "replyToken": "r" * 32,
             "deliveryContext": {"isRedelivery": False}}
    if kind == "message":
        event["message"] = {"type": "text", "id": "4680", "quoteToken": "q", "text": text}
    body = json.dumps({"destination": "U" + "f" * 32, "events": [event]}).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Line-Signature"] = signature(body, secret)
    return client.post("/line/webhook", data=body, headers=headers)


def linked(ctx, username="somsri"):
    with ctx.db.read() as session:
        return session.scalar(select(NoticeSetting.line_user_id).join(User, User.id == NoticeSetting.user_id)
                              .where(User.username == username))


def code_from_page(web) -> str:
    page = post_form(web, "/account/notifications/line-code", {}, "/account/notifications")
    assert page.status_code == 200
    match = CODE.search(page.get_data(as_text=True))
    assert match, "no code on the page"
    return match.group(1)


def test_a_code_from_the_settings_page_sent_to_line_links_the_account_and_unlinks(linking, app):
    web = app.test_client()
    assert log_in(web, "somsri").status_code == 302
    assert "ยังไม่ได้เชื่อมบัญชี" in web.get("/account/notifications").get_data(as_text=True)
    code = code_from_page(web)
    with linking.db.read() as session:  # only its digest is kept
        stored = session.scalars(select(LineLinkCode.digest)).one()
    assert code.replace("-", "") not in stored and code not in stored
    anonymous = app.test_client()  # LINE has no session and no CSRF token: the signature stands in
    answer = webhook(anonymous, f" {code.lower()} ")  # typed on a phone: spaces, small letters
    assert answer.status_code == 200 and answer.get_json() == {}
    assert linked(linking) == LINE_USER
    page = web.get("/account/notifications").get_data(as_text=True)
    assert "เชื่อมบัญชีแล้ว" in page and "ยกเลิกการเชื่อมบัญชี LINE" in page
    assert webhook(anonymous, code, user="U" + "9" * 32).status_code == 200  # used once
    assert linked(linking) == LINE_USER
    assert post_form(web, "/account/notifications/line-unlink", {}, "/account/notifications").status_code == 302
    assert linked(linking) is None
    assert "ยังไม่ได้เชื่อมบัญชี" in web.get("/account/notifications").get_data(as_text=True)


def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(linking, app):
    actor = _actor(linking)
    code = notices.new_line_code(linking, actor)["code"]
    client = app.test_client()
    assert webhook(client, code, secret=None).status_code == 401
    assert webhook(client, code, secret="another-secret").status_code == 401
    body = b'{"destination":"x","events":[]}'
    assert client.post("/line/webhook", data=body, headers={"X-Line-Signature": "ไม่ใช่"}).status_code == 401
    assert client.post("/line/webhook", data=body + b" ", headers={"X-Line-Signature": signature(body)}
                       ).status_code == 401  # the signature is of the raw body, byte for byte
    assert linked(linking) is None
    with linking.db.read() as session:
        assert session.scalar(select(func.count()).select_from(LineLinkCode)) == 1  # the code still waits
    assert webhook(client, code).status_code == 200 and linked(linking) == LINE_USER


def test_a_webhook_without_a_secret_set_believes_no_one(linking, app, settings):
    code = notices.new_line_code(linking, _actor(linking))["code"]
    settings.line_secret = ""
    assert webhook(app.test_client(), code, secret="").status_code == 401
    assert linked(linking) is None


def test_signed_nonsense_is_400_and_too_large_is_413_and_neither_links(linking, app):
    client = app.test_client()
    for body in (b"not json", b"[]", b'{"events": "x"}', "{\"events\": [\"ไม่ใช่\"]}".encode()):
        answer = client.post("/line/webhook", data=body, headers={"X-Line-Signature": signature(body)})
        assert answer.status_code in (200, 400), body
        assert answer.status_code == 400 or body.startswith(b"{\"events\": [")
    large = json.dumps({"events": [], "pad": "x" * 70_000}).encode()
    assert client.post("/line/webhook", data=large, headers={"X-Line-Signature": signature(large)}
                       ).status_code == 413
    odd = [{"type": "message", "source": {"type": "group", "groupId": "C1", "userId": LINE_USER},
            "message": {"type": "text", "text": "x"}},
           {"type": "message", "source": {"type": "user", "userId": "not-a-line-user"},
            "message": {"type": "text", "text": "ABCD-EFGH"}},
           {"type": "message", "source": {"type": "user", "userId": LINE_USER}, "message": {"type": "sticker"}},
           {"type": "follow", "source": {"type": "user", "userId": LINE_USER}}, None, 7]
    body = json.dumps({"destination": "U1", "events": odd}).encode()
    assert client.post("/line/webhook", data=body, headers={"X-Line-Signature": signature(body)}).status_code == 200
    assert linked(linking) is None


def test_the_answer_is_the_same_whether_or_not_a_code_exists(linking, app, clock):
    client = app.test_client()
    code = notices.new_line_code(linking, _actor(linking))["code"]
    unknown = webhook(client, "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY")
    clock.advance(minutes=16)
    expired = webhook(client, code)  # a code is valid 15 minutes
    answers = {(r.status_code, r.get_data()) for r in (unknown, expired)}
    assert len(answers) == 1 and linked(linking) is None
    fresh = notices.new_line_code(linking, _actor(linking))["code"]
    assert webhook(client, fresh).status_code == 200 and linked(linking) == LINE_USER
    assert {(webhook(client, "AAAA-AAAA").status_code, webhook(client, "AAAA-AAAA").get_data())} == answers


def test_a_new_code_invalidates_the_one_before(linking, app):
    actor = _actor(linking)
    first = notices.new_line_code(linking, actor)["code"]
    second = notices.new_line_code(linking, actor)["code"]
    client = app.test_client()
    webhook(client, first)
    assert linked(linking) is None or first == second
    webhook(client, second)
    assert linked(linking) == LINE_USER


def test_blocking_the_official_account_unlinks_and_the_pages_need_a_session(linking, app):
    code = notices.new_line_code(linking, _actor(linking))["code"]
    client = app.test_client()
    webhook(client, code)
    assert linked(linking) == LINE_USER
    webhook(client, "", kind="unfollow")
    assert linked(linking) is None
    for path in ("/account/notifications/line-code", "/account/notifications/line-unlink"):
        assert client.post(path).status_code == 400  # no session: no CSRF token, nothing changes
    with linking.db.read() as session:
        assert session.scalar(select(func.count()).select_from(LineLinkCode)) == 0


def _actor(ctx, username="somsri"):
    from service import queries
    return queries.actor_named(ctx, username)
