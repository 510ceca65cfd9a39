"""Every lab of the course: its solution scores 100%, the generated lab 0%, partial work between.

This is the proof that no graded check is vacuous: a check that passes on an untouched lab, or
fails on the instructor's solution, fails CI.

Each lab is executed three times, and every run proves all it can (a kernel run costs seconds; the
same notebook is never executed twice for the same proof):

- the solution, graded with its small ``ci_parameters`` injected as papermill would: it scores
  100% *and* honours the CI parameters from a scratch folder of its own;
- the generated (untouched) lab at its default parameters: it scores 0 *and* its setup cells run,
  the first failure being the first exercise's stub;
- the lab with only its first exercise solved, with the CI parameters too (what it proves does not
  depend on the size of the data): it scores in between;
- an impostor: every exercise replaced by objects that equal everything and functions that return
  them, with NumPy's and math's comparisons patched: it scores 0 (tests/grading/test_hostile.py
  holds the other attacks, on a small lab).

The runs are cached per lab; under ``make test``'s pytest-xdist workers each lab is one unit of
work (tests/conftest.py), so the tests of a lab run in the process that holds its cached runs
while the labs spread over the workers.
"""

from __future__ import annotations

import ast
import copy
import functools
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from mlops_course.grading.grade import GradeResult, _defined_names, _is_exercise, grade_submission
from mlops_course.grading.labs import BEGIN, is_hidden, make_student_version, strip_solution

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
LABS = REPO / "labs"
SOLUTION_FILES = sorted(
    p for p in SOLUTIONS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
IDS = [str(p.relative_to(SOLUTIONS)) for p in SOLUTION_FILES]
TIMEOUT = 300


def _ci_parameters(solution_path: Path) -> dict[str, object]:
    notebook = nbformat.read(solution_path, as_version=4)
    return notebook.metadata["mlops_course"].get("ci_parameters", {})


@functools.cache
def graded_solution(solution_path: Path) -> GradeResult:
    """The solution, graded with its CI parameters injected (the papermill run of CI)."""
    return grade_submission(
        solution_path, SOLUTIONS, timeout=TIMEOUT, parameters=_ci_parameters(solution_path)
    )


@functools.cache
def graded_lab(solution_path: Path) -> GradeResult:
    """The generated lab, untouched, at its default parameters: what a learner starts from."""
    return grade_submission(LABS / solution_path.relative_to(SOLUTIONS), SOLUTIONS, timeout=TIMEOUT)


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


IMPOSTOR = """class _Yes(str):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    __le__ = __gt__ = __ge__ = __lt__
    __hash__ = str.__hash__
    def __bool__(self): return True
    def __len__(self): return 1
    def __contains__(self, item): return True
    def __getattr__(self, name): return _Yes()
    def __call__(self, *args, **kwargs): return _Yes()
    def __getitem__(self, key): return _Yes()
    def __iter__(self): return iter([_Yes()])
    def __float__(self): return 1.0
    def __int__(self): return 1


import math, numpy
math.isclose = numpy.allclose = numpy.isclose = lambda *args, **kwargs: True
"""


def _impostor(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The lab with each exercise's functions and classes returning, and its constants being,
    things that equal everything."""
    lab = make_student_version(solution)
    exercises = {c.id: c for c in solution.cells if _is_exercise(c)}
    for cell in lab.cells:
        if cell.get("id") in exercises:
            source = exercises[cell.id].source
            callables = {
                node.name
                for node in ast.parse(source).body
                if isinstance(node, ast.FunctionDef | ast.ClassDef)
            }
            cell.source = IMPOSTOR + "\n".join(
                f"def {name}(*args, **kwargs):\n    return _Yes()"
                if name in callables
                else f"{name} = _Yes()"
                for name in _defined_names(source)
            )
    return lab


def test_there_is_at_least_one_lab() -> None:
    assert SOLUTION_FILES, "no solution notebooks in solutions/"


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_solution_scores_100_percent(solution_path: Path) -> None:
    result = graded_solution(solution_path)
    failed = [(c.check, c.message) for c in result.checks if not c.passed]
    assert result.error is None and not failed, failed
    assert result.percent == 100.0


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_generated_lab_scores_zero(solution_path: Path) -> None:
    result = graded_lab(solution_path)
    passed = [c.check for c in result.checks if c.passed]
    assert result.error is None
    assert not passed, f"these checks pass on an untouched lab, so they test nothing: {passed}"


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_partially_solved_lab_scores_in_between(solution_path: Path, tmp_path: Path) -> None:
    partial = _partially_solved(nbformat.read(solution_path, as_version=4))
    path = tmp_path / solution_path.name
    nbformat.write(partial, path)
    result = grade_submission(
        path, SOLUTIONS, timeout=TIMEOUT, parameters=_ci_parameters(solution_path)
    )
    assert 0 < result.score < result.max_score, [(c.check, c.passed) for c in result.checks]


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_an_impostor_scores_zero(solution_path: Path, tmp_path: Path) -> None:
    """No check of any lab is fooled by answers that equal everything or patched comparisons."""
    path = tmp_path / solution_path.name
    nbformat.write(_impostor(nbformat.read(solution_path, as_version=4)), path)
    result = grade_submission(
        path, SOLUTIONS, timeout=TIMEOUT, parameters=_ci_parameters(solution_path)
    )
    assert result.score == 0, [c.check for c in result.checks if c.passed]


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_lab_setup_runs_until_the_first_exercise(solution_path: Path) -> None:
    """An untouched lab stops at its first stub, never earlier: its setup cells work."""
    result = graded_lab(solution_path)
    order = [cell.get("id") for cell in nbformat.read(solution_path, as_version=4).cells]
    lab = nbformat.read(LABS / solution_path.relative_to(SOLUTIONS), as_version=4)
    first_stub = next(
        cell.id
        for cell in lab.cells
        if cell.cell_type == "code" and "raise NotImplementedError()" in cell.source
    )
    assert result.failures, "an untouched lab ran without a single failing cell"
    first_failure = min(result.failures, key=order.index)
    assert order.index(first_failure) >= order.index(first_stub), (
        f"cell {first_failure!r} fails before the first exercise ({first_stub!r}): "
        f"{result.failures[first_failure]}"
    )
    assert result.failures[first_failure].startswith(("NotImplementedError", "NameError"))


@pytest.mark.parametrize("solution_path", SOLUTION_FILES, ids=IDS)
def test_solution_runs_small_under_ci_parameters(solution_path: Path) -> None:
    """CI runs every solution with its small ci_parameters, from a folder of its own."""
    result = graded_solution(solution_path)
    assert result.error is None and not result.failures, result.failures


def test_generated_lab_matches_its_solution() -> None:
    """Guards the committed labs against hand edits (the CLI check does the same in make test)."""
    assert SOLUTION_FILES, f"no solution notebooks under {SOLUTIONS}: nothing would be compared"
    for solution_path in SOLUTION_FILES:
        lab = LABS / solution_path.relative_to(SOLUTIONS)
        expected = make_student_version(nbformat.read(solution_path, as_version=4))
        assert nbformat.read(lab, as_version=4).cells == expected.cells


FIND_THE_DRIFT = SOLUTIONS / "stage4" / "03_find_the_drift.ipynb"
INCIDENT = (44, "precipitation_mm")  # lab 4.3's answer: here and in its hidden checks, in no lab


def test_the_report_lab_4_3_investigates_is_what_the_monitor_writes(monkeypatch) -> None:
    """The lab reads its month from find_the_drift_report.csv, so no code in the learner's copy
    knows the incident. Rebuilt here by the lab's own setup with the incident applied, the month
    must equal the file: it is the monitor's output, not a hand-made table."""
    cells = {c.id: c.source for c in nbformat.read(FIND_THE_DRIFT, as_version=4).cells}
    monkeypatch.chdir(FIND_THE_DRIFT.parent)
    namespace: dict[str, object] = {}
    exec(cells["parameters"], namespace)
    exec(cells["setup"], namespace)
    rebuilt = namespace["monitoring_report"](INCIDENT)  # type: ignore[operator]
    pd.testing.assert_frame_equal(namespace["report"], rebuilt, rtol=1e-6)  # type: ignore[arg-type]
