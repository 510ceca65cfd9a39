"""Generating student labs from solutions, and detecting stale labs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from mlops_course.cli import app
from mlops_course.grading.labs import (
    LabFormatError,
    generate,
    make_student_version,
    stale,
    strip_solution,
)


def test_solution_region_becomes_an_indented_stub() -> None:
    """Students see where to write code, and running it untouched fails loudly."""
    source = (
        "def f():\n    ### HINT: think\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"
    )
    stripped = strip_solution(source)
    assert stripped == (
        "def f():\n    # HINT: think\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    assert "return 1" not in stripped


@pytest.mark.parametrize(
    "source, problem",
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
    ],
)
def test_broken_markers_are_reported(source: str, problem: str) -> None:
    """A typo in the markers must stop generation, not leak a solution to students."""
    with pytest.raises(LabFormatError, match=problem):
        strip_solution(source)


def test_student_version_drops_hidden_checks_and_outputs(make_solution) -> None:
    """Hidden checks and stored outputs never reach students; the solution is untouched."""
    solution = make_solution()
    solution.cells[3].outputs = [nbformat.v4.new_output("stream", text="secret")]
    solution.cells[3].execution_count = 3
    student = make_student_version(solution)
    ids = [c.id for c in student.cells]
    assert "check-add-hidden" not in ids and "check-add" in ids
    assert all(c.get("outputs", []) == [] for c in student.cells if c.cell_type == "code")
    assert all(c.get("execution_count") is None for c in student.cells if c.cell_type == "code")
    assert "return a + b" not in student.cells[3].source
    assert "return a + b" in solution.cells[3].source


@pytest.mark.parametrize(
    "breakage, problem",
    [
        (lambda nb: nb.metadata.pop("mlops_course"), "assignment id"),
        (lambda nb: nb.metadata["mlops_course"].pop("minutes"), "minutes"),
        (lambda nb: nb.cells.pop(0), "learning objectives"),
        (lambda nb: nb.cells[4].metadata.pop("points"), "metadata.points"),
        (lambda nb: nb.cells[1].metadata.pop("tags"), "parameters"),
        (lambda nb: setattr(nb.cells[5], "id", "check-add"), "duplicated"),
        (
            lambda nb: [c.metadata.pop("tags", None) for c in nb.cells if c.id != "parameters"],
            "nothing would be graded",
        ),
    ],
)
def test_convention_errors_name_the_problem(make_solution, breakage, problem: str) -> None:
    """Authoring mistakes that would break grading are caught when the lab is generated."""
    solution = make_solution()
    breakage(solution)
    with pytest.raises(LabFormatError, match=problem):
        make_student_version(solution, "mini.ipynb")


def test_generate_then_check_detects_every_kind_of_staleness(course: tuple[Path, Path]) -> None:
    """--check fails on a missing, an edited and an orphaned lab, and passes once regenerated."""
    solutions, labs = course
    assert stale(solutions, labs) == [f"{labs / 'stage0' / 'mini.ipynb'}: missing"]
    assert generate(solutions, labs) == [labs / "stage0" / "mini.ipynb"]
    assert stale(solutions, labs) == []
    assert generate(solutions, labs) == []  # idempotent: nothing rewritten

    lab = labs / "stage0" / "mini.ipynb"
    lab.write_text(lab.read_text().replace("YOUR CODE HERE", "edited by hand"))
    assert stale(solutions, labs) == [f"{lab}: differs from its solution"]
    orphan = labs / "stage0" / "old.ipynb"
    orphan.write_text(lab.read_text())
    assert f"{orphan}: has no solution" in stale(solutions, labs)

    generate(solutions, labs)
    assert stale(solutions, labs) == [] and not orphan.exists()


def test_data_files_next_to_a_solution_are_copied_and_checked(course: tuple[Path, Path]) -> None:
    """A lab that reads a file (lab 4.3's report) gets it in labs/, and --check guards it."""
    solutions, labs = course
    data = solutions / "stage0" / "report.csv"
    data.write_text("day,feature\n44,precipitation_mm\n")
    (solutions / "stage0" / ".ipynb_checkpoints").mkdir()
    (solutions / "stage0" / ".ipynb_checkpoints" / "mini-checkpoint.ipynb").write_text("{}")
    generate(solutions, labs)
    copied = labs / "stage0" / "report.csv"
    assert copied.read_bytes() == data.read_bytes()
    assert sorted(p.name for p in (labs / "stage0").iterdir()) == ["mini.ipynb", "report.csv"]
    copied.write_text("tampered")
    assert stale(solutions, labs) == [f"{copied}: differs from its solution"]
    data.unlink()
    assert stale(solutions, labs) == [f"{copied}: has no solution"]


def test_cli_generate_and_check(course: tuple[Path, Path]) -> None:
    """The commands instructors and CI run: exit 1 with a reason when labs/ is stale."""
    solutions, labs = course
    runner = CliRunner()
    args = ["--solutions", str(solutions), "--labs", str(labs)]
    stale_run = runner.invoke(app, ["labs", "generate", "--check", *args])
    assert stale_run.exit_code == 1
    assert "missing" in stale_run.output and "labs generate" in stale_run.output
    assert runner.invoke(app, ["labs", "generate", *args]).exit_code == 0
    fresh = runner.invoke(app, ["labs", "generate", "--check", *args])
    assert fresh.exit_code == 0, fresh.output
