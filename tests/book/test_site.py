"""The built site (``_build/html``) is complete: every page, every internal link, real outputs.

``make book-test`` builds the book first; these tests read the result, so a page that silently
failed to execute or a link that points nowhere fails CI instead of reaching a learner.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import unquote, urlparse

import pytest

from tests.book.toc import REPO, toc_pages

SITE = REPO / "_build" / "html"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (tag, name) in {
                ("a", "href"),
                ("img", "src"),
                ("link", "href"),
                ("script", "src"),
            }:
                self.links.append(value)


@pytest.fixture(scope="module", autouse=True)
def _site_exists() -> None:
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site in {SITE}: run `make book` first (make book-test does)")


@pytest.mark.parametrize("page", toc_pages())
def test_every_toc_entry_has_a_page(page: str) -> None:
    """A toc entry without a page means a chapter is missing from the published book."""
    assert (SITE / f"{page}.html").is_file()


def test_internal_links_and_images_resolve() -> None:
    """No learner should click a link, or see an image, that leads nowhere."""
    broken = []
    for html in SITE.rglob("*.html"):
        if "_static" in html.parts:  # theme templates, not pages
            continue
        parser = _Links()
        parser.feed(html.read_text(errors="replace"))
        for link in parser.links:
            url = urlparse(link)
            if url.scheme or url.netloc or link.startswith(("#", "mailto:", "data:")):
                continue
            target = (html.parent / unquote(url.path)).resolve()
            if not target.exists():
                broken.append(f"{html.relative_to(SITE)} -> {link}")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:30])


def test_tour_page_shows_executed_outputs() -> None:
    """The tour is executed during the build: its page carries real results and the plot."""
    page = (SITE / "notebooks" / "00_tour.html").read_text()
    assert "is the champion" in page
    assert "FAILED" in page and "distance_km" in page
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
    assert images, "the tour's prediction plot is missing from its page"


def test_search_is_built() -> None:
    """Sphinx search works offline from the index it writes next to the pages."""
    assert (SITE / "search.html").is_file()
    index = (SITE / "searchindex.js").read_text()
    assert "champion" in index
