import os
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path, empty_database_url):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PHAEN_")}
    environment["PHAEN_INSTANCE_PATH"] = str(tmp_path / "instance")
    environment["PHAEN_DATABASE_URL"] = empty_database_url
    return environment


@pytest.fixture
def shots(tmp_path):
    """Where browser tests keep their screenshots: $PHAEN_TEST_OUTPUT, else the test's tmp folder."""
    folder = Path(os.environ.get("PHAEN_TEST_OUTPUT") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser():
    """Debian's chromium through Playwright (skipped where Playwright is not installed)."""
    from .browser import ARGS, CHROMIUM, playwright_api

    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()
