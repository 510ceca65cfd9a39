"""The built site in a real browser: pages load cleanly, images show, links work, search works.

Headless Chromium (Debian's ``chromium``, installed by .ci/run) is driven by Playwright with
``executable_path`` pointing at it; Playwright's own browser download is never used, because it
needs the internet. The site is served from ``_build/html`` on a loopback port, as a learner's
browser would see it offline. Screenshots of the home page and the tour go to ``test-artifacts/``.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

from tests.book.toc import REPO, toc_pages

SITE = REPO / "_build" / "html"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site in {SITE}: run `make book` first (make book-test does)")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Chromium is not installed: sudo apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_every_page_loads_without_errors_broken_images_or_links(site_url: str, browser) -> None:
    page = browser.new_page()
    problems: list[str] = []
    current = {"url": ""}
    page.on(
        "console",
        lambda msg: (
            problems.append(f"{current['url']}: console error: {msg.text}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"{current['url']}: script error: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"{current['url']}: failed: {req.url}"))
    links: set[str] = set()
    for doc in toc_pages():
        current["url"] = f"{site_url}/{doc}.html"
        response = page.goto(current["url"], wait_until="load")
        assert response is not None and response.ok, f"{current['url']}: HTTP error"
        broken = page.eval_on_selector_all(
            "img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        problems += [f"{current['url']}: broken image {src}" for src in broken]
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        links.update(
            urldefrag(h).url for h in hrefs if urlparse(h).netloc == urlparse(site_url).netloc
        )
    for link in sorted(links):
        status = page.request.get(link).status
        if status >= 400:
            problems.append(f"broken internal link: {link} ({status})")
    assert not problems, "\n".join(problems[:40])


def test_search_finds_a_course_term(site_url: str, browser) -> None:
    page = browser.new_page()
    page.goto(f"{site_url}/search.html?q=champion", wait_until="load")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=20_000)
    assert results.count() >= 3
    assert "champion" in page.locator("#search-results").inner_text().lower()


def test_screenshots_of_the_home_page_and_a_notebook_page(site_url: str, browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    for name, doc in [("home", "book/index"), ("tour", "notebooks/00_tour")]:
        page.goto(f"{site_url}/{doc}.html", wait_until="load")
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        assert path.stat().st_size > 10_000
