"""``mlops-course ct``: the continuous-training loop from a terminal or a scheduled CI job.

- ``ct simulate`` runs the whole loop over simulated days against a live MLflow server and model
  API (both started here unless ``MLOPS_TRACKING_URI`` names a server) and writes the timeline;
- ``ct retrain`` retrains once, by hand, on the newest validated days in ``data/raw``;
- ``ct rollback`` points ``champion`` back at the previous champion and reloads the API;
- ``ct status`` shows which version each alias points to, and why it was trained.
"""

from __future__ import annotations

import os
import secrets
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mlops_course import registry, services
from mlops_course.data.simulate import SCENARIOS
from mlops_course.exits import HELP, ExitCode, fail
from mlops_course.settings import get_settings

app = typer.Typer(
    help="Continuous training: simulate the loop, retrain, roll back, inspect.",
    epilog=HELP,
    no_args_is_help=True,
)
console = Console(soft_wrap=True)  # no hard wraps: CI logs and tests read whole lines


def _scenario(name: str) -> str:
    if name not in SCENARIOS:
        raise typer.BadParameter(f"unknown scenario {name!r}; expected one of {list(SCENARIOS)}")
    return name


def _connect(stack: ExitStack, *, start: bool = True) -> str:
    """The MLflow server to use: ``MLOPS_TRACKING_URI``, else the one ``services up`` started,
    else (with ``start``) a local server for the duration of this command."""
    from mlops_course.tracking import TrackingServerUnavailable, connect

    uri = get_settings().tracking_uri
    recorded = services.read_state().get("mlflow")
    if not uri and recorded is not None and recorded.is_running():
        uri = recorded.url
    if uri:
        try:
            return connect(uri)
        except TrackingServerUnavailable as error:
            fail(str(error), ExitCode.UNREACHABLE)
    if not start:
        fail(
            "no MLflow server: set MLOPS_TRACKING_URI, "
            "or start one with `mlops-course services up`",
            ExitCode.UNREACHABLE,
        )
    console.print("starting a local MLflow server (set MLOPS_TRACKING_URI to use yours) ...")
    server = stack.enter_context(services.start_mlflow())
    return services.use_mlflow(server)


_NAME = Annotated[
    str | None, typer.Option("--model-name", help="Registered model (default: MLOPS_MODEL_NAME).")
]


@app.command()
def simulate(
    days: Annotated[int, typer.Option(min=1, help="Days to serve after the first champion.")] = 60,
    scenario: Annotated[str, typer.Option(callback=_scenario, help="Drift scenario.")] = "none",
    out: Annotated[Path, typer.Option(help="Folder for the timeline and the data.")] = Path(
        "ct-run"
    ),
    api: Annotated[
        bool, typer.Option("--api/--no-api", help="Serve through a live model API process.")
    ] = True,
    model_name: _NAME = None,
    schedule_days: Annotated[
        int | None, typer.Option(min=1, help="Also retrain every N days (default: never).")
    ] = None,
) -> None:
    """Run the loop over simulated days and write timeline.csv and timeline.png to OUT."""
    from tqdm.auto import tqdm

    from mlops_course.ct.loop import ApiClient, ContinuousTraining, LoopConfig
    from mlops_course.ct.timeline import RECOVERY_DAYS, recovery, write_timeline
    from mlops_course.ct.triggers import TriggerPolicy
    from mlops_course.services import start_api

    name = model_name or f"{get_settings().model_name}-ct-{scenario}"
    config = LoopConfig(
        scenario=scenario, days=days, policy=TriggerPolicy(schedule_days=schedule_days)
    )
    if (out / "data").exists() and any((out / "data").iterdir()):
        fail(f"{out / 'data'} is not empty: choose a new --out folder, or delete the old run")
    with ExitStack() as stack:
        uri = _connect(stack)
        client = None
        if api:
            token = secrets.token_urlsafe(16)
            console.print("starting the model API ...")
            service = stack.enter_context(start_api(tracking_uri=uri, model_name=name, token=token))
            client = ApiClient(service.url, token)
            stack.callback(client.close)
        loop = ContinuousTraining(
            config, data_dir=out / "data", name=name, api=client, log=tqdm.write
        )
        try:
            result = loop.run(progress=True)
        except ValueError as error:
            fail(str(error))
    paths = write_timeline(result, out)
    typer.echo(result.trigger_log.to_string(index=False))
    typer.echo(result.retrain_log.to_string(index=False))
    if api:
        console.print(f"API: {result.api_requests} requests, {result.api_failed} failed")
    if scenario != "none" and config.last_day >= config.drift_start + RECOVERY_DAYS:
        typer.echo(recovery(result).summary())
    console.print(f"timeline: {paths['timeline']}  plot: {paths['plot']}")
    if result.api_failed:
        raise typer.Exit(ExitCode.NO)


@app.command()
def retrain(
    model_name: _NAME = None,
    window_days: Annotated[int, typer.Option(min=2, help="Newest validated days to use.")] = 7,
    reason: Annotated[str, typer.Option(help="Why, for the run's ct.reason tag.")] = (
        "retraining requested by hand"
    ),
    promote: Annotated[
        bool, typer.Option("--promote/--no-promote", help="Promote a challenger that passes.")
    ] = True,
) -> None:
    """Retrain once on the newest validated days in data/raw; exit 1 when the gate blocks."""
    from mlops_course.ct.retraining import retrain as run_retrain
    from mlops_course.ct.retraining import window_days as select_window
    from mlops_course.ct.triggers import Trigger

    raw = get_settings().raw_dir
    batches = sorted(raw.glob("trips_day_*.parquet"))
    if not batches:
        fail(f"no validated batches in {raw}: collect some first (mlops-course collect)")
    last = max(int(p.stem.rsplit("_", 1)[1]) for p in batches)
    days = select_window(raw, last, window_days)
    with ExitStack() as stack:
        _connect(stack)
        result = run_retrain(
            Trigger("manual", reason, last),
            days,
            raw_dir=raw,
            name=model_name,
            promote=promote,
            log=lambda line: console.print(line, highlight=False),
        )
    # Plain echo, not rich: a gate report is read in CI logs, where wrapped lines hurt.
    typer.echo(result.gate.summary())
    typer.echo(result.summary())
    if not result.gate.passed:
        raise typer.Exit(ExitCode.NO)


@app.command()
def rollback(
    model_name: _NAME = None,
    api_url: Annotated[
        str | None, typer.Option(help="Model API to reload afterwards (token: MLOPS_API_TOKEN).")
    ] = None,
) -> None:
    """Point champion back at the previous champion, then reload the API if one is given."""
    with ExitStack() as stack:
        _connect(stack, start=False)
        try:
            restored = registry.rollback(model_name)
        except LookupError as error:
            fail(str(error))
    console.print(f"champion is version {restored.version} again")
    if api_url:
        from mlops_course.ct.loop import ApiClient

        token = os.environ.get("MLOPS_API_TOKEN", "")
        if not token:
            fail("set MLOPS_API_TOKEN to the API's token to reload it")
        client = ApiClient(api_url, token)
        try:
            answer = client.reload()
        finally:
            client.close()
        console.print(f"the API now serves version {answer['current']['version']}")


@app.command()
def status(model_name: _NAME = None) -> None:
    """Which version each alias points to, and the trigger and data it was trained on."""
    from mlflow.tracking import MlflowClient

    name = model_name or get_settings().model_name
    with ExitStack() as stack:
        _connect(stack, start=False)
        table = Table("alias", "version", "trigger", "window", "data version", "gate")
        for alias in (registry.CHAMPION, registry.CHALLENGER, registry.PREVIOUS):
            version = registry.get_version(alias, name)
            if version is None:
                table.add_row(alias, "-", "", "", "", "")
                continue
            tags = MlflowClient().get_run(version.run_id).data.tags if version.run_id else {}
            table.add_row(
                alias,
                str(version.version),
                tags.get("ct.trigger", ""),
                tags.get("ct.window", ""),
                tags.get("ct.data_version", "")[:20],
                tags.get("ct.gate", ""),
            )
    console.print(table)
