"""``mlops-course``: one command-line entry point over the whole package.

Every step a notebook shows can also be run from a terminal or a CI job with this command, so the
workflows in ``.github/`` call the same code that the tests exercise.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, ClassVar

import click
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from mlops_course import __version__, doctor, services, template
from mlops_course.exits import HELP, ExitCode, fail
from mlops_course.settings import get_settings


class _LazyCommands(TyperGroup):
    """The top-level command group; the command groups of ``LAZY`` are imported when first used.

    Every ``mlops-course`` process pays for the imports of the modules that define its commands:
    the gate's pull in scikit-learn, the monitor's SciPy, continuous training's MLflow, seconds in
    all. A DVC pipeline step or ``mlops-course --version`` needs none of them, so those groups are
    looked up by name, and only the one being run (or all of them, for ``--help``) is imported.
    """

    LAZY: ClassVar[dict[str, str]] = {
        "monitor": "mlops_course.monitoring.cli",
        "gate": "mlops_course.gate.cli",
        "ct": "mlops_course.pipelines.cli",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self.LAZY]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.LAZY:
            return super().get_command(ctx, cmd_name)
        command = typer.main.get_command(importlib.import_module(self.LAZY[cmd_name]).app)
        command.name = cmd_name
        return command


app = typer.Typer(
    cls=_LazyCommands,
    help="The mlops-course toolkit: data, services, training and labs of the course.",
    epilog=HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
services_app = typer.Typer(help="Start, stop and inspect the local services.", no_args_is_help=True)
app.add_typer(services_app, name="services")
app.command("new")(template.new_command)
app.command("update")(template.update_command)
app.command("doctor")(doctor.doctor_command)
console = Console()
err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        console.print(f"mlops-course {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """The mlops-course toolkit."""


@services_app.command("up")
def services_up() -> None:
    """Start the MLflow server in the background (it keeps running until `services down`)."""
    state = services.read_state()
    running = state.get("mlflow")
    if running is not None and running.is_running():
        console.print(f"mlflow is already running at {running.url} (pid {running.pid})")
        return
    try:
        service = services.start_mlflow(detach=True)
    except services.ServiceError as error:
        fail(str(error), ExitCode.UNREACHABLE)
    state["mlflow"] = service
    services.write_state(state)
    console.print(f"mlflow is up at [bold]{service.url}[/] (pid {service.pid})")
    console.print(f"use it with: export MLOPS_TRACKING_URI={service.url}")


@services_app.command("down")
def services_down() -> None:
    """Stop every service that `services up` started."""
    state = services.read_state()
    if not state:
        console.print("no services are running")
        return
    for name, service in state.items():
        service.stop()
        console.print(f"stopped {name} (pid {service.pid})")
    services.write_state({})


@services_app.command("status")
def services_status() -> None:
    """Show each recorded service, its address and whether it answers."""
    state = services.read_state()
    table = Table("service", "url", "pid", "running", "healthy")
    for name, service in state.items():
        alive = service.is_running()
        healthy = alive and service.is_healthy()
        table.add_row(name, service.url, str(service.pid), _yes(alive), _yes(healthy))
    if not state:
        console.print("no services recorded; start them with: mlops-course services up")
    else:
        console.print(table)


@app.command()
def serve(
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default: MLOPS_API_PORT, else 8000).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface (default: MLOPS_HOST).")] = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow server (default: MLOPS_TRACKING_URI).")
    ] = None,
    model_name: Annotated[str | None, typer.Option(help="Registered model.")] = None,
    alias: Annotated[str | None, typer.Option(help="Alias to serve (default: champion).")] = None,
    watch_alias: Annotated[
        bool | None, typer.Option("--watch-alias/--no-watch-alias", help="Follow the alias.")
    ] = None,
) -> None:
    """Serve the champion model over HTTP until Ctrl-C (token for reloads: MLOPS_API_TOKEN)."""
    from mlops_course.serving import ServingSettings
    from mlops_course.serving import serve as run_server
    from mlops_course.serving.server import listen_address

    values = {
        "tracking_uri": tracking_uri,
        "model_name": model_name,
        "model_alias": alias,
        "watch_alias": watch_alias,
    }
    overrides = {k: v for k, v in values.items() if v is not None}
    run_server(*listen_address(host, port), ServingSettings(**overrides))


def _yes(flag: bool) -> str:
    return "[green]yes[/]" if flag else "[red]no[/]"


def _scenario(name: str) -> str:
    from mlops_course.data.simulate import SCENARIOS

    if name not in SCENARIOS:
        raise typer.BadParameter(f"unknown scenario {name!r}; expected one of {list(SCENARIOS)}")
    return name


@app.command()
def simulate(
    day: Annotated[int, typer.Option(min=0, help="Day index (0 is the first day).")],
    out: Annotated[Path, typer.Option(help="Parquet or CSV file to write.")],
    scenario: Annotated[str, typer.Option(callback=_scenario, help="Drift scenario.")] = "none",
    n: Annotated[int | None, typer.Option(min=1, help="Trips in the batch.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: settings).")] = None,
) -> None:
    """Write one simulated daily batch of trips to a file."""
    from mlops_course.data.simulate import simulate_day

    frame = simulate_day(day, seed=seed, scenario=scenario, n=n)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        frame.to_csv(out, index=False)
    elif out.suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        fail(f"cannot write {out.name}: use a .parquet or .csv file name")
    console.print(f"wrote {len(frame)} trips of day {day} ({scenario}) to {out}")


@app.command("validate")
def validate_file(
    path: Annotated[Path, typer.Argument(help="A batch as .parquet or .csv.")],
) -> None:
    """Validate a batch file; exit code 1 when it fails, so scripts and CI can stop on it."""
    import pandas as pd

    from mlops_course.data.validate import validate

    if not path.exists():
        fail(f"no such file: {path}")
    try:
        if path.suffix == ".csv":
            frame = pd.read_csv(path, parse_dates=["pickup_datetime"])
        else:
            frame = pd.read_parquet(path)
    except Exception as error:
        fail(f"cannot read {path} as a batch of trips: {error}")
    report = validate(frame, batch=path.stem)
    console.print(report.summary(), markup=False, highlight=False)
    if not report.ok:
        raise typer.Exit(ExitCode.NO)


@app.command()
def collect(
    days: Annotated[int, typer.Option(min=1, help="How many days to collect.")] = 7,
    first_day: Annotated[int, typer.Option(min=0, help="First day to collect.")] = 0,
    scenario: Annotated[str, typer.Option(callback=_scenario, help="Drift scenario.")] = "none",
) -> None:
    """Collect daily batches into data/raw; bad batches go to data/quarantine with a report."""
    from mlops_course.data.collect import batch_name, ingest_batch
    from mlops_course.data.simulate import simulate_day

    settings = get_settings()
    quarantined = 0
    for day in range(first_day, first_day + days):
        result = ingest_batch(simulate_day(day, scenario=scenario), batch_name(day))
        quarantined += result.quarantined
        mark = "[red]quarantined[/]" if result.quarantined else "[green]ok[/]"
        console.print(f"day {day:3d}: {mark}  {result.path}")
    console.print(
        f"{days - quarantined} batches in {settings.raw_dir}, {quarantined} in "
        f"{settings.quarantine_dir}"
    )


labs_app = typer.Typer(
    help="Student labs generated from the solution notebooks.", no_args_is_help=True
)
app.add_typer(labs_app, name="labs")


@labs_app.command("generate")
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


@app.command()
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
        table.add_row(c.check, f"{c.points:g}/{c.max_points:g}", _yes(c.passed), c.message)
    console.print(table)
    if result.error:
        err.print(f"[bold red]problem:[/] {result.error}")
    console.print(f"score: [bold]{result.score:g} / {result.max_score:g}[/] ({result.percent:g}%)")


pipeline_app = typer.Typer(
    help="The steps of the DVC pipeline in dvc.yaml (run them with `dvc repro`).",
    no_args_is_help=True,
)
app.add_typer(pipeline_app, name="pipeline")


def _run_step(step: str, params_file: Path) -> None:
    from mlops_course import dvc_stages as stages

    try:
        params = stages.load_params(params_file)
        if step == "ingest":
            written = stages.ingest(params)
            console.print(f"ingested {len(written)} daily batches into {stages.LANDING}")
        elif step == "validate":
            summary = stages.validate_batches()
            console.print(f"all {summary['passed']} batches passed validation")
        elif step == "featurize":
            sizes = stages.featurize(params)
            console.print(f"train: {sizes['train']} trips, eval: {sizes['eval']} trips")
        elif step == "train":
            path = stages.train_model(params)
            console.print(f"trained a {params.train.kind} model into {path}")
        else:
            metrics = stages.evaluate_model(params)
            console.print(
                f"mae {metrics['mae']:.3f} min (baseline {metrics['baseline_mae']:.3f}), "
                f"r2 {metrics['r2']:.3f}"
            )
    except stages.PipelineStopped as stop:
        err.print(f"[bold red]pipeline stopped:[/] {stop}", markup=True, highlight=False)
        raise typer.Exit(ExitCode.NO) from None
    except stages.PipelineError as error:
        fail(str(error))


_PARAMS = Annotated[Path, typer.Option("--params", help="Parameters file.")]


@pipeline_app.command("ingest")
def pipeline_ingest(params: _PARAMS = Path("params.yaml")) -> None:
    """Simulate the configured days into data/landing."""
    _run_step("ingest", params)


@pipeline_app.command("validate")
def pipeline_validate(params: _PARAMS = Path("params.yaml")) -> None:
    """Validate every landed batch; quarantine bad ones and stop the pipeline (exit 1)."""
    _run_step("validate", params)


@pipeline_app.command("featurize")
def pipeline_featurize(params: _PARAMS = Path("params.yaml")) -> None:
    """Split validated days into training and evaluation sets."""
    _run_step("featurize", params)


@pipeline_app.command("train")
def pipeline_train(params: _PARAMS = Path("params.yaml")) -> None:
    """Fit the configured model and save it to models/model.skops."""
    _run_step("train", params)


@pipeline_app.command("evaluate")
def pipeline_evaluate(params: _PARAMS = Path("params.yaml")) -> None:
    """Write metrics/eval.json and the plot data in plots/."""
    _run_step("evaluate", params)
