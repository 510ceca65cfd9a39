"""The MLflow tracking server (and MLflow's own model server) as local processes.

``start_mlflow`` is what every notebook, lab and test starts: a sqlite backend and proxied
artifacts in a folder of its own, on a free loopback port.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mlops_course.services.process import Service, free_port, start
from mlops_course.settings import get_settings

logger = logging.getLogger(__name__)


def mlflow_command() -> list[str]:
    """How to run this environment's ``mlflow``: the script beside Python, else ``-m mlflow``."""
    script = Path(sys.executable).with_name("mlflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mlflow"]


# MLflow's own table creation (what `mlflow server` runs on an empty database), in a subprocess so
# that this module does not import MLflow.
_CREATE_TABLES = """
import sys, sqlalchemy, mlflow.store.db.utils as db
db._initialize_tables(sqlalchemy.create_engine("sqlite:///" + sys.argv[1]))
"""


def mlflow_server_command() -> list[str]:
    """How to run ``mlflow server``: in one interpreter where it can (`mlflow_main`), else the CLI.

    MLflow's command starts a second interpreter for uvicorn, and each imports MLflow's server
    (about 5 s of CPU); ``mlflow_main`` runs MLflow's same command with uvicorn in-process.
    """
    from mlops_course.services import mlflow_main

    if mlflow_main.in_process_available():
        return [sys.executable, "-m", "mlops_course.services.mlflow_main", "server"]
    return [*mlflow_command(), "server"]


def user_cache_dir() -> Path:
    """The user's cache folder (``XDG_CACHE_HOME``, else ``~/.cache``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def _copy_empty_mlflow_database(database: Path) -> None:
    """Start a new server from a copy of an empty, already migrated database, if one can be had.

    On an empty database ``mlflow server`` first runs all of its schema migrations, which costs
    CPU on every start; the notebooks and tests start many servers. So the migrated,
    still empty database is built once per MLflow version (by MLflow's own table creation, in
    the user's cache folder) and copied. It holds tables only: the server creates the Default
    experiment at start, as it would on a fresh file. Anything going wrong here (a read-only
    cache in the grading sandbox, an MLflow that renamed its internals) only means the server
    migrates the database itself, as without this shortcut.
    """
    from importlib.metadata import version

    cache = user_cache_dir() / "mlops-course"
    template = cache / f"mlflow-{version('mlflow')}-empty.db"
    try:
        if not template.exists():
            cache.mkdir(parents=True, exist_ok=True)
            partial = cache / f".{template.name}.{os.getpid()}"
            partial.unlink(missing_ok=True)
            partial.touch()  # a read-only cache fails here, before seconds of table creation
            subprocess.run(
                [sys.executable, "-c", _CREATE_TABLES, str(partial)],
                check=True,
                capture_output=True,
                timeout=120,
            )
            partial.replace(template)  # atomic: concurrent starts never copy a half-built file
        shutil.copyfile(template, database)
    except (OSError, subprocess.SubprocessError) as error:
        database.unlink(missing_ok=True)
        logger.debug("no migrated MLflow database to copy (%s); the server creates one", error)


def start_mlflow(
    workdir: Path | None = None,
    port: int | None = None,
    *,
    timeout: float | None = None,
    detach: bool = False,
) -> Service:
    """A real ``mlflow server``: sqlite backend and local artifacts in ``workdir``.

    Artifacts are proxied by the server (``--artifacts-destination``), as in a team setup, so
    clients never need to see the server's disk.

    Parameters
    ----------
    workdir
        The database, the artifacts and the log go into its ``mlflow`` subfolder; None means
        the course settings' ``workdir``.
    port
        The port to listen on; None or 0 means ``MLOPS_MLFLOW_PORT``, and when that is 0 too, a
        free port.
    timeout
        Seconds to wait for the server's ``/health``; None means the course settings'
        ``service_start_timeout``.
    detach
        True leaves the server running after this interpreter exits (the CLI's ``services
        up``); otherwise it is stopped at exit.
    """
    settings = get_settings()
    workdir = Path(settings.workdir if workdir is None else workdir).resolve() / "mlflow"
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or settings.mlflow_port or free_port(settings.host)
    database = workdir / "mlflow.db"
    if not database.exists():
        _copy_empty_mlflow_database(database)
    command = [
        *mlflow_server_command(),
        "--backend-store-uri",
        f"sqlite:///{database}",
        "--artifacts-destination",
        str(workdir / "artifacts"),
        "--host",
        settings.host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return start(
        "mlflow", command, port, host=settings.host, workdir=workdir, timeout=timeout, detach=detach
    )


def use_mlflow(service: Service) -> str:
    """Point this process's MLflow client (and child processes) at ``service``.

    MLflow's INFO log lines carry timestamps and go to stderr; in a notebook they would make the
    stored outputs differ on every run, so only its warnings and errors are kept.

    Parameters
    ----------
    service
        A running MLflow server, e.g. of :func:`start_mlflow`.

    Returns
    -------
    str
        The server's URL, now this process's tracking URI.
    """
    import mlflow  # noqa: F401  (first: importing MLflow configures its logger, resetting the level)

    from mlops_course.tracking import point_at

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    point_at(service.url)
    return service.url
