"""The pages of the book, in table-of-contents order, shared by the book tests."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def toc_pages() -> list[str]:
    """Every page of ``_toc.yml`` (root, chapters and their sections), without extension."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            pages.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return pages


def page_source(page: str) -> Path:
    """The Markdown or notebook file a toc entry is built from."""
    for suffix in (".md", ".ipynb"):
        path = REPO / f"{page}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"_toc.yml lists {page}, but there is no {page}.md or {page}.ipynb")
