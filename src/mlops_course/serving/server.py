"""Run the model API with uvicorn in this process: what ``python -m mlops_course.serving`` does."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mlops_course.settings import get_settings

if TYPE_CHECKING:  # the settings pull in the registry; `mlops-course --help` must not wait for it
    from mlops_course.serving.settings import ServingSettings

DEFAULT_PORT = 8000


def listen_address(host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Where the API listens: the options when given, else ``MLOPS_HOST`` and ``MLOPS_API_PORT``.

    Both entry points (``mlops-course serve`` and ``python -m mlops_course.serving``) resolve
    the address here, so the environment configures them alike. ``MLOPS_API_PORT`` unset (0)
    means :data:`DEFAULT_PORT`: a server that people and containers connect to needs a port they
    can know (only the notebooks' ``start_api`` picks a free one).
    """
    settings = get_settings()
    return host or settings.host, port if port is not None else (settings.api_port or DEFAULT_PORT)


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    settings: ServingSettings | None = None,
    *,
    log_level: str = "info",
) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests get up to 10 s to finish on shutdown.

    The MLflow client retries a failed call for minutes by default; a service that polls the
    registry should rather fail fast and try again on its next poll, so the defaults are
    shortened here (an explicit environment variable still wins).
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    import uvicorn

    from mlops_course.serving.app import create_app
    from mlops_course.serving.jsonlog import configure_logging

    configure_logging(log_level)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,  # keep the JSON logging configured above
        access_log=False,  # the app logs one JSON line per request itself
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
