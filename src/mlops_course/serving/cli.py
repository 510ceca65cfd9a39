"""``mlops-course serve`` and ``python -m mlops_course.serving``: one command, two ways to call it.

Both run the same function with the same options, so a container (which runs the module) and a
learner (who runs ``mlops-course serve``) configure the service alike: options first, then the
``MLOPS_`` variables. The token is deliberately not an option: command lines are visible to every
user of the machine (``ps``), so it comes from ``MLOPS_API_TOKEN`` only.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mlops_course.exits import HELP
from mlops_course.serving.server import DEFAULT_PORT


def serve(
    port: Annotated[
        int | None,
        typer.Option(help=f"Port to listen on (default: MLOPS_API_PORT, else {DEFAULT_PORT})."),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default: MLOPS_HOST, loopback).")
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow server (default: MLOPS_TRACKING_URI).")
    ] = None,
    model_name: Annotated[
        str | None, typer.Option(help="Registered model (default: MLOPS_MODEL_NAME).")
    ] = None,
    model_alias: Annotated[
        str | None,
        typer.Option("--model-alias", "--alias", help="Alias to serve (default: champion)."),
    ] = None,
    watch_alias: Annotated[
        bool | None,
        typer.Option("--watch-alias/--no-watch-alias", help="Load a new version when it moves."),
    ] = None,
    reload_poll_seconds: Annotated[
        float | None, typer.Option(min=0.01, help="Retry and poll interval (default: 3).")
    ] = None,
    max_batch: Annotated[
        int | None, typer.Option(min=1, help="Most trips per batch request (default: 1000).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the champion model over HTTP until Ctrl-C (token for reloads: MLOPS_API_TOKEN)."""
    from mlops_course.serving import server
    from mlops_course.serving.settings import ServingSettings

    values: dict[str, Any] = {
        "tracking_uri": tracking_uri,
        "model_name": model_name,
        "model_alias": model_alias,
        "watch_alias": watch_alias,
        "reload_poll_seconds": reload_poll_seconds,
        "max_batch": max_batch,
    }
    overrides = {k: v for k, v in values.items() if v is not None}
    host, port = server.listen_address(host, port)
    server.serve(host, port, ServingSettings(**overrides), log_level=log_level)


def main(argv: list[str] | None = None) -> None:
    """``python -m mlops_course.serving``: :func:`serve` as a program of its own."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(epilog=HELP)(serve)
    typer.main.get_command(app).main(args=argv, prog_name="python -m mlops_course.serving")
