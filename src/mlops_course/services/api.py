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

    Parameters
    ----------
    workdir
        The service runs in, and logs to, its ``api`` subfolder; None means the course
        settings' ``workdir``.
    port
        The port to listen on; None or 0 means ``MLOPS_API_PORT``, and when that is 0 too, a
        free port.
    tracking_uri
        The MLflow server with the registry; None means ``MLOPS_TRACKING_URI``, and without
        that the service uses MLflow's default (``MLFLOW_TRACKING_URI`` in its environment,
        which it inherits from this process).
    model_name, model_alias
        The registered model and the alias to serve; None leaves them to the service's
        settings (``MLOPS_MODEL_NAME``, and ``MLOPS_MODEL_ALIAS`` or ``champion``).
    token
        The bearer token for ``POST /admin/reload``, handed to the service in its environment
        (``MLOPS_API_TOKEN``), never on its command line. None (or empty): the service sees
        this process's ``MLOPS_API_TOKEN``, if any; without a token the endpoint answers 403.
    reload_poll_seconds
        How often the service retries while no model is loaded (and checks the alias when
        ``watch_alias`` is on); None leaves it to the service's settings.
    watch_alias
        True loads a new version on its own when the alias moves; False loads one only on
        ``POST /admin/reload``; None leaves it to the service's settings (``MLOPS_WATCH_ALIAS``,
        off by default).
    timeout
        Seconds to wait for ``/health``; None means the course settings'
        ``service_start_timeout``.
    detach
        True leaves the service running after this interpreter exits; otherwise it is stopped
        at exit.
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

    Parameters
    ----------
    model_uri
        The model to serve, e.g. ``models:/trip-duration@champion``.
    workdir
        Where the log goes; None means the course settings' ``workdir``.
    tracking_uri
        The MLflow server that resolves a ``models:/`` URI; None means ``MLOPS_TRACKING_URI``,
        and without that the server inherits this process's ``MLFLOW_TRACKING_URI``, if any.
    port
        The port to listen on; None or 0 means a free port.
    timeout
        Seconds to wait for the server's ``/ping``.
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
