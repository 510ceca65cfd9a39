"""A tiny lab, built in code, so the grading machinery is tested without any service."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

LAB = "mini-arithmetic"


def _code(cell_id: str, source: str, tags: list[str] | None = None, points: int | None = None):
    cell = new_code_cell(source)
    cell.id = cell_id
    if tags:
        cell.metadata["tags"] = tags
    if points is not None:
        cell.metadata["points"] = points
    return cell


def mini_solution(lab: str = LAB) -> nbformat.NotebookNode:
    """Two exercises, three visible checks (2+1+2 points) and one hidden check (1 point).

    The hidden check compares through a setup helper that calls a library function, so hostile
    submissions (tests/grading/test_hostile.py) have a helper to redefine and a library to patch.
    """
    intro = new_markdown_cell("# Mini lab\n\nObjectives: add and multiply. About 5 minutes.")
    intro.id = "intro"
    cells = [
        intro,
        _code("parameters", "FACTOR = 1", tags=["parameters"]),
        _code(
            "setup",
            "import math\n\n\ndef close(value, expected):\n"
            '    """Whether a result is the expected number (floats approximately)."""\n'
            "    return math.isclose(value, expected)",
        ),
        _code(
            "ex-add",
            "def add(a, b):\n    ### HINT: use +\n    ### BEGIN SOLUTION\n    return a + b\n"
            "    ### END SOLUTION",
        ),
        _code("check-add", "assert add(1, 2) == 3, 'add(1, 2) should be 3'", ["grade"], 2),
        _code("check-add-negative", "assert add(-1, 1) == 0", ["grade"], 1),
        _code("check-add-hidden", "assert close(add(0.5, 0.25), 0.75)", ["grade", "hidden"], 1),
        _code(
            "ex-mul",
            "def mul(a, b):\n    ### BEGIN SOLUTION\n    return a * b * FACTOR\n"
            "    ### END SOLUTION",
        ),
        _code("check-mul", "assert mul(3, 4) == 12, 'mul(3, 4) should be 12'", ["grade"], 2),
    ]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["mlops_course"] = {"lab": lab, "title": "Mini lab", "minutes": 5}
    return notebook


@pytest.fixture
def course(tmp_path: Path) -> tuple[Path, Path]:
    """A solutions/ folder holding the mini lab, and an empty labs/ folder beside it."""
    solutions, labs = tmp_path / "solutions", tmp_path / "labs"
    (solutions / "stage0").mkdir(parents=True)
    labs.mkdir()
    nbformat.write(mini_solution(), solutions / "stage0" / "mini.ipynb")
    return solutions, labs


@pytest.fixture
def make_solution():
    """The builder of the mini solution notebook, for tests that need variants of it."""
    return mini_solution
