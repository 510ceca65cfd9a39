"""``mlops-course``: one command-line entry point over the whole package.

Every step a notebook shows can also be run from a terminal or a CI job with this command, so the
workflows in ``.github/`` call the same code that the tests exercise. Each package owns its
commands (``data/cli.py``, ``serving/cli.py``, ``gate/cli.py``, ...); this module only registers
them on one app, and keeps the steps of the DVC pipeline (:mod:`mlops_course.dvc_stages`, a module
of its own rather than a package).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, ClassVar

import typer
from rich.console import Console
from typer import _click as click  # typer 0.29 vendors click: its own types, not the click package
from typer.core import TyperGroup

from mlops_course import __version__, doctor, template
from mlops_course.data import cli as data_cli
from mlops_course.exits import HELP, ExitCode, fail
from mlops_course.grading import cli as grading_cli
from mlops_course.serving import cli as serving_cli


class _LazyCommands(TyperGroup):
    """The top-level command group; the command groups of ``LAZY`` are imported when first used.

    Every ``mlops-course`` process pays for the imports of the modules that define its commands:
    the gate's pull in scikit-learn, the monitor's SciPy, continuous training's MLflow, seconds in
    all. A DVC pipeline step or ``mlops-course --help`` needs none of them, so those groups are
    looked up by name and imported only when one is run; ``--help`` lists them with the one-line
    help kept here (a unit test checks it is each group's own).
    """

    LAZY: ClassVar[dict[str, tuple[str, str]]] = {
        "containers": (
            "mlops_course.containers.cli",
            "Build the course's images (podman or Docker) and remove what the course started.",
        ),
        "ct": (
            "mlops_course.ct.cli",
            "Continuous training: simulate the loop, retrain, roll back, inspect.",
        ),
        "gate": (
            "mlops_course.gate.cli",
            "The quality gate: compare a candidate model with the champion; run the model checks.",
        ),
        "monitor": (
            "mlops_course.monitoring.cli",
            "Check simulated days for drift, data quality and performance.",
        ),
        "services": ("mlops_course.services.cli", "Start, stop and inspect the local services."),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.LAZY:
            return super().get_command(ctx, cmd_name)
        module, _ = self.LAZY[cmd_name]
        command = typer.main.get_command(importlib.import_module(module).app)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, without importing the lazy groups."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.LAZY:
                rows.append((name, self.LAZY[name][1]))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit=150)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    cls=_LazyCommands,
    help="The mlops-course toolkit: data, services, training and labs of the course.",
    epilog=HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # click's plain help, which calls format_commands above; typer's rich help would look up (and
    # so import) every lazy group to list it
    rich_markup_mode=None,
)
app.command("new")(template.new_command)
app.command("update")(template.update_command)
app.command("doctor")(doctor.doctor_command)
app.command("serve")(serving_cli.serve)
app.command("simulate")(data_cli.simulate)
app.command("validate")(data_cli.validate_file)
app.command("collect")(data_cli.collect)
app.command("grade")(grading_cli.grade)
app.add_typer(grading_cli.app, name="labs")  # imported for `grade` anyway: nothing to defer
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
