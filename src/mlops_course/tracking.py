"""Connecting to the MLflow tracking server, with an error a person can act on.

When the server is down, the MLflow client retries with back-off for minutes and then fails with a
long urllib3 traceback. Checking the server's ``/health`` first, with a short timeout, turns that
into one sentence that names the tracking URI and says how to start a server.
"""

from __future__ import annotations

import httpx

from mlops_course import http_client
from mlops_course.exits import ServiceUnreachable
from mlops_course.settings import get_settings


class TrackingServerUnavailable(ServiceUnreachable):
    """The MLflow tracking server does not answer; the message names the URI and the fix."""


def current_uri() -> str:
    """The tracking URI this process would log to."""
    import mlflow  # here, not at the top: the registry's alias names must stay cheap to import

    return mlflow.get_tracking_uri()


def require_server(uri: str | None = None, timeout: float = 3.0) -> str:
    """Return ``uri`` (default: the current one) if it answers, else raise a clear error.

    Only HTTP servers are checked; a local ``file:`` or ``sqlite:`` store has nothing to reach.

    Parameters
    ----------
    uri
        The tracking URI to check; None means the one this process would log to
        (:func:`current_uri`).
    timeout
        Seconds to wait for the server's ``/health``.
    """
    uri = uri or current_uri()
    if not uri.startswith(("http://", "https://")):
        return uri
    try:
        response = http_client.client().get(uri.rstrip("/") + "/health", timeout=timeout)
    except httpx.HTTPError as error:
        reason = type(error).__name__
        raise TrackingServerUnavailable(
            f"cannot reach the MLflow tracking server at {uri} ({reason}). Start one with "
            "`mlops-course services up` (or services.start_mlflow() in a notebook), or point "
            "MLOPS_TRACKING_URI at a running server."
        ) from None
    if response.status_code != 200:
        raise TrackingServerUnavailable(
            f"the MLflow tracking server at {uri} answered /health with HTTP "
            f"{response.status_code}; is that address really an MLflow server?"
        )
    return uri


def point_at(uri: str | None) -> str | None:
    """Make ``uri`` (default: ``MLOPS_TRACKING_URI``) this process's tracking URI, if there is one.

    The one place the course sets MLflow's tracking URI (MLflow keeps one per process). MLflow 3
    also exports it as ``MLFLOW_TRACKING_URI``, so what this process starts afterwards (``dvc
    repro``, papermill, a kernel) logs to the same server. Nothing is checked: use
    :func:`connect` to fail fast when the server is down.
    """
    uri = uri or get_settings().tracking_uri
    if not uri:
        return None
    import mlflow

    mlflow.set_tracking_uri(uri)
    return uri


def connect(uri: str | None = None) -> str:
    """Use ``uri`` (default: ``MLOPS_TRACKING_URI``) for tracking, after checking it answers."""
    uri = uri or get_settings().tracking_uri
    if not uri:
        raise TrackingServerUnavailable(
            "no tracking server configured: set MLOPS_TRACKING_URI, or start one with "
            "`mlops-course services up`"
        )
    require_server(uri)
    point_at(uri)
    return uri
