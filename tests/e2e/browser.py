"""What the browser tests share: Debian's chromium through Playwright, an application served on a
free port in a thread (the fixtures `browser` and `shots` are in conftest.py)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from service.app import create_app
from service.context import Context

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
PASSWORD = "kradangnga-2563"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@contextlib.contextmanager
def serving(ctx: Context) -> Iterator[str]:
    """The application on a free local port for the duration of the block; its base URL."""
    http = make_server("127.0.0.1", 0, create_app(context=ctx), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join()


def log_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the log-in page, as a person does."""
    page.goto(f"{base}/login")
    page.get_by_label("ชื่อผู้ใช้").fill(username)
    page.get_by_label("รหัสผ่าน").fill(password)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
