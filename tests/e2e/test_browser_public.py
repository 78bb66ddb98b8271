"""A citizen with a phone in a real browser: the public notice board's index, the organization's
board, the announced plan's page and the verify page, each checked with axe-core (no serious or
critical violation), working without JavaScript. Screenshots go to $PHAEN_TEST_OUTPUT."""

from __future__ import annotations

import pytest

from ..integration.procedure import Procedure
from .browser import needs_chromium, playwright_api, serving

pytestmark = needs_chromium


@pytest.fixture
def server(ctx, client, org):
    run = Procedure(client, org)
    plan_id = run.start()["id"]
    run.through_announcement(plan_id)
    with serving(ctx) as base:
        yield base, plan_id


def serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in found if v["impact"] in ("serious", "critical")]


def test_a_citizen_on_a_phone_finds_the_announced_plan_and_its_verify_page(browser, server, org, shots):
    base, plan_id = server
    expect = playwright_api.expect
    # without JavaScript: the board is plain pages and links
    plain = browser.new_context(viewport={"width": 360, "height": 740}, locale="th-TH", java_script_enabled=False)
    page = plain.new_page()
    page.goto(f"{base}/public/")
    page.get_by_role("link", name="เทศบาลตำบลกระดังงา").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("เทศบาลตำบลกระดังงา")
    board = page.url
    page.locator("main").get_by_role("link", name="แผนการดำเนินงาน").first.click()
    expect(page.locator("main")).to_contain_text("ปีงบประมาณ พ.ศ. 2564")
    expect(page.locator("main")).to_contain_text("SHA-256")
    item = page.url
    plain.close()

    # the same pages checked with axe-core (which runs as a script), on a phone's width
    checked = browser.new_context(viewport={"width": 360, "height": 740}, locale="th-TH")
    page = checked.new_page()
    found, widths = {}, {}
    for name, url in (("index", f"{base}/public/"), ("board", board), ("item", item),
                      ("verify", f"{base}/public/verify/{plan_id}/announcement")):
        page.goto(url)
        found[name] = serious(page)
        widths[name] = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=shots / f"public-{name}-phone.png", full_page=True)
    checked.close()
    assert not any(found.values()), found
    assert all(width <= 360 for width in widths.values()), f"a page scrolls sideways on a phone: {widths}"
