"""Every lab of the course: its solution scores 100%, the generated lab 0%, partial work between.

This is the proof that no graded check is vacuous: a check that passes on an untouched lab, or
fails on the instructor's solution, fails CI.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import papermill
import pytest

from mlops_course.grading.grade import grade_submission
from mlops_course.grading.labs import BEGIN, is_hidden, make_student_version, strip_solution

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
LABS = REPO / "labs"
SOLUTION_FILES = sorted(
    p for p in SOLUTIONS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
IDS = [str(p.relative_to(SOLUTIONS)) for p in SOLUTION_FILES]


def _partially_solved(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The lab with only its first exercise solved: what a learner halfway through submits."""
    partial = copy.deepcopy(solution)
    first = next(c for c in partial.cells if c.cell_type == "code" and BEGIN in c.source)
    kept = []
    for cell in partial.cells:
        if is_hidden(cell):
            continue
        if cell.cell_type == "code" and cell is not first:
            cell.source = strip_solution(cell.source)
        kept.append(cell)
    partial.cells = kept
    return partial


def test_there_is_at_least_one_lab() -> None:
    assert SOLUTION_FILES, "no solution notebooks in solutions/"


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_solution_scores_100_percent(solution_path: Path) -> None:
    result = grade_submission(solution_path, SOLUTIONS, timeout=300)
    failed = [(c.check, c.message) for c in result.checks if not c.passed]
    assert result.error is None and not failed, failed
    assert result.percent == 100.0


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_generated_lab_scores_zero(solution_path: Path) -> None:
    lab = LABS / solution_path.relative_to(SOLUTIONS)
    result = grade_submission(lab, SOLUTIONS, timeout=300)
    passed = [c.check for c in result.checks if c.passed]
    assert result.error is None
    assert not passed, f"these checks pass on an untouched lab, so they test nothing: {passed}"


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_partially_solved_lab_scores_in_between(solution_path: Path, tmp_path: Path) -> None:
    partial = _partially_solved(nbformat.read(solution_path, as_version=4))
    path = tmp_path / solution_path.name
    nbformat.write(partial, path)
    result = grade_submission(path, SOLUTIONS, timeout=300)
    assert 0 < result.score < result.max_score, [(c.check, c.passed) for c in result.checks]


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_lab_setup_runs_until_the_first_exercise(solution_path: Path, tmp_path: Path) -> None:
    """Under papermill a lab stops at the first stub, never earlier: its setup cells work."""
    lab = LABS / solution_path.relative_to(SOLUTIONS)
    notebook = nbformat.read(solution_path, as_version=4)
    parameters = notebook.metadata["mlops_course"].get("ci_parameters", {})
    with pytest.raises(papermill.PapermillExecutionError) as failure:
        papermill.execute_notebook(
            str(lab),
            str(tmp_path / "lab.ipynb"),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(tmp_path),
            progress_bar=False,
        )
    assert failure.value.ename in {"NotImplementedError", "NameError"}
    executed = nbformat.read(tmp_path / "lab.ipynb", as_version=4)
    first_stub = next(
        i
        for i, c in enumerate(executed.cells)
        if c.cell_type == "code" and "raise NotImplementedError()" in c.source
    )
    errors = [
        i
        for i, c in enumerate(executed.cells)
        if any(o.get("output_type") == "error" for o in c.get("outputs", []))
    ]
    assert errors and errors[0] >= first_stub


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_solution_runs_small_under_papermill(solution_path: Path, tmp_path: Path) -> None:
    """CI runs every solution with its small ci_parameters, from a folder of its own."""
    notebook = nbformat.read(solution_path, as_version=4)
    parameters = notebook.metadata["mlops_course"].get("ci_parameters", {})
    papermill.execute_notebook(
        str(solution_path),
        str(tmp_path / "solution.ipynb"),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
    )


def test_generated_lab_matches_its_solution() -> None:
    """Guards the committed labs against hand edits (the CLI check does the same in make test)."""
    assert SOLUTION_FILES, f"no solution notebooks under {SOLUTIONS}: nothing would be compared"
    for solution_path in SOLUTION_FILES:
        lab = LABS / solution_path.relative_to(SOLUTIONS)
        expected = make_student_version(nbformat.read(solution_path, as_version=4))
        assert nbformat.read(lab, as_version=4).cells == expected.cells
