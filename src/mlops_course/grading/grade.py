"""Grade lab submissions: execute each in a scratch folder and score every graded cell.

Grading trusts nothing in the submission. Of it, only the exercise cells run, after the
solution's own setup, in a kernel whose temporary folder is also its HOME, with a timeout on every
cell; the checks (the solution's, hidden ones included) run in a process forked from that kernel
right after setup, which no line of the submission runs in (grading/isolation.py). Each graded
cell scores on its own, so one failing check never zeroes the rest, and a broken submission (not
JSON, another lab, an endless loop, ``sys.exit()``) gets a clear message and the points for
whatever could be graded.

Where bubblewrap (``bwrap``, Debian package ``bubblewrap``) is installed, the kernel also runs with
the whole file system read-only except the scratch folder, so even an absolute path outside it
cannot be written, without capabilities, and without the solutions and their Git history.
Without it (macOS), HOME and the working directory still point into the scratch folder, which
stops honest mistakes but not a deliberate attack: there, grade untrusted submissions inside a
container or VM.
"""

from __future__ import annotations

import ast
import copy
import csv
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from mlops_course import forkserver
from mlops_course.grading.isolation import describe
from mlops_course.grading.labs import BEGIN, is_graded, is_hidden, lab_id, tags
from mlops_course.services import user_cache_dir

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class CheckResult:
    """The outcome of one graded cell."""

    check: str
    points: float
    max_points: float
    passed: bool
    message: str


@dataclass
class GradeResult:
    """The grade of one submission: every check, and a problem with the whole file if any."""

    submission: str
    student: str
    lab: str | None
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    # Every cell that failed or did not run (cell id -> message, in the order execution met them),
    # checks or not: it shows *where* an untouched lab first stops, proving its setup in one run.
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.checks)

    @property
    def percent(self) -> float:
        return round(100.0 * self.score / self.max_score, 1) if self.max_score else 0.0

    def to_dict(self) -> dict:
        return {
            "submission": self.submission,
            "student": self.student,
            "lab": self.lab,
            "score": self.score,
            "max_score": self.max_score,
            "percent": self.percent,
            "error": self.error,
            "seconds": round(self.seconds, 1),
            "checks": [asdict(c) for c in self.checks],
        }

    def feedback_markdown(self) -> str:
        """A short report for the student: the score and what to fix."""
        lines = [
            f"# Feedback: {self.lab or 'unknown lab'}",
            "",
            f"**Score: {self.score:g} / {self.max_score:g} ({self.percent:g}%)**",
            "",
        ]
        if self.error:
            lines += [f"> **Problem with the submission:** {self.error}", ""]
        failed = [c for c in self.checks if not c.passed]
        if failed:
            lines += ["| check | points | why it failed |", "| --- | --- | --- |"]
            lines += [
                f"| `{c.check}` | 0 / {c.max_points:g} | {c.message.replace('|', '/')} |"
                for c in failed
            ]
        else:
            lines.append("Every check passed. Well done.")
        return "\n".join(lines) + "\n"


def index_solutions(solutions_dir: Path) -> dict[str, Path]:
    """Map each lab id to its solution notebook."""
    found: dict[str, Path] = {}
    for path in sorted(Path(solutions_dir).rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        lab = lab_id(nbformat.read(path, as_version=4))
        if lab:
            found[lab] = path
    return found


def _checks_of(solution: NotebookNode) -> list[NotebookNode]:
    return [cell for cell in solution.cells if is_graded(cell)]


def inject_parameters(notebook: NotebookNode, parameters: dict[str, object]) -> NotebookNode:
    """A copy of ``notebook`` with ``parameters`` set in a cell right after its parameters cell.

    This is what papermill does (same tag, ``injected-parameters``), so grading a lab with its
    small CI parameters proves in the same run that the lab honours them. Values are written with
    ``repr``, so only Python literals (numbers, strings, lists, dicts) are allowed.
    """
    injected = copy.deepcopy(notebook)
    if not parameters:
        return injected
    lines = ["# Parameters injected by the grader"]
    lines += [f"{name} = {value!r}" for name, value in parameters.items()]
    cell = new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
    tagged = [i for i, c in enumerate(injected.cells) if "parameters" in tags(c)]
    injected.cells.insert(tagged[0] + 1 if tagged else 0, cell)
    return injected


def _error_message(cell: NotebookNode) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            name, value = output.get("ename", "Error"), output.get("evalue", "")
            return describe(name, _ANSI.sub("", value))
    return None


def _kernel_env(scratch: Path) -> dict[str, str]:
    (scratch / "tmp").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(scratch),
            # The grader's cache, read-only under the sandbox: a server the lab starts copies the
            # migrated empty MLflow database from it instead of migrating one for every student.
            "XDG_CACHE_HOME": str(user_cache_dir()),
            "TMPDIR": str(scratch / "tmp"),
            "MLOPS_WORKDIR": str(scratch / ".mlops"),
            "MLOPS_DATA_DIR": str(scratch / "data"),
            "MPLBACKEND": "Agg",
            # One thread per kernel: on a busy 2-core grader, OpenMP oversubscription made a
            # half-second model fit take twenty seconds (the results are identical).
            "OMP_NUM_THREADS": "1",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLOPS_TRACKING_URI", None)
    # make test's fork server runs processes outside any sandbox: a submission must not reach it
    # (its sandbox mounts its own /tmp as well, where the server's socket would be).
    env.pop(forkserver.ENV, None)
    return env


def sandbox_available() -> bool:
    """Whether kernels can run under bubblewrap with a read-only file system."""
    return shutil.which("bwrap") is not None


def secrets_of(solutions_dir: Path) -> list[Path]:
    """What a graded kernel must not read: the solutions, and the Git history that holds them.

    Other copies of the solutions on the grading machine stay readable: grade on a machine, or
    in a container, that holds only what grading needs.
    """
    solutions = Path(solutions_dir).resolve()
    hidden = [solutions]
    for folder in [solutions, *solutions.parents]:
        if (folder / ".git").exists():
            hidden.append(folder / ".git")
            break
    return hidden


def _sandboxed_kernel(scratch: Path, hidden: list[Path] | None = None) -> AsyncKernelManager:
    """A kernel manager whose kernel can write only inside ``scratch`` (needs bwrap).

    TMPDIR points into the scratch folder and /var/tmp is replaced by a folder inside it, because
    tools (tempfile, DVC's site cache) write there. /tmp itself stays read-only rather than
    replaced: the kernel's connection file may live there. Its TCP ports on loopback stay open.
    Each path of ``hidden`` is covered by an empty folder (or, for a file, an empty file): the
    solutions with their hidden checks, say.
    """
    for name in ("tmp", "vartmp", "kernels/grading-sandbox"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    argv = [
        shutil.which("bwrap") or "bwrap",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        *[arg for path in hidden or [] if path.exists() for arg in _cover(path)],
        "--bind", str(scratch / "vartmp"), "/var/tmp",
        "--bind", str(scratch), str(scratch),
        "--die-with-parent",
        # The kernel in a session (and process group) of its own, interrupted by a message: an
        # interrupt signal sent to bwrap's group would kill bwrap, and the kernel with it.
        "--new-session",
        # Even when the grader runs as root: no capability inside, so the kernel can neither
        # remount the file system writable nor trace the checker (grading/isolation.py).
        "--cap-drop", "ALL",
        "--chdir", str(scratch),
        sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
    ]  # fmt: skip
    spec = {
        "argv": argv,
        "display_name": "grading sandbox",
        "language": "python",
        "interrupt_mode": "message",
    }
    (scratch / "kernels" / "grading-sandbox" / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(scratch / "kernels")])
    return AsyncKernelManager(kernel_name="grading-sandbox", kernel_spec_manager=specs)


def _cover(path: Path) -> list[str]:
    if path.is_dir():
        return ["--tmpfs", str(path)]
    return ["--ro-bind", os.devnull, str(path)]


def execute(
    notebook: NotebookNode,
    scratch: Path,
    timeout: float,
    kernel_name: str = "python3",
    sandbox: bool | None = None,
    *,
    pass_fds: tuple[int, ...] = (),
    timeout_of: Callable[[NotebookNode], float] | None = None,
    hidden: list[Path] | None = None,
) -> dict[str, str]:
    """Run every cell in ``scratch``; return the failure message of each failed or unrun cell.

    ``sandbox``: run the kernel under bubblewrap (default: whenever ``bwrap`` is installed).
    ``pass_fds``: descriptors the kernel inherits (closed here once it has started).
    ``timeout_of``: a cell's own timeout, where it differs from ``timeout``.
    ``hidden``: paths the sandboxed kernel must not see (secrets_of).
    """
    failures: dict[str, str] = {}
    sandbox = sandbox_available() if sandbox is None else sandbox
    client = NotebookClient(
        notebook,
        km=_sandboxed_kernel(scratch, hidden or []) if sandbox else None,
        timeout=int(timeout),
        timeout_func=(lambda cell: int(timeout_of(cell))) if timeout_of else None,
        kernel_name=kernel_name,
        allow_errors=False,
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": "Timeout",
            "evalue": f"the cell ran longer than {timeout:g} s and was interrupted",
            "traceback": [],
        },
        resources={"metadata": {"path": str(scratch)}},
    )
    stopped: str | None = None
    try:
        # nbclient shuts a kernel down only when it made the kernel manager itself: with the
        # sandbox's manager (ours) it would leave the kernel running after the notebook, one
        # idle kernel and its bwrap per graded submission (a class of 100 is 100 of them).
        kernel = client.setup_kernel(
            env=_kernel_env(scratch), cwd=str(scratch), cleanup_kc=True, pass_fds=pass_fds
        )
        with kernel:
            _close(pass_fds)
            for index, cell in enumerate(notebook.cells):
                if stopped:
                    failures[cell.get("id", str(index))] = stopped
                    continue
                if cell.cell_type != "code":
                    continue
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError:
                    message = _error_message(cell) or "the cell raised an error"
                    # The grader interrupts a cell only when it runs past its timeout.
                    if message.startswith("KeyboardInterrupt"):
                        limit = timeout_of(cell) if timeout_of else timeout
                        message = (
                            f"Timeout: the cell ran longer than {limit:g} s and was interrupted"
                        )
                    failures[cell.id] = message
                except DeadKernelError:
                    failures[cell.id] = "the kernel died in this cell (exit() or a crash?)"
                    stopped = "not run: the kernel died in an earlier cell"
    except DeadKernelError:
        pass
    except Exception as error:  # a broken kernel must not stop the grading of a class
        stopped = f"not run: the notebook could not be executed ({type(error).__name__}: {error})"
    finally:
        _close(pass_fds)
    for index, cell in enumerate(notebook.cells):
        key = cell.get("id", str(index))
        if cell.cell_type == "code" and key not in failures:
            found = _error_message(cell)
            if found:
                failures[key] = found
            elif cell.get("execution_count") is None and cell.source.strip():
                failures[key] = stopped or "not run"
    return failures


def _close(descriptors: tuple[int, ...]) -> None:
    for descriptor in descriptors:
        with suppress(OSError):
            os.close(descriptor)


def _defined_names(source: str) -> list[str]:
    """The names a solution's exercise cell defines at top level: what the checks may use."""
    names: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                elements = target.elts if isinstance(target, ast.Tuple) else [target]
                names += [e.id for e in elements if isinstance(e, ast.Name)]
    return list(dict.fromkeys(names))


def _is_exercise(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and BEGIN in cell.source and not is_graded(cell)


@dataclass
class _Split:
    """A lab cut for grading: what the kernel runs, and the plan of the isolated checker."""

    kernel: NotebookNode
    steps: list[dict]
    setup: list[str]  # ids of the setup cells (the kernel runs them before the checker exists)
    order: list[str]  # every code cell of the solution, in order

    def timeout_of(self, timeout: float) -> Callable[[NotebookNode], float]:
        """A sync cell waits while the checker replays the cells up to the next exercise."""
        replayed: dict[str, int] = {}
        count, sync = 0, 0
        for step in self.steps:
            if step["kind"] == "exercise":
                if sync:
                    replayed[f"grading-sync-{sync}"] = count
                sync, count = sync + 1, 0
            else:
                count += 1
        replayed[f"grading-sync-{sync}"] = count

        def timeout_of(cell: NotebookNode) -> float:
            cell_id = cell.get("id", "")
            return timeout * (1 + replayed[cell_id]) + 30 if cell_id in replayed else timeout

        return timeout_of


def split_for_grading(
    submission: NotebookNode, solution: NotebookNode, plan_fd: int, result_fd: int, timeout: float
) -> _Split:
    """The kernel's notebook and the checker's plan for ``submission``.

    The kernel runs the solution's setup (every code cell before the first exercise, with the
    solution's parameters), starts the checker, then runs the submission's exercise cells and
    nothing else of it: a cell the learner added or changed outside the exercises is not run,
    so it cannot redefine a helper or patch a library. The checker replays the solution's
    other cells, checks included, with the names each exercise defines.
    """
    code = [cell for cell in solution.cells if cell.cell_type == "code"]
    first = next((i for i, cell in enumerate(code) if _is_exercise(cell)), len(code))
    setup = [cell for cell in code[:first] if not is_graded(cell)]
    learner = {cell.get("id"): cell for cell in submission.cells if cell.cell_type == "code"}
    harness = new_code_cell(
        "import mlops_course.grading.isolation as _grading\n"
        f"_grading.start({plan_fd}, {result_fd}, timeout={timeout!r})"
    )
    harness.id = "grading-start"
    cells = [copy.deepcopy(cell) for cell in setup] + [harness]
    steps: list[dict] = []
    setup_ids = {cell.id for cell in setup}
    for cell in code:
        if cell.id in setup_ids:
            continue
        if _is_exercise(cell):
            mine = copy.deepcopy(learner[cell.id]) if cell.id in learner else new_code_cell("")
            mine.id, mine.outputs, mine.execution_count = cell.id, [], None
            sync = new_code_cell(
                f"import mlops_course.grading.isolation as _grading\n_grading.sync({cell.id!r})"
            )
            sync.id = f"grading-sync-{len([s for s in steps if s['kind'] == 'exercise']) + 1}"
            cells += [mine, sync]
            steps.append({"kind": "exercise", "id": cell.id, "names": _defined_names(cell.source)})
        else:
            steps.append(
                {"kind": "cell", "id": cell.id, "source": cell.source, "graded": is_graded(cell)}
            )
    kernel = copy.deepcopy(solution)
    kernel.cells = cells
    return _Split(kernel, steps, [c.id for c in setup], [c.id for c in code])


def execute_isolated(
    submission: NotebookNode,
    solution: NotebookNode,
    scratch: Path,
    timeout: float,
    kernel_name: str = "python3",
    parameters: dict[str, object] | None = None,
    hidden: list[Path] | None = None,
) -> dict[str, str]:
    """Grade-run ``submission``: its exercises in the kernel, the checks in the checker.

    Returns the failure message of each solution code cell that failed or did not run, in the
    solution's order (mlops_course.grading.isolation explains the two processes).
    """
    if not hasattr(os, "fork"):
        message = "not run: grading needs os.fork (Linux or macOS; on Windows use WSL)"
        return {cell.id: message for cell in solution.cells if is_graded(cell)}
    results_read, results_write = os.pipe()
    with tempfile.TemporaryFile() as plan_file:
        plan_fd = os.dup(plan_file.fileno())  # the kernel's copy: execute() closes it
        split = split_for_grading(submission, solution, plan_fd, results_write, timeout)
        plan_file.write(json.dumps({"steps": split.steps}).encode())
        plan_file.flush()
        os.lseek(plan_fd, 0, os.SEEK_SET)
        lines: list[dict] = []
        reader = threading.Thread(target=_read_results, args=(results_read, lines), daemon=True)
        reader.start()
        kernel_failures = execute(
            inject_parameters(split.kernel, parameters or {}),
            scratch,
            timeout,
            kernel_name,
            pass_fds=(plan_fd, results_write),
            timeout_of=split.timeout_of(timeout),
            hidden=hidden,
        )
    reader.join(60)
    checker = next((line["pid"] for line in lines if type(line.get("pid")) is int), None)
    if reader.is_alive() and checker:
        with suppress(OSError):
            os.kill(checker, signal.SIGKILL)
        reader.join(10)
    with suppress(OSError):
        os.close(results_read)
    return _merge_failures(split, kernel_failures, lines)


def _read_results(descriptor: int, lines: list[dict]) -> None:
    with os.fdopen(descriptor, "r", closefd=False) as results:
        for line in results:
            with suppress(ValueError):
                data = json.loads(line)
                if type(data) is dict:
                    lines.append(data)


def _merge_failures(split: _Split, kernel: dict[str, str], lines: list[dict]) -> dict[str, str]:
    checked = {line["cell"]: line.get("error") for line in lines if type(line.get("cell")) is str}
    died = next((m for m in kernel.values() if "kernel died" in m), None)
    started = kernel.get("grading-start")
    why = (
        f"not run: the grading harness failed ({started})"
        if started
        else died and "not run: the kernel died in an earlier cell"
    ) or "not run: the checks stopped before this cell"
    exercises = {step["id"] for step in split.steps if step["kind"] == "exercise"}
    failures: dict[str, str] = {}
    for cell_id in split.order:
        if cell_id in split.setup or cell_id in exercises:
            message = kernel.get(cell_id)
            if cell_id in exercises and checked.get(cell_id):
                message = message or checked[cell_id]
        elif cell_id in checked:
            message = checked[cell_id]
        else:
            message = why
        if message:
            failures[cell_id] = message
    return failures


def _failed_checks(solution: NotebookNode | None, message: str) -> list[CheckResult]:
    if solution is None:
        return []
    return [
        CheckResult(c.id, 0.0, float(c.metadata["points"]), False, message)
        for c in _checks_of(solution)
    ]


def grade_submission(
    path: Path,
    solutions_dir: Path = Path("solutions"),
    *,
    timeout: float = 120.0,
    expected_lab: str | None = None,
    kernel_name: str = "python3",
    parameters: dict[str, object] | None = None,
) -> GradeResult:
    """Grade one notebook; never raises for a bad submission, reports it in the result.

    ``parameters`` overrides the lab's parameters cell, as papermill would (CI grades each lab
    with the small ``ci_parameters`` of its solution's metadata).
    """
    path = Path(path)
    started = time.monotonic()
    solutions = index_solutions(solutions_dir)
    expected_solution = (
        nbformat.read(solutions[expected_lab], as_version=4) if expected_lab in solutions else None
    )
    result = GradeResult(str(path), path.stem, expected_lab)

    def finish(error: str | None, checks: list[CheckResult]) -> GradeResult:
        result.error, result.checks = error, checks
        result.seconds = time.monotonic() - started
        return result

    try:
        submission = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        return finish(f"no such file: {path}", _failed_checks(expected_solution, "not graded"))
    except Exception as error:  # any unreadable file gets the same treatment
        first_line = (str(error).splitlines() or [type(error).__name__])[0][:60]
        message = f"not a valid notebook (is the file complete JSON?): {first_line}"
        return finish(message, _failed_checks(expected_solution, "not graded: unreadable file"))

    lab = lab_id(submission)
    result.lab = lab or expected_lab
    if lab is None:
        message = "the notebook has no metadata.mlops_course.lab: is it one of the course's labs?"
        return finish(message, _failed_checks(expected_solution, "not graded"))
    if expected_lab and lab != expected_lab:
        message = f"this notebook is lab {lab!r}, but {expected_lab!r} is being graded"
        return finish(message, _failed_checks(expected_solution, "not graded: wrong lab"))
    if lab not in solutions:
        known = ", ".join(sorted(solutions)) or "none"
        return finish(f"no solution for lab {lab!r} in {solutions_dir} (known: {known})", [])

    solution = nbformat.read(solutions[lab], as_version=4)
    scratch = Path(tempfile.mkdtemp(prefix="mlops-grade-"))
    _copy_lab_folder(solutions[lab].parent, scratch)
    try:
        failures = execute_isolated(
            submission,
            solution,
            scratch,
            timeout,
            kernel_name,
            parameters,
            hidden=secrets_of(solutions_dir),
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.failures = failures
    checks = []
    for cell in _checks_of(solution):
        points = float(cell.metadata["points"])
        failure = failures.get(cell.id)
        visible = "" if not is_hidden(cell) else " (hidden check)"
        if failure is None:
            checks.append(CheckResult(cell.id, points, points, True, "passed" + visible))
        else:
            checks.append(CheckResult(cell.id, 0.0, points, False, failure + visible))
    return finish(None, checks)


def _copy_lab_folder(folder: Path, scratch: Path) -> None:
    """Give the submission the files a lab reads next to itself (never other notebooks)."""
    for item in folder.iterdir():
        if item.suffix == ".ipynb" or item.name.startswith("."):
            continue
        target = scratch / item.name
        if item.is_dir():
            shutil.copytree(item, target)
        else:
            shutil.copy2(item, target)


def grade_directory(
    folder: Path,
    out: Path,
    solutions_dir: Path = Path("solutions"),
    *,
    lab: str | None = None,
    timeout: float = 120.0,
    kernel_name: str = "python3",
    progress=None,
) -> list[GradeResult]:
    """Grade every ``*.ipynb`` in ``folder`` (one per student), write the gradebook and feedback.

    Without ``lab``, the assignment is the lab most submissions belong to, so a stray notebook of
    another lab is reported instead of graded against the wrong checks. The gradebook is written
    to a temporary file and renamed, so an interrupted run never leaves a half-written CSV.
    """
    submissions = sorted(Path(folder).glob("*.ipynb"))
    if not submissions:
        raise FileNotFoundError(f"no .ipynb submissions in {folder}")
    expected = lab or _majority_lab(submissions)
    results = []
    for path in submissions if progress is None else progress(submissions):
        results.append(
            grade_submission(
                path,
                solutions_dir,
                timeout=timeout,
                expected_lab=expected,
                kernel_name=kernel_name,
            )
        )
    write_gradebook(results, out)
    feedback_dir = Path(out).parent / "feedback"
    feedback_dir.mkdir(parents=True, exist_ok=True)
    for result in results:
        (feedback_dir / f"{result.student}.md").write_text(result.feedback_markdown())
    return results


def _majority_lab(submissions: list[Path]) -> str | None:
    labs: Counter[str] = Counter()
    for path in submissions:
        try:
            found = lab_id(nbformat.read(path, as_version=4))
        except Exception:  # unreadable files are reported when graded
            continue
        if found:
            labs[found] += 1
    return labs.most_common(1)[0][0] if labs else None


def write_gradebook(results: list[GradeResult], out: Path) -> None:
    """One row per student with the total and the points of every check; written atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    check_ids: list[str] = []
    for result in results:
        check_ids += [c.check for c in result.checks if c.check not in check_ids]
    header = ["student", "lab", "score", "max_score", "percent", "error", *check_ids]
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for r in results:
                points = {c.check: c.points for c in r.checks}
                row = [r.student, r.lab or "", r.score, r.max_score, r.percent, r.error or ""]
                writer.writerow(row + [points.get(c, "") for c in check_ids])
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_json(results: list[GradeResult] | GradeResult) -> str:
    if isinstance(results, GradeResult):
        return json.dumps(results.to_dict(), indent=2)
    return json.dumps([r.to_dict() for r in results], indent=2)
