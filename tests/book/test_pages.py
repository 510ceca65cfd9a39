"""Every page of the book says what it teaches, how long it takes and which labs go with it.

These checks read the sources (Markdown and notebooks), so they run without a build and name the
file to fix. The ``page-meta`` directive (``book/_ext/page_meta.py``) renders time and lab links.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.book.toc import REPO, page_source, toc_pages

# Reference pages that a learner looks things up in rather than works through.
REFERENCE_PAGES = {"book/appendix/glossary", "book/appendix/benchmarks"}
LEARNING_PAGES = [page for page in toc_pages() if page not in REFERENCE_PAGES]
META = re.compile(r":::\{page-meta\}\n:time: (?P<time>[^\n]+)\n(?::labs: (?P<labs>[^\n]+)\n)?:::")


def _text(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text()


def _labs_of(page: str) -> set[str]:
    match = META.search(_text(page_source(page)))
    return set(match["labs"].replace(",", " ").split()) if match and match["labs"] else set()


def _solutions() -> list[str]:
    return sorted(
        str(p.relative_to(REPO / "solutions").with_suffix(""))
        for p in (REPO / "solutions").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )


@pytest.mark.parametrize("page", LEARNING_PAGES)
def test_page_states_its_time_and_objectives(page: str) -> None:
    text = _text(page_source(page))
    match = META.search(text)
    assert match, f"{page}: add a page-meta box under the title (:::{{page-meta}} with :time:)"
    assert re.search(r"\d+ ?(min|h)\b", match["time"]), f"{page}: time without a duration"
    assert "objectives" in text.lower(), f"{page}: state the learning objectives"


def test_every_lab_is_linked_from_a_page() -> None:
    """A lab that no page links to is a lab learners never find."""
    linked = set().union(*(_labs_of(page) for page in LEARNING_PAGES))
    assert not set(_solutions()) - linked, "labs no page links to (add them to a :labs: list)"
    assert not linked - set(_solutions()), "pages link labs that do not exist"


@pytest.mark.parametrize("stage", [1, 2, 3, 4, 5])
def test_stage_overview_lists_all_its_labs(stage: int) -> None:
    labs = {lab for lab in _solutions() if lab.startswith(f"stage{stage}/")}
    assert _labs_of(f"book/stage{stage}/index") == labs


def test_page_meta_pattern_catches_a_missing_time() -> None:
    """The pattern the tests rely on rejects a box without a time, so the checks can fail."""
    assert META.search(":::{page-meta}\n:time: 20 min\n:::")
    assert not META.search(":::{page-meta}\n:labs: stage1/01_validation_checks\n:::")
