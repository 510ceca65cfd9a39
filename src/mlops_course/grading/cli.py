"""``mlops-course labs generate`` and ``mlops-course grade``: the instructor's commands.

``labs generate`` writes the student labs from the solutions; ``grade`` grades one submission or a
folder of them into a gradebook. Grading is not a check of the instructor's command: its exit code
is 0 whenever grading ran, whatever the scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mlops_course.exits import HELP, ExitCode, fail, yes_no

app = typer.Typer(
    help="Student labs generated from the solution notebooks.", epilog=HELP, no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


@app.callback()
def labs() -> None:
    """Student labs generated from the solution notebooks."""
    # A callback keeps `labs` a group (`mlops-course labs generate`) although it has one command.


@app.command("generate")
def labs_generate(
    check: Annotated[
        bool, typer.Option("--check", help="Only report whether labs/ is stale; exit 1 if so.")
    ] = False,
    solutions: Annotated[Path, typer.Option(help="Solution notebooks.")] = Path("solutions"),
    labs: Annotated[Path, typer.Option(help="Where the student labs go.")] = Path("labs"),
) -> None:
    """Write labs/ from solutions/: solutions stubbed, hidden checks dropped, outputs cleared."""
    from mlops_course.grading.labs import LabFormatError, generate, stale

    if not solutions.is_dir():
        fail(f"no solutions folder at {solutions}")
    try:
        if check:
            problems = stale(solutions, labs)
            for problem in problems:
                err.print(f"stale: {problem}", markup=False)
            if problems:
                fail(
                    "labs/ is out of date: run `mlops-course labs generate` and commit the result",
                    ExitCode.NO,
                )
            console.print(f"labs in {labs} are up to date with {solutions}")
            return
        written = generate(solutions, labs)
    except LabFormatError as error:
        fail(str(error))
    for path in written:
        console.print(f"wrote {path}")
    console.print(f"{len(written)} lab(s) written, the others were already up to date")


def grade(
    path: Annotated[Path, typer.Argument(help="A submission .ipynb, or a folder of them.")],
    solutions: Annotated[Path, typer.Option(help="Solution notebooks.")] = Path("solutions"),
    out: Annotated[
        Path | None, typer.Option(help="Gradebook CSV (folders only); feedback/ goes beside it.")
    ] = None,
    lab: Annotated[str | None, typer.Option(help="Lab id every submission must be.")] = None,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds allowed per cell.")] = 120.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Grade a submission, or a folder of submissions into a gradebook.

    The exit code is 0 whenever grading ran, whatever the scores.
    """
    from mlops_course.grading.grade import grade_directory, grade_submission, to_json

    if not solutions.is_dir():
        fail(f"no solutions folder at {solutions}")
    if path.is_dir():
        out = out or path / "gradebook.csv"
        from tqdm import tqdm

        def progress(items):
            return tqdm(items, desc="grading", unit="submission", disable=as_json)

        try:
            results = grade_directory(
                path, out, solutions, lab=lab, timeout=timeout, progress=progress
            )
        except FileNotFoundError as error:
            fail(str(error))
        if as_json:
            console.print_json(to_json(results))
            return
        table = Table("student", "lab", "score", "percent", "problem")
        for r in results:
            table.add_row(
                r.student,
                r.lab or "?",
                f"{r.score:g}/{r.max_score:g}",
                f"{r.percent:g}%",
                r.error or "",
            )
        console.print(table)
        console.print(f"gradebook: {out}; feedback: {out.parent / 'feedback'}/")
        return
    if not path.exists():
        fail(f"no such file: {path}")
    result = grade_submission(path, solutions, timeout=timeout, expected_lab=lab)
    if as_json:
        print(to_json(result))
        return
    table = Table("check", "points", "passed", "message", title=f"{path.name} ({result.lab})")
    for c in result.checks:
        table.add_row(c.check, f"{c.points:g}/{c.max_points:g}", yes_no(c.passed), c.message)
    console.print(table)
    if result.error:
        err.print(f"[bold red]problem:[/] {result.error}")
    console.print(f"score: [bold]{result.score:g} / {result.max_score:g}[/] ({result.percent:g}%)")
