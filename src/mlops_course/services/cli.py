"""``mlops-course services up | down | status``: the MLflow server as a background service."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from mlops_course.exits import HELP, ExitCode, fail, yes_no
from mlops_course.services.mlflow_server import start_mlflow
from mlops_course.services.process import ServiceError
from mlops_course.services.state import read_state, write_state

app = typer.Typer(
    help="Start, stop and inspect the local services.", epilog=HELP, no_args_is_help=True
)
console = Console()


@app.command("up")
def services_up() -> None:
    """Start the MLflow server in the background (it keeps running until `services down`)."""
    state = read_state()
    running = state.get("mlflow")
    if running is not None and running.is_running():
        console.print(f"mlflow is already running at {running.url} (pid {running.pid})")
        return
    try:
        service = start_mlflow(detach=True)
    except ServiceError as error:
        fail(str(error), ExitCode.UNREACHABLE)
    state["mlflow"] = service
    write_state(state)
    console.print(f"mlflow is up at [bold]{service.url}[/] (pid {service.pid})")
    console.print(f"use it with: export MLOPS_TRACKING_URI={service.url}")


@app.command("down")
def services_down() -> None:
    """Stop every service that `services up` started."""
    state = read_state()
    if not state:
        console.print("no services are running")
        return
    for name, service in state.items():
        service.stop()
        console.print(f"stopped {name} (pid {service.pid})")
    write_state({})


@app.command("status")
def services_status() -> None:
    """Show each recorded service, its address and whether it answers."""
    state = read_state()
    table = Table("service", "url", "pid", "running", "healthy")
    for name, service in state.items():
        alive = service.is_running()
        healthy = alive and service.is_healthy()
        table.add_row(name, service.url, str(service.pid), yes_no(alive), yes_no(healthy))
    if not state:
        console.print("no services recorded; start them with: mlops-course services up")
    else:
        console.print(table)
