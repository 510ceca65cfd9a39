"""Grading: solutions score 100%, untouched labs 0%, partial work in between, bad files survive."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from mlops_course.cli import app
from mlops_course.grading.grade import grade_directory, grade_submission
from mlops_course.grading.labs import make_student_version

MAX = 6.0  # 2 + 1 + 1 (hidden) + 2


def _write(notebook: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def _student(make_solution) -> nbformat.NotebookNode:
    return make_student_version(make_solution())


def _solve_add(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = next(c for c in notebook.cells if c.id == "ex-add")
    cell.source = "def add(a, b):\n    return a + b"
    return notebook


def _append(notebook: nbformat.NotebookNode, source: str, after: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    position = next(i for i, c in enumerate(notebook.cells) if c.id == after) + 1
    notebook.cells.insert(position, cell)
    return notebook


def test_solution_scores_full_marks_including_hidden(course, make_solution, tmp_path) -> None:
    solutions, _ = course
    result = grade_submission(_write(make_solution(), tmp_path / "sub" / "ada.ipynb"), solutions)
    assert result.error is None
    assert (result.score, result.max_score, result.percent) == (MAX, MAX, 100.0)
    assert {c.check for c in result.checks} >= {"check-add-hidden"}


def test_untouched_lab_scores_zero_on_every_check(course, make_solution, tmp_path) -> None:
    """No check may pass on a lab nobody worked on: that would be a vacuous check."""
    solutions, _ = course
    result = grade_submission(_write(_student(make_solution), tmp_path / "bob.ipynb"), solutions)
    assert result.score == 0 and result.max_score == MAX
    assert all("NotImplementedError" in c.message for c in result.checks)


def test_partial_work_scores_in_between_and_checks_are_independent(
    course, make_solution, tmp_path
) -> None:
    """Solving add but not mul earns add's checks, hidden one included, and nothing else."""
    solutions, _ = course
    path = _write(_solve_add(_student(make_solution)), tmp_path / "cy.ipynb")
    result = grade_submission(path, solutions)
    passed = {c.check for c in result.checks if c.passed}
    assert passed == {"check-add", "check-add-negative", "check-add-hidden"}
    assert 0 < result.score < result.max_score


def test_parameters_are_injected_after_the_parameters_cell(course, make_solution, tmp_path) -> None:
    """CI grades a lab with its ci_parameters: they override the parameters cell, like papermill."""
    solutions, _ = course
    path = _write(make_solution(), tmp_path / "ada.ipynb")
    result = grade_submission(path, solutions, parameters={"FACTOR": 2})
    failed = {c.check for c in result.checks if not c.passed}
    assert failed == {"check-mul"}, failed  # mul(3, 4) is 24 with FACTOR = 2
    assert grade_submission(path, solutions, parameters={}).percent == 100.0


def test_failures_name_every_failing_cell_in_notebook_order(course, make_solution, tmp_path):
    """The result says where an untouched lab first fails: at its first check, not in setup."""
    solutions, _ = course
    result = grade_submission(_write(_student(make_solution), tmp_path / "bob.ipynb"), solutions)
    assert next(iter(result.failures)) == "check-add"
    assert result.failures["check-add"].startswith("NotImplementedError")
    broken = _student(make_solution)
    next(c for c in broken.cells if c.id == "ex-add").source = "def add(a, b)\n    return a + b"
    result = grade_submission(_write(broken, tmp_path / "dan.ipynb"), solutions)
    assert next(iter(result.failures)) == "ex-add"
    assert result.failures["ex-add"].startswith("SyntaxError")


def test_only_the_exercise_cells_of_a_submission_run(course, make_solution, tmp_path) -> None:
    """Setup and parameters come from the solution; a cell the learner added never runs."""
    solutions, _ = course
    student = _student(make_solution)
    next(c for c in student.cells if c.id == "parameters").source = "FACTOR = undefined_name"
    _append(
        student, "def add(a, b):\n    return a + b\n\ndef mul(a, b):\n    return a * b", "ex-mul"
    )
    result = grade_submission(_write(student, tmp_path / "kept.ipynb"), solutions)
    assert "parameters" not in result.failures
    assert result.score == 0, [(c.check, c.passed) for c in result.checks]

    helper = _student(make_solution)
    next(
        c for c in helper.cells if c.id == "ex-add"
    ).source = "def add(a, b):\n    return plus(a, b)"
    _append(helper, "def plus(a, b):\n    return a + b", "ex-add")
    result = grade_submission(_write(helper, tmp_path / "helper.ipynb"), solutions)
    assert "name 'plus' is not defined" in result.failures["check-add"]
    assert "define helpers in them" in result.failures["check-add"], "say why, and what to do"
    unfinished = _student(make_solution)
    next(c for c in unfinished.cells if c.id == "ex-add").source = "raise ValueError('later')"
    result = grade_submission(_write(unfinished, tmp_path / "unfinished.ipynb"), solutions)
    assert "exercise 'ex-add' did not define it" in result.failures["check-add"]


def test_editing_a_check_does_not_help(course, make_solution, tmp_path) -> None:
    """Graded cells come from the solution, so weakening or deleting a check changes nothing."""
    solutions, _ = course
    student = _student(make_solution)
    next(c for c in student.cells if c.id == "check-mul").source = "assert True"
    student.cells = [c for c in student.cells if c.id != "check-add"]
    result = grade_submission(_write(student, tmp_path / "eve.ipynb"), solutions)
    by_id = {c.check: c for c in result.checks}
    assert not by_id["check-mul"].passed and not by_id["check-add"].passed
    assert result.score == 0


def test_endless_loop_is_interrupted_and_the_rest_still_graded(
    course, make_solution, tmp_path
) -> None:
    solutions, _ = course
    student = _solve_add(_student(make_solution))
    next(c for c in student.cells if c.id == "ex-mul").source = "while True:\n    pass"
    result = grade_submission(_write(student, tmp_path / "loop.ipynb"), solutions, timeout=3)
    by_id = {c.check: c for c in result.checks}
    assert by_id["check-add"].passed and by_id["check-add-hidden"].passed
    assert not by_id["check-mul"].passed
    assert result.failures["ex-mul"].startswith("Timeout: the cell ran longer than 3 s")
    assert "kernel died" not in result.failures["check-mul"], "the interrupt stops the cell only"


def _in_exercise(notebook: nbformat.NotebookNode, cell_id: str, code: str) -> nbformat.NotebookNode:
    """``code`` run by an exercise cell, after what the cell already holds."""
    cell = next(c for c in notebook.cells if c.id == cell_id)
    cell.source = cell.source + "\n" + code
    return notebook


def test_sys_exit_and_a_dying_kernel_get_a_clear_message(course, make_solution, tmp_path) -> None:
    solutions, _ = course
    exits = _in_exercise(_solve_add(_student(make_solution)), "ex-add", "import sys\nsys.exit(3)")
    result = grade_submission(_write(exits, tmp_path / "exit.ipynb"), solutions)
    assert result.score == 4.0  # add's three checks pass (2 + 1 + 1); mul is unsolved

    solved = _solve_add(_student(make_solution))
    dies = _in_exercise(
        solved, "ex-mul", "def mul(a, b):\n    return a * b\nimport os\nos._exit(1)"
    )
    result = grade_submission(_write(dies, tmp_path / "dies.ipynb"), solutions, timeout=20)
    by_id = {c.check: c for c in result.checks}
    assert by_id["check-add"].passed and by_id["check-add-hidden"].passed
    assert "kernel died" in by_id["check-mul"].message, by_id["check-mul"].message
    assert result.score == 4.0


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_the_kernel_and_its_sandbox_stop_when_the_notebook_is_graded(tmp_path: Path) -> None:
    """A grader of a class starts one kernel per submission: none may outlive its notebook."""
    from mlops_course.grading.grade import execute, sandbox_available

    if not sandbox_available():
        pytest.fail("bubblewrap is not installed: sudo apt-get install bubblewrap (.ci/run does)")
    source = "import os\nopen('pids', 'w').write(f'{os.getpid()} {os.getppid()}')"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    assert execute(notebook, tmp_path, timeout=60) == {}
    pids = [int(pid) for pid in (tmp_path / "pids").read_text().split()]
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _alive(pid)], f"kernel and sandbox {pids}: still running"


def test_deleting_files_stays_inside_the_scratch_folder(course, make_solution, tmp_path) -> None:
    """A cell that wipes its folder and its HOME only wipes the temporary grading folder."""
    solutions, _ = course
    sentinel = tmp_path / "subs" / "keep-me.txt"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text("precious")
    wipe = (
        "import os, shutil\n"
        "shutil.rmtree(os.getcwd(), ignore_errors=True)\n"
        "shutil.rmtree(os.path.expanduser('~'), ignore_errors=True)\n"
        "for name in os.listdir('..'):\n"
        "    path = os.path.join('..', name)\n"
        "    if os.path.isfile(path) and name.endswith(('.txt', '.ipynb')):\n"
        "        os.remove(path)"
    )
    path = _write(
        _in_exercise(_solve_add(_student(make_solution)), "ex-add", wipe),
        sentinel.parent / "wiper.ipynb",
    )
    before = path.read_bytes()
    result = grade_submission(path, solutions)
    assert sentinel.read_text() == "precious"
    assert path.read_bytes() == before
    assert (solutions / "stage0" / "mini.ipynb").exists()
    assert result.score == 4.0


def test_invalid_json_and_foreign_labs_are_reported(course, make_solution, tmp_path) -> None:
    solutions, _ = course
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    result = grade_submission(broken, solutions, expected_lab="mini-arithmetic")
    assert "not a valid notebook" in result.error
    assert result.score == 0 and result.max_score == MAX

    foreign = _write(make_solution(lab="another-lab"), tmp_path / "foreign.ipynb")
    result = grade_submission(foreign, solutions, expected_lab="mini-arithmetic")
    assert "another-lab" in result.error and "mini-arithmetic" in result.error
    assert result.score == 0 and result.max_score == MAX

    unknown = grade_submission(foreign, solutions)
    assert "no solution for lab 'another-lab'" in unknown.error


def test_class_gradebook_and_feedback(course, make_solution, tmp_path) -> None:
    """One row per student, written atomically, and a feedback file that says what failed."""
    solutions, _ = course
    subs = tmp_path / "class"
    _write(make_solution(), subs / "ada.ipynb")
    _write(_student(make_solution), subs / "bob.ipynb")
    _write(_solve_add(_student(make_solution)), subs / "cy.ipynb")
    _write(make_solution(lab="another-lab"), subs / "dan.ipynb")
    (subs / "eve.ipynb").write_text("not json")
    out = tmp_path / "grades" / "gradebook.csv"
    results = grade_directory(subs, out, solutions)
    assert [r.student for r in results] == ["ada", "bob", "cy", "dan", "eve"]

    rows = {row["student"]: row for row in csv.DictReader(out.open())}
    assert float(rows["ada"]["percent"]) == 100.0
    assert float(rows["bob"]["score"]) == 0.0
    assert 0 < float(rows["cy"]["score"]) < MAX
    assert "another-lab" in rows["dan"]["error"]
    assert "not a valid notebook" in rows["eve"]["error"]
    assert rows["cy"]["check-add-hidden"] == "1.0"
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []

    feedback = (out.parent / "feedback" / "cy.md").read_text()
    assert "check-mul" in feedback and "NotImplementedError" in feedback
    assert "Every check passed" in (out.parent / "feedback" / "ada.md").read_text()


def test_cli_grade_prints_a_table_or_json_and_exits_zero(course, make_solution, tmp_path) -> None:
    solutions, _ = course
    path = _write(_solve_add(_student(make_solution)), tmp_path / "cy.ipynb")
    runner = CliRunner()
    table = runner.invoke(app, ["grade", str(path), "--solutions", str(solutions)])
    assert table.exit_code == 0, table.output
    assert "check-mul" in table.output and "score: 4 / 6" in table.output
    as_json = runner.invoke(app, ["grade", str(path), "--solutions", str(solutions), "--json"])
    assert as_json.exit_code == 0
    assert json.loads(as_json.output)["score"] == 4.0


@pytest.mark.parametrize("args", [["missing.ipynb"], ["."]])
def test_cli_grade_reports_missing_input(args, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "solutions").mkdir()
    result = CliRunner().invoke(app, ["grade", *args])
    assert result.exit_code == 2
    assert "error:" in result.output


def test_sandbox_blocks_writes_outside_the_scratch_folder(course, make_solution, tmp_path) -> None:
    """Under bubblewrap even an absolute path outside the scratch folder is read-only."""
    from mlops_course.grading.grade import sandbox_available

    if not sandbox_available():
        pytest.fail("bubblewrap is not installed: sudo apt-get install bubblewrap (.ci/run does)")
    solutions, _ = course
    target = tmp_path / "outside.txt"
    target.write_text("untouched")
    attack = f"from pathlib import Path\nPath({str(target)!r}).write_text('overwritten')"
    student = _in_exercise(_solve_add(_student(make_solution)), "ex-add", attack)
    result = grade_submission(_write(student, tmp_path / "subs" / "attack.ipynb"), solutions)
    assert target.read_text() == "untouched"
    assert result.score == 4.0, "the sandbox must not break honest work"


def test_a_student_kernel_reads_the_graders_cache_but_has_a_home_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lab's MLflow server copies the grader's migrated database instead of building one."""
    from mlops_course.grading.grade import _kernel_env

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "grader-cache"))
    (tmp_path / "scratch").mkdir()
    env = _kernel_env(tmp_path / "scratch")
    assert env["HOME"] == str(tmp_path / "scratch")
    assert env["XDG_CACHE_HOME"] == str(tmp_path / "grader-cache")
