"""``mlops-course gate``: the quality gate and the model checks as commands a CI job can run.

Exit codes are the interface (:class:`mlops_course.exits.ExitCode`): 0 when the candidate passes,
1 when it is blocked (the job, and the pipeline after it, stops), 2 when the gate could not run as
asked (a missing file), 3 when the registry is unreachable, so a broken setup is never mistaken
for a worse model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console

from mlops_course.exits import HELP, ExitCode, ServiceUnreachable, fail
from mlops_course.gate import (
    BASELINE_MARGIN,
    MAE_MARGIN,
    GateReport,
    evaluate_gate,
    run_model_checks,
)
from mlops_course.schema import TARGET
from mlops_course.settings import get_settings
from mlops_course.tracking import point_at

app = typer.Typer(
    help="The quality gate: compare a candidate model with the champion; run the model checks.",
    epilog=HELP,
    no_args_is_help=True,
)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class GateSetupError(RuntimeError):
    """The gate cannot run as asked; the message says what to fix."""


@contextmanager
def _setup_errors() -> Iterator[None]:
    """A gate that cannot run exits 2 (bad input) or 3 (no server), never 1 (blocked)."""
    try:
        yield
    except GateSetupError as error:
        fail(str(error))
    except ServiceUnreachable as error:
        fail(str(error), ExitCode.UNREACHABLE)


def load_candidate(source: str) -> Any:
    """A model from a skops file (what ``dvc repro`` writes) or an MLflow ``models:/`` URI."""
    if source.startswith(("models:/", "runs:/")):
        return _load_mlflow(source)
    path = Path(source)
    if not path.exists():
        raise GateSetupError(f"no model file at {path}: run `dvc repro` (or `make pipeline`) first")
    from mlops_course.model_io import load_file

    return load_file(path)


def _load_mlflow(uri: str) -> Any:
    from mlops_course.model_io import load_logged
    from mlops_course.tracking import require_server

    require_server()  # a server that is down is not bad input: ServiceUnreachable, exit 3
    return load_logged(uri)


def load_champion(name: str, alias: str) -> tuple[Any, str | None]:
    """The model the registry's ``alias`` points to and its version, or (None, None) if unset."""
    import mlflow

    from mlops_course.registry import get_version
    from mlops_course.tracking import require_server

    if not mlflow.get_tracking_uri().startswith(("http://", "https://")):
        raise GateSetupError(
            "no MLflow server to find the champion in: set MLFLOW_TRACKING_URI (or pass "
            "--tracking-uri), give the champion as a file with --champion, or pass --no-champion "
            "for the very first model"
        )
    require_server()
    version = get_version(alias, name)
    if version is None:
        return None, None
    return _load_mlflow(f"models:/{name}@{alias}"), str(version.version)


def _read_frame(path: Path, what: str) -> pd.DataFrame:
    if not path.exists():
        raise GateSetupError(f"no {what} at {path}: run `dvc repro` (or `make pipeline`) first")
    frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    if TARGET not in frame.columns:
        raise GateSetupError(f"{path} has no {TARGET} column: the gate needs labelled trips")
    return frame


def register_candidate(model: Any, eval_frame: pd.DataFrame, report: GateReport, name: str) -> str:
    """Log the candidate with its gate report, register it, point ``challenger`` at it.

    Staging then serves the challenger; a person approves production, which moves ``champion``
    (``mlops-course gate promote``).
    """
    import mlflow

    from mlops_course.features import to_model_input
    from mlops_course.model_io import log_model
    from mlops_course.registry import CHALLENGER, register, set_alias

    mlflow.set_experiment(get_settings().experiment_name)
    with mlflow.start_run(run_name="gate-candidate", tags={"gate": report.decision}):
        candidate = report.metrics.loc["candidate"]
        mlflow.log_metrics({k: float(v) for k, v in candidate.items()})
        mlflow.log_dict(report.to_dict(), "gate_report.json")
        # The gate does not know the candidate's kind: it may hold the types of any course model.
        info = log_model(model, to_model_input(eval_frame.head(5)))
    version = register(info.model_uri, name, tags={"gate": report.decision})
    set_alias(CHALLENGER, version.version, name)
    return str(version.version)


_EVAL = Annotated[
    Path, typer.Option("--eval-data", help="Labelled evaluation trips (.parquet or .csv).")
]


@app.command("run")
def run(
    candidate: Annotated[
        str, typer.Option(help="Candidate: a .skops file or an MLflow models:/ URI.")
    ] = "models/model.skops",
    eval_data: _EVAL = Path("data/features/eval.parquet"),
    train_data: Annotated[
        Path | None,
        typer.Option(help="Training trips: their median is the baseline (default: eval median)."),
    ] = Path("data/features/train.parquet"),
    champion: Annotated[
        str | None,
        typer.Option(help="Champion as a file or URI (default: the registry's champion alias)."),
    ] = None,
    no_champion: Annotated[
        bool, typer.Option("--no-champion", help="Gate without a champion (the first model).")
    ] = False,
    model_name: Annotated[str | None, typer.Option(help="Registered model name.")] = None,
    alias: Annotated[str, typer.Option(help="Alias of the champion.")] = "champion",
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow server (default: MLOPS_/MLFLOW_TRACKING_URI).")
    ] = None,
    margin: Annotated[
        float, typer.Option(min=0, help="How much worse (share of MAE) may pass.")
    ] = MAE_MARGIN,
    baseline_margin: Annotated[
        float, typer.Option(min=0, max=1, help="How much better than the baseline (share).")
    ] = BASELINE_MARGIN,
    report: Annotated[Path | None, typer.Option(help="Write the report as JSON here.")] = Path(
        "reports/gate.json"
    ),
    register: Annotated[
        bool, typer.Option("--register", help="On a pass, register it as the challenger.")
    ] = False,
) -> None:
    """Compare a candidate with the champion on the same data; exit 1 when it is blocked."""
    point_at(tracking_uri)
    name = model_name or get_settings().model_name
    with _setup_errors():
        eval_frame = _read_frame(eval_data, "evaluation set")
        baseline = None
        if train_data is not None and train_data.exists():
            baseline = float(_read_frame(train_data, "training set")[TARGET].median())
        model = load_candidate(candidate)
        champion_model, where = None, "none"
        if champion is not None:
            champion_model, where = load_candidate(champion), champion
        elif not no_champion:
            champion_model, version = load_champion(name, alias)
            where = f"models:/{name}@{alias} (version {version})" if version else "none"
    console.print(f"candidate: {candidate}\nchampion:  {where}")
    result = evaluate_gate(
        model,
        champion_model,
        eval_frame,
        margin=margin,
        baseline_margin=baseline_margin,
        baseline_value=baseline,
    )
    console.print(result.summary(), markup=False)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(result.to_json() + "\n")
        console.print(f"report written to {report}")
    if not result.passed:
        err.print("[bold red]blocked:[/] the candidate must not replace the champion")
        raise typer.Exit(ExitCode.NO)
    if register:
        version = register_candidate(model, eval_frame, result, name)
        console.print(f"registered {name} version {version} as the challenger")


@app.command("checks")
def checks(
    model: Annotated[
        str, typer.Option(help="A .skops file or an MLflow models:/ URI.")
    ] = "models/model.skops",
    eval_data: _EVAL = Path("data/features/eval.parquet"),
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow server for URIs.")] = None,
) -> None:
    """Run the behavioural model checks alone; exit 1 when any fails."""
    point_at(tracking_uri)
    with _setup_errors():
        loaded = load_candidate(model)
        frame = _read_frame(eval_data, "evaluation set")
    results = run_model_checks(loaded, frame)
    for result in results:
        console.print(str(result), markup=False)
    failed = [r for r in results if not r.passed]
    if failed:
        err.print(f"[bold red]{len(failed)} of {len(results)} model checks failed[/]")
        raise typer.Exit(ExitCode.NO)
    console.print(f"all {len(results)} model checks passed")


@app.command("promote")
def promote(
    model_name: Annotated[str | None, typer.Option(help="Registered model name.")] = None,
    alias: Annotated[str, typer.Option(help="Alias whose version becomes champion.")] = (
        "challenger"
    ),
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow server.")] = None,
) -> None:
    """Make the challenger the champion (the production step, after a person approved it)."""
    from mlops_course import registry
    from mlops_course.tracking import require_server

    point_at(tracking_uri)
    name = model_name or get_settings().model_name
    with _setup_errors():
        require_server()
    version = registry.get_version(alias, name)
    if version is None:
        fail(f"model {name!r} has no {alias!r} alias: run `mlops-course gate run --register`")
    registry.promote(version.version, name)
    console.print(f"{name} version {version.version} is now the champion")
