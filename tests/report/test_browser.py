"""The pages in headless Chromium: they render offline, without console errors, and message
text containing markup stays inert."""

from __future__ import annotations

from pathlib import Path

import pytest

from tonewatch.report.html import client_slug

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (scripts/install.sh installs it)"
    ),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.problems = problems
    yield page
    context.close()


def test_browser_index_ranks_and_links_to_client_pages(page, report_dir, artifacts_dir) -> None:
    page.goto((report_dir / "index.html").as_uri())
    rows = page.locator("tbody tr")
    assert rows.count() == 7
    assert rows.first.locator("a").inner_text() == "Marek Kowalski"
    page.screenshot(path=artifacts_dir / "report-index.png", full_page=True)
    rows.first.locator("a").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith("Marek Kowalski")
    assert page.problems == []


def test_browser_client_page_shows_timeline_and_marked_evidence(
    page, report_dir, scenarios, artifacts_dir
) -> None:
    page.goto((report_dir / "clients" / f"{client_slug(scenarios.RISING)}.html").as_uri())
    plot = page.locator("figure svg")
    assert plot.count() == 1 and plot.bounding_box()["width"] > 400
    marks = page.locator("article mark")
    assert marks.count() == 10
    assert "bandą idiotów" in marks.all_inner_texts()
    assert page.get_by_text("Abuse is a pattern").is_visible()
    page.screenshot(path=artifacts_dir / "report-client-rising.png", full_page=True)
    assert page.problems == []


def test_browser_hostile_text_is_inert(page, report_dir, artifacts_dir) -> None:
    page.goto((report_dir / "clients" / f"{client_slug('mallory@example.com')}.html").as_uri())
    assert page.evaluate("window.__pwned") is None
    assert page.locator("script, img, main b").count() == 0
    text = page.locator("article p.turn").first.inner_text()
    assert "<script>window.__pwned = 1</script>" in text
    assert page.locator("h1").inner_text().startswith("<b>Mallory</b>")
    page.screenshot(path=artifacts_dir / "report-client-hostile.png", full_page=True)
    assert page.problems == []
