"""Helpers for page tests: users with passwords, CSRF tokens read from the pages, logging in."""

from __future__ import annotations

import re

from service.commands import admin

PASSWORD = "correct horse 2563"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_person(ctx, username, org_code, roles, display_name=""):
    admin.add_user(ctx, username, org_code, list(roles), PASSWORD, display_name or username)
    return username


def csrf_token(client, path="/login") -> str:
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


def post_form(client, path, data, page=None):
    """POST a form the way a browser does: with the CSRF token of the page it came from."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page or path)})


def errors_beside(html: str) -> dict[str, str]:
    """Field id -> the error shown beside it."""
    return dict(re.findall(r'<p class="error" id="([^"]+)-error">([^<]+)</p>', html))
