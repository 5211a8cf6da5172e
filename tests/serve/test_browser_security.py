"""Hostile email in the real browser. The archive (tests/serve/fixtures/hostile) carries
<script>, onerror=, javascript: links, CSS expressions and url()s, remote images, an iframe,
an SVG onload and a meta refresh, in the body, the subject and the sender's name. It goes the
whole way: `tonewatch load` ingests and classifies it with a real (tiny) model, `tonewatch
serve` shows it, headless Chromium renders it. Nothing may run and nothing may be fetched."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, start_server, stop_server, tonewatch

HOSTILE = Path(__file__).parent / "fixtures" / "hostile"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # trains the tiny model
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (scripts/install.sh installs it)"
    ),
]


@pytest.fixture(scope="module")
def live(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("hostile")
    db = f"sqlite:///{folder / 'store.db'}"
    loaded = tonewatch("load", str(HOSTILE), "--model", str(tiny_model), "--db", db)
    assert loaded.returncode == 0, loaded.stderr
    assert re.search(r"added\s+1\n", loaded.stdout), loaded.stdout
    made = tonewatch("user", "add", "rita", "--db", db, env={"TONEWATCH_PASSWORD": PASSWORD})
    assert made.returncode == 0, made.stderr
    server = start_server(db, folder)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def watched(browser, live):
    """A page whose every request, dialog and console message is recorded; requests to any
    host but the server are answered with an error (and recorded)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requests, page.foreign, page.dialogs, page.console = [], [], [], []
    own = urlsplit(live.url).netloc

    def route(route) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            page.foreign.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: page.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: page.console.append(f"pageerror: {e}"))
    page.goto(live.url + "/login")
    page.fill("input[name=name]", "rita")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(live.url + "/clients")
    yield page
    context.close()


def _open_conversation(page) -> None:
    page.locator("table.clients a").first.click()
    page.wait_for_url("**/clients/*")
    page.locator("#conversations ~ table a").first.click()
    page.wait_for_url("**/conversations/*")
    page.wait_for_load_state("load")


def test_browser_hostile_email_renders_inert(watched, live, artifacts_dir) -> None:
    page = watched
    assert page.locator("table.clients a").first.inner_text().startswith("<img src=x onerror=")
    _open_conversation(page)
    page.wait_for_timeout(500)  # give anything that might fire (onerror, refresh) its chance
    main = page.locator("main")
    assert page.locator("h1").inner_text() == "<script>alert('subject')</script> Refund NOW"
    client_turn = page.locator("article.turn.role-client .turn-text").inner_text()
    for literal in (
        "<script>window.__pwned = 1; alert('script')</script>",
        '<img src="http://evil.test/pixel.png" onerror="window.__pwned = 2">',
        "<a href=\"javascript:alert('link')\">my complaint</a>",
        "width: expression(alert('css'))",
        '<meta http-equiv="refresh" content="0; url=http://evil.test/">',
    ):
        assert literal in client_turn
    assert page.locator("article.turn .speaker").first.inner_text().startswith("<img src=x")
    for tag in ("script", "img", "iframe", "svg", "style", "meta", "a[href^='javascript']"):
        assert main.locator(tag).count() == 0, tag
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert page.foreign == [] and all(u.startswith(live.url) for u in page.requests)
    assert page.console == []  # not even a CSP report: nothing tried to run or load
    assert page.url.startswith(live.url + "/conversations/")  # no meta refresh happened
    page.screenshot(path=artifacts_dir / "serve-hostile-email.png", full_page=True)


def test_browser_csp_stops_markup_that_slipped_through(watched, live) -> None:
    """Defence in depth: were markup ever to reach the page, the CSP would stop it."""
    page = watched
    _open_conversation(page)
    page.evaluate(
        """() => {
        document.querySelector('main').insertAdjacentHTML('beforeend',
          '<img id="x1" src="http://evil.test/slipped.png">' +
          '<img id="x2" src="x" onerror="window.__pwned = 5">' +
          '<p id="x3" style="background: url(http://evil.test/bg.png)">styled</p>');
        const script = document.createElement('script');
        script.textContent = 'window.__pwned = 6';
        document.body.appendChild(script);
        }"""
    )
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    assert page.foreign == [] and page.dialogs == []
    refused = [line for line in page.console if "Content Security Policy" in line]
    assert any("evil.test/slipped.png" in line for line in refused)
    assert any("inline" in line for line in refused)
    assert page.locator("#x3").evaluate("p => getComputedStyle(p).backgroundImage") == "none"
