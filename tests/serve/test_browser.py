"""End to end: the store filled by `tonewatch load`, accounts by `tonewatch user add`, the real
server (`tonewatch serve`, uvicorn) on loopback, driven by headless Chromium (Playwright).
Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tonewatch.schema import LABELS
from tonewatch.train.gold import read_annotations

from .conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, start_server, stop_server, tonewatch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (scripts/install.sh installs it)"
    ),
]


@pytest.fixture(scope="module")
def live(tmp_path_factory, scored_files):
    folder = tmp_path_factory.mktemp("live")
    db = f"sqlite:///{folder / 'store.db'}"
    conversations, results = scored_files
    loaded = tonewatch("load", str(conversations), "--results", str(results), "--db", db)
    assert loaded.returncode == 0, loaded.stderr
    for name, role in (("adam", "admin"), ("rita", "reviewer")):
        made = tonewatch("user", "add", name, "--role", role, "--db", db,
                         env={"TONEWATCH_PASSWORD": PASSWORD})  # fmt: skip
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
def page(browser, live):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.problems = problems
    yield page
    context.close()


def log_in(page, live, name: str) -> None:
    page.goto(live.url + "/clients")
    assert page.url.startswith(live.url + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_url(live.url + "/clients")


def test_browser_login_filter_client_and_conversation(page, live, artifacts_dir) -> None:
    log_in(page, live, "rita")
    rows = page.locator("table.clients tbody tr")
    assert rows.count() == 6
    assert rows.first.locator("a").inner_text() == "Marek Kowalski"
    page.screenshot(path=artifacts_dir / "serve-clients.png", full_page=True)
    page.select_option("#f-family", "leverage")
    page.select_option("#f-channel", "call")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/clients?*family=leverage*")
    assert rows.count() == 1 and rows.first.locator("a").inner_text() == "Omar Haddad"
    page.screenshot(path=artifacts_dir / "serve-clients-filtered.png", full_page=True)
    rows.first.locator("a").click()
    page.wait_for_url("**/clients/*")
    assert page.locator("h1").inner_text().startswith("Omar Haddad")
    timeline = page.locator("figure.timeline img")
    timeline.scroll_into_view_if_needed()
    page.wait_for_load_state("load")  # images included
    assert timeline.evaluate("img => img.complete && img.naturalWidth") > 300
    assert page.locator("article.evidence mark").count() >= 3
    page.screenshot(path=artifacts_dir / "serve-client.png", full_page=True)
    page.locator("#conversations ~ table a").first.click()
    page.wait_for_url("**/conversations/*")
    assert page.locator("article.turn").count() >= 2
    assert page.locator("article.turn .speaker").first.inner_text() in ("Omar Haddad", "Anna Weber")
    scores = page.locator("details.scores").first
    scores.locator("summary").click()  # the full table is fetched when opened
    expect(scores.locator("table tr").nth(len(LABELS) - 1)).to_be_visible()
    page.screenshot(path=artifacts_dir / "serve-conversation.png", full_page=True)
    assert page.problems == []


def test_browser_review_by_keyboard_selection_and_export(
    page, live, artifacts_dir, tmp_path
) -> None:  # noqa: E501
    log_in(page, live, "adam")
    page.goto(live.url + "/clients?q=Marek")
    page.locator("table.clients a").first.click()
    page.wait_for_url("**/clients/*")
    # The newest thread: four abusive turns, all flags open.
    page.locator("#conversations ~ table a").first.click()
    page.wait_for_url("**/conversations/*")
    assert page.locator('li.flag[data-status="open"]').count() == 4
    page.keyboard.press("j")
    first = page.locator("li.flag").nth(0)
    assert first.evaluate("el => el === document.activeElement")
    page.keyboard.press("c")  # confirm; the focus moves on to the next open flag
    expect(page.locator('li.flag[data-status="confirmed"]')).to_have_count(1)
    expect(page.locator("li.flag").nth(1)).to_be_focused()
    page.keyboard.press("x")  # reject
    expect(page.locator('li.flag[data-status="rejected"]')).to_have_count(1)
    statuses = [f.get_attribute("data-status") for f in page.locator("li.flag").all()]
    assert statuses == ["confirmed", "rejected", "open", "open"]
    expect(page.locator("#open-count")).to_have_text("2")  # updated after the swap settles
    # The mouse works as well: reject the third flag with its button.
    page.locator("li.flag").nth(2).locator("button.reject").click()
    expect(page.locator('li.flag[data-status="rejected"]')).to_have_count(2)
    expect(page.locator("li.flag").nth(3)).to_be_focused()
    page.keyboard.press("c")  # the last open flag
    expect(page.locator('li.flag[data-status="confirmed"]')).to_have_count(2)
    expect(page.locator("#open-count")).to_have_text("0")
    page.screenshot(path=artifacts_dir / "serve-review-keyboard.png", full_page=True)

    # A missing flag: select words of a turn with the mouse, choose the label, add.
    turn = page.locator("article.turn.role-client").nth(3)
    text = turn.locator(".turn-text")
    full = text.inner_text()
    quote = full.split(",")[0] if "," in full else full.split()[0]
    box = text.evaluate(
        """(el, quote) => {
            const node = el.firstChild;  // the text before the first <mark>
            const range = document.createRange();
            const start = node.textContent.indexOf(quote);
            range.setStart(node, start); range.setEnd(node, start + quote.length);
            const rects = range.getClientRects();
            const a = rects[0], b = rects[rects.length - 1];
            return {x1: a.left + 1, y1: a.top + a.height / 2,
                    x2: b.right - 1, y2: b.top + b.height / 2};
        }""",
        quote,
    )  # noqa: E501
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=5)
    page.mouse.up()
    form = turn.locator("form.add-flag")
    assert form.locator("input[name=quote]").input_value() == quote
    assert form.locator("button.add").is_enabled()
    form.locator("select[name=label]").select_option("devaluation")
    form.locator("button.add").click()
    turn = page.locator("article.turn.role-client").nth(3)
    expect(turn.locator("text=added by a reviewer")).to_have_count(1)
    assert quote in turn.locator("mark").all_inner_texts()
    turn.locator("form.set-tone select").select_option("hostile")
    turn.locator("form.set-tone button").click()
    expect(turn.locator("details.history summary")).to_have_text("3 review actions")
    page.screenshot(path=artifacts_dir / "serve-review-added.png", full_page=True)

    # The audit log lists each action; the export holds the reviewed turns.
    page.goto(live.url + "/audit")
    expect(page.locator("table.audit tbody tr")).to_have_count(6)
    page.screenshot(path=artifacts_dir / "serve-audit.png", full_page=True)
    with page.expect_download() as download:
        page.click("text=Export reviewed turns (JSONL)")
    saved = tmp_path / "download.jsonl"
    download.value.save_as(saved)
    cli = tmp_path / "cli.jsonl"
    exported = tonewatch("export-reviews", "-o", str(cli), "--db", live.db)
    assert exported.returncode == 0, exported.stderr
    assert "exported 4 reviewed turns" in exported.stdout
    records = [json.loads(line) for line in cli.read_text().splitlines()]
    assert records == [json.loads(line) for line in saved.read_text().splitlines()]
    (artifacts_dir / "serve-reviews.jsonl").write_text(cli.read_text())
    gold = read_annotations(cli)
    assert sorted(len(t.labels) for t in gold) == [0, 0, 1, 2]
    added = next(t for t in gold if "devaluation" in t.labels)
    assert added.tone == "hostile"
    assert any(
        s.label == "devaluation" and added.text[s.start : s.end] == quote for s in added.evidence
    )
    assert sum(t.hard_negative for t in gold) == 2
    assert all(r["reviewers"] == ["adam"] for r in records)
    assert page.problems == []


def test_browser_reviewer_cannot_open_admin_pages(page, live, artifacts_dir) -> None:
    log_in(page, live, "rita")
    assert page.locator("header.top a[href='/admin']").count() == 0
    response = page.goto(live.url + "/admin")
    assert response.status == 403
    assert "needs the admin role" in page.locator("main").inner_text()
    assert page.goto(live.url + "/audit").status == 403
    page.screenshot(path=artifacts_dir / "serve-reviewer-forbidden.png")
    # Logging out ends the session on the server.
    page.goto(live.url + "/clients")
    page.click("form.logout button")
    page.wait_for_url("**/login")
    assert page.goto(live.url + "/clients").url.startswith(live.url + "/login")


def test_browser_login_page_loads_nothing_from_elsewhere(live) -> None:
    import httpx

    answer = httpx.get(live.url + "/login")
    html = answer.text
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == [
        "data:,", "/static/app.css", "/static/htmx.min.js", "/static/app.js", "/clients",
    ]  # fmt: skip
    assert "<style" not in html and "style=" not in html
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
