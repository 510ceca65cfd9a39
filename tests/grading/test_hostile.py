"""Hostile submissions: every trick a student might try scores 0 on the checks it targets.

Each test starts from the untouched mini lab (tests/grading/conftest.py), whose exercises are
stubs, adds one attack, and grades it. Before checks ran in a process of their own
(mlops_course.grading.isolation), a kept cell or an exercise could rewrite the rules: each of
these attacks then earned points (the closing note of the change lists which, measured on the
previous grader).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from mlops_course.grading.grade import GradeResult, grade_submission
from mlops_course.grading.labs import make_student_version

ADD_CHECKS = {"check-add", "check-add-negative", "check-add-hidden"}
WRONG_ADD = "def add(a, b):\n    return -1"


def _grade(make_solution, tmp_path: Path, cells: dict[str, str], after: str = "") -> GradeResult:
    """Grade the untouched lab with ``cells`` (id -> source) replaced, and ``after`` appended
    as a cell of its own after the first exercise (a kept cell)."""
    notebook = make_student_version(make_solution())
    for cell in notebook.cells:
        if cell.get("id") in cells:
            cell.source = cells[cell.id]
    if after:
        position = next(i for i, c in enumerate(notebook.cells) if c.get("id") == "ex-add") + 1
        notebook.cells.insert(position, nbformat.v4.new_code_cell(after))
    path = tmp_path / "hostile.ipynb"
    nbformat.write(notebook, path)
    return grade_submission(path, tmp_path / "solutions", timeout=30)


def _passed(result: GradeResult) -> set[str]:
    return {c.check for c in result.checks if c.passed}


@pytest.fixture
def hostile(course, make_solution, tmp_path):
    """Grade a hostile variant of the untouched mini lab."""

    def grade(cells: dict[str, str] | None = None, after: str = "") -> GradeResult:
        return _grade(make_solution, tmp_path, cells or {}, after)

    return grade


PATCH_ISCLOSE = "import math\nmath.isclose = lambda *args, **kwargs: True"
REDEFINE_HELPER = "def close(value, expected):\n    return True"


@pytest.mark.parametrize(
    "attack",
    [PATCH_ISCLOSE, REDEFINE_HELPER],
    ids=["library patched", "helper redefined"],
)
def test_a_kept_cell_that_rewrites_the_rules_is_never_run(hostile, attack: str) -> None:
    result = hostile({"ex-add": WRONG_ADD}, after=attack)
    assert "check-add-hidden" not in _passed(result)
    assert result.score == 0


@pytest.mark.parametrize(
    "attack",
    [PATCH_ISCLOSE, REDEFINE_HELPER],
    ids=["library patched", "helper redefined"],
)
def test_an_exercise_cell_that_rewrites_the_rules_changes_only_its_own_kernel(
    hostile, attack: str
) -> None:
    result = hostile({"ex-add": WRONG_ADD + "\n\n" + attack})
    assert not _passed(result) & ADD_CHECKS, _passed(result)


def test_a_function_that_patches_a_library_when_called_patches_only_the_kernel(hostile) -> None:
    add = "def add(a, b):\n    import math\n    math.isclose = lambda *x, **k: True\n    return -1"
    result = hostile({"ex-add": add})
    assert not _passed(result) & ADD_CHECKS, _passed(result)


ALWAYS_EQUAL = "    def __eq__(self, other):\n        return True\n\n    __hash__ = None\n"


@pytest.mark.parametrize(
    "answer",
    [
        "class Yes:\n" + ALWAYS_EQUAL + "\n\ndef add(a, b):\n    return Yes()",
        "class Yes(int):\n" + ALWAYS_EQUAL + "\n\ndef add(a, b):\n    return Yes(0)",
        "class Yes(float):\n" + ALWAYS_EQUAL + "    def __sub__(self, other):\n        return 0.0\n"
        "\n    __rsub__ = __sub__\n\n\ndef add(a, b):\n    return Yes(0)",
    ],
    ids=["object", "int subclass", "float subclass"],
)
def test_an_answer_that_equals_everything_equals_nothing(hostile, answer: str) -> None:
    """Only exact builtin types come back as values: a subclass stays a handle in the kernel."""
    result = hostile({"ex-add": answer})
    assert not _passed(result) & ADD_CHECKS, _passed(result)


def test_an_input_transformer_cannot_rewrite_the_checks(hostile) -> None:
    """Checked on the previous grader: this made every later check pass."""
    transformer = (
        "def neuter(lines):\n"
        "    return [line.replace('assert ', 'pass  # ') for line in lines]\n\n"
        "get_ipython().input_transformers_post.append(neuter)\n"
    )
    result = hostile({"ex-add": WRONG_ADD + "\n" + transformer})
    assert result.score == 0, _passed(result)


def test_exiting_in_a_kept_cell_changes_nothing(hostile) -> None:
    solved = "def add(a, b):\n    return a + b"
    result = hostile({"ex-add": solved}, after="import sys\nsys.exit(0)")
    assert _passed(result) == ADD_CHECKS


def test_the_kernel_cannot_forge_results_or_see_the_hidden_checks(hostile) -> None:
    """The kernel has no descriptor of the grader's, no access to the checker, no hidden source.

    The attack writes a fake 'passed' line for every check into each pipe it can find, looks
    for the hidden check's source in its own memory, and tries to read the checker's memory and
    descriptors (opening one would hand it the result pipe). Any success fails the cell with
    LEAKED, which the test would see.
    """
    attack = r"""
import gc, json, os
leaks = []
for name in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{name}")
    except OSError:
        continue
    if target.startswith("pipe:"):
        for check in ["check-add", "check-add-negative", "check-add-hidden", "check-mul"]:
            try:
                os.write(int(name), (json.dumps({"cell": check, "error": None}) + "\n").encode())
            except OSError:
                pass
if any(isinstance(o, str) and "add(0.5, 0.25)" in o for o in gc.get_objects()):
    leaks.append("the hidden check's source is in the kernel")
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            status = open(f"/proc/{pid}/status").read()
        except OSError:
            continue
        if f"PPid:\t{os.getpid()}\n" in status:
            for what in ("mem", "environ"):
                try:
                    open(f"/proc/{pid}/{what}", "rb").read(1)
                    leaks.append(f"read /proc/{pid}/{what}")
                except OSError:
                    pass
            try:
                numbers = os.listdir(f"/proc/{pid}/fd")  # allowed: the numbers are no secret
            except OSError:
                numbers = []
            for number in numbers:
                try:
                    os.close(os.open(f"/proc/{pid}/fd/{number}", os.O_WRONLY))
                    leaks.append(f"opened /proc/{pid}/fd/{number}")
                except OSError:
                    pass
if leaks:
    raise RuntimeError("LEAKED: " + "; ".join(leaks))
"""
    result = hostile({"ex-add": WRONG_ADD + "\n" + attack})
    assert "LEAKED" not in result.failures.get("ex-add", ""), result.failures["ex-add"]
    assert result.score == 0, _passed(result)


def test_the_kernel_cannot_read_the_solutions_or_their_git_history(
    course, make_solution, tmp_path
) -> None:
    """The solutions hold every answer and the hidden checks; so does the repository's history."""
    solutions, _ = course
    git = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    git |= {"GIT_COMMITTER_EMAIL": "t@t", "PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    for command in (["init", "-q"], ["add", "solutions"], ["commit", "-q", "-m", "solutions"]):
        subprocess.run(["git", *command], cwd=tmp_path, env=git, check=True)
    attack = (
        "import os, pathlib\n"
        "leaks = []\n"
        f"for path in [{str(solutions / 'stage0' / 'mini.ipynb')!r}, {str(tmp_path / '.git')!r}]:\n"
        "    path = pathlib.Path(path)\n"
        "    if path.is_file() or (path.is_dir() and any(path.iterdir())):\n"
        "        leaks.append(str(path))\n"
        "if leaks:\n"
        "    raise RuntimeError(f'LEAKED: {leaks}')\n"
    )
    notebook = make_student_version(make_solution())
    cell = next(c for c in notebook.cells if c.get("id") == "ex-add")
    cell.source = "def add(a, b):\n    return a + b\n" + attack
    path = tmp_path / "submissions" / "reader.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    result = grade_submission(path, solutions, timeout=30)
    assert "ex-add" not in result.failures, result.failures["ex-add"]
    assert _passed(result) == ADD_CHECKS, "hiding the solutions must not break honest work"
