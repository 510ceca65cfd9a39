"""Start the model API (and MLflow's model server) as a separate process, like the MLflow server.

A notebook or test gets a real HTTP server on a free loopback port, in its own process group,
stopped at interpreter exit: what a client sees is what a deployment would serve.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlops_course.services.mlflow_server import mlflow_command
from mlops_course.services.process import Service, free_port, start
from mlops_course.settings import get_settings


def start_api(
    workdir: Path | None = None,
    port: int | None = None,
    tracking_uri: str | None = None,
    *,
    model_name: str | None = None,
    model_alias: str | None = None,
    token: str | None = None,
    reload_poll_seconds: float | None = None,
    watch_alias: bool | None = None,
    timeout: float | None = None,
    detach: bool = False,
) -> Service:
    """Run ``python -m mlops_course.serving`` and wait until ``/health`` answers.

    ``/health`` answers once the first model load was attempted, whatever its outcome: check
    ``/ready`` to know whether a model is served. Unset arguments fall back to the ``MLOPS_``
    settings (``MLOPS_API_PORT`` 0 picks a free port). The log is ``<workdir>/api/api.log``.
    """
    settings = get_settings()
    workdir = Path(settings.workdir if workdir is None else workdir).resolve() / "api"
    host = settings.host
    port = port or settings.api_port or free_port(host)
    command = [sys.executable, "-m", "mlops_course.serving", "--host", host, "--port", str(port)]
    options = {
        "--tracking-uri": tracking_uri or settings.tracking_uri,
        "--model-name": model_name,
        "--model-alias": model_alias,
        "--reload-poll-seconds": reload_poll_seconds,
    }
    for flag, value in options.items():
        if value is not None:
            command += [flag, str(value)]
    if watch_alias is not None:
        command.append("--watch-alias" if watch_alias else "--no-watch-alias")
    return start(
        "api",
        command,
        port,
        host=host,
        health_path="/health",
        workdir=workdir,
        timeout=timeout,
        detach=detach,
        env={"MLOPS_API_TOKEN": token} if token else None,
    )


def start_mlflow_serve(
    model_uri: str,
    workdir: Path | None = None,
    tracking_uri: str | None = None,
    *,
    port: int | None = None,
    timeout: float = 180.0,
) -> Service:
    """``mlflow models serve --env-manager local`` for ``model_uri``: MLflow's own model server.

    The course compares its API with it (notebooks and ``benchmarks/serving.py``). One worker,
    MLflow's default; the model is loaded with the course's opt-in to deserialize it (see
    :func:`mlops_course.model_io.trusted_model_loading`). The log is ``<workdir>/mlflow-serve.log``.
    """
    settings = get_settings()
    workdir = Path(settings.workdir if workdir is None else workdir).resolve()
    host = settings.host
    port = port or free_port(host)
    command = [
        *mlflow_command(),
        "models",
        "serve",
        "-m",
        model_uri,
        "--env-manager",
        "local",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
    if tracking_uri or settings.tracking_uri:
        env["MLFLOW_TRACKING_URI"] = str(tracking_uri or settings.tracking_uri)
    return start(
        "mlflow-serve",
        command,
        port,
        host=host,
        health_path="/ping",
        workdir=workdir,
        timeout=timeout,
        env=env,
    )
