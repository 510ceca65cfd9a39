"""Generate student labs from solution notebooks, and tell when the generated labs are stale.

``solutions/`` is the single source of truth. A student lab is derived from it mechanically:
solution regions become a stub that raises ``NotImplementedError``, ``### HINT:`` lines become
comments, hidden checks are removed and outputs are cleared. Because the derivation is
deterministic, CI can regenerate the labs and fail when the committed ones differ.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HINT = "### HINT:"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
GRADE_TAG = "grade"
HIDDEN_TAG = "hidden"
_HINT_LINE = re.compile(r"^(\s*)### HINT:\s?(.*)$")


class LabFormatError(ValueError):
    """A solution notebook breaks the authoring conventions; the message says where."""


def tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def is_graded(cell: NotebookNode) -> bool:
    return cell.get("cell_type") == "code" and GRADE_TAG in tags(cell)


def is_hidden(cell: NotebookNode) -> bool:
    return HIDDEN_TAG in tags(cell)


def lab_id(notebook: NotebookNode) -> str | None:
    """The assignment a notebook belongs to, from its ``mlops_course.lab`` metadata."""
    return notebook.get("metadata", {}).get("mlops_course", {}).get("lab")


def strip_solution(source: str, where: str = "cell") -> str:
    """Replace each solution region with the stub, keeping the region's indentation."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise LabFormatError(f"{where}, line {number}: {BEGIN} inside another region")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + stub for stub in STUB)
        elif stripped == END:
            if not inside:
                raise LabFormatError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            hint = _HINT_LINE.match(line)
            out.append(f"{hint.group(1)}# HINT: {hint.group(2)}" if hint else line)
    if inside:
        raise LabFormatError(f"{where}: {BEGIN} is never closed with {END}")
    return "\n".join(out)


def validate_solution(notebook: NotebookNode, name: str) -> None:
    """Check the conventions that generation and grading rely on, with precise messages."""
    if not lab_id(notebook):
        raise LabFormatError(f"{name}: metadata.mlops_course.lab (the assignment id) is missing")
    about = notebook.metadata["mlops_course"]
    for key in ("title", "minutes"):
        if key not in about:
            raise LabFormatError(f"{name}: metadata.mlops_course.{key} is missing")
    first = notebook.cells[0] if notebook.cells else None
    if first is None or first.cell_type != "markdown" or "objectives" not in first.source.lower():
        raise LabFormatError(
            f"{name}: the first cell must be Markdown that states the learning objectives"
        )
    ids = [cell.get("id") for cell in notebook.cells]
    if any(not cell_id for cell_id in ids):
        raise LabFormatError(f"{name}: every cell needs an id (nbformat 4.5) to be graded")
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise LabFormatError(f"{name}: duplicated cell ids {duplicated}")
    if not any("parameters" in tags(cell) for cell in notebook.cells):
        raise LabFormatError(f"{name}: no cell is tagged 'parameters' (papermill needs one)")
    graded = [cell for cell in notebook.cells if is_graded(cell)]
    if not graded:
        raise LabFormatError(f"{name}: no cell is tagged '{GRADE_TAG}': nothing would be graded")
    for cell in graded:
        points = cell.metadata.get("points")
        if not isinstance(points, int | float) or points <= 0:
            raise LabFormatError(f"{name}: graded cell {cell.id!r} needs metadata.points > 0")
    if not any(BEGIN in cell.source for cell in notebook.cells if cell.cell_type == "code"):
        raise LabFormatError(f"{name}: no {BEGIN} region: the student would have nothing to do")


def make_student_version(solution: NotebookNode, name: str = "notebook") -> NotebookNode:
    """The student lab derived from a solution notebook (which is left unchanged)."""
    validate_solution(solution, name)
    student = copy.deepcopy(solution)
    cells = []
    for cell in student.cells:
        if is_hidden(cell):
            continue
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source, f"{name}, cell {cell.id!r}")
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
            cell.metadata.pop("papermill", None)
        cells.append(cell)
    student.cells = cells
    student.metadata.pop("papermill", None)
    return student


def render(notebook: NotebookNode) -> str:
    """The exact text a notebook is written as, so equality means byte-identical files."""
    return nbformat.writes(notebook) + "\n"


@dataclass(frozen=True)
class LabPlan:
    """What ``labs generate`` would write: each lab file and its expected content."""

    files: dict[Path, bytes]
    orphans: list[Path]


def lab_files(folder: Path) -> list[Path]:
    """The files of a lab folder: notebooks and the data files they read (never dotfiles,
    checkpoints or caches)."""
    return sorted(
        path
        for path in Path(folder).rglob("*")
        if path.is_file()
        and not any(part.startswith(".") or part == "__pycache__" for part in path.parts)
    )


def plan(solutions_dir: Path, labs_dir: Path) -> LabPlan:
    """Derive every lab from ``solutions_dir``; list lab files with no solution (orphans).

    A data file next to the solutions (the report lab 4.3 investigates, say) is copied as it is:
    the learner's lab reads it as the solution does.
    """
    files: dict[Path, bytes] = {}
    for source in lab_files(solutions_dir):
        relative = source.relative_to(solutions_dir)
        if source.suffix != ".ipynb":
            files[Path(labs_dir) / relative] = source.read_bytes()
            continue
        solution = nbformat.read(source, as_version=4)
        student = make_student_version(solution, str(relative))
        files[Path(labs_dir) / relative] = render(student).encode()
    orphans = [p for p in lab_files(labs_dir) if p not in files]
    return LabPlan(files, orphans)


def generate(solutions_dir: Path, labs_dir: Path) -> list[Path]:
    """Write every lab (only files whose content changed) and remove orphaned labs."""
    lab_plan = plan(solutions_dir, labs_dir)
    written = []
    for path, content in lab_plan.files.items():
        if not path.exists() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append(path)
    for orphan in lab_plan.orphans:
        orphan.unlink()
    return written


def stale(solutions_dir: Path, labs_dir: Path) -> list[str]:
    """Reasons why ``labs_dir`` is not what ``generate`` would write (empty: up to date)."""
    lab_plan = plan(solutions_dir, labs_dir)
    problems = []
    for path, content in lab_plan.files.items():
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_bytes() != content:
            problems.append(f"{path}: differs from its solution")
    problems += [f"{orphan}: has no solution" for orphan in lab_plan.orphans]
    return problems
