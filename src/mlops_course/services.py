"""Start and stop the course's services (MLflow, the model API, Prometheus) as local processes.

This is the embedded default: no Docker engine and no cloud account, just processes bound to
loopback on free ports, so the same notebook runs in JupyterLab, under papermill, under pytest and
in the book build, even several at once. Every service starts in its own process group and is
stopped as a group, because ``mlflow server`` spawns helper processes that would otherwise outlive
it. Services started in-process are also stopped at interpreter exit (``atexit``), so a failing
notebook or test leaves no orphan behind.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml

from mlops_course.settings import get_settings

logger = logging.getLogger(__name__)


class ServiceError(RuntimeError):
    """A service could not be started; the message says why and what to try."""


@dataclass
class Service:
    """A running service process group: where it listens and how to stop it."""

    name: str
    url: str
    pid: int
    log_path: Path
    health_path: str = "/health"
    _process: subprocess.Popen | None = field(default=None, repr=False)

    def is_running(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        try:
            os.killpg(self.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def is_healthy(self) -> bool:
        try:
            # trust_env=False: a proxy from the environment must never see loopback traffic.
            response = httpx.get(self.url + self.health_path, timeout=2.0, trust_env=False)
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the whole process group: politely first, then by force."""
        _RUNNING.pop(self.pid, None)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            if self._wait_gone(timeout):
                break
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=timeout)

    def _wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Reap the leader if it is our child, or its zombie keeps the group alive.
            if self._process is not None:
                self._process.poll()
            else:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.pid, os.WNOHANG)
            try:
                os.killpg(self.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
        return False

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def to_dict(self) -> dict[str, str | int]:
        return {
            "name": self.name,
            "url": self.url,
            "pid": self.pid,
            "log_path": str(self.log_path),
            "health_path": self.health_path,
        }

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_RUNNING: dict[int, Service] = {}


@atexit.register
def stop_all() -> None:
    """Stop every service this interpreter started and did not detach."""
    for service in list(_RUNNING.values()):
        service.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free right now; the OS picks it, so parallel runs do not collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def service_env() -> dict[str, str]:
    """Environment for service processes: offline, quiet, and no MLflow background job runners."""
    env = dict(os.environ)
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    # The job runner starts several huey consumers for GenAI features the course does not use;
    # on a 2-core laptop they cost seconds of start-up and hundreds of MB.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    return env


def start(
    name: str,
    command: list[str],
    port: int,
    *,
    host: str = "127.0.0.1",
    health_path: str = "/health",
    workdir: Path | None = None,
    timeout: float | None = None,
    detach: bool = False,
    env: dict[str, str] | None = None,
) -> Service:
    """Run ``command`` in a new process group and wait until ``health_path`` answers 200.

    ``detach=True`` leaves the service running after this interpreter exits (the CLI's
    ``services up``); otherwise it is stopped at exit. ``env`` adds variables for the child only,
    e.g. a secret that must not appear on its command line.
    """
    settings = get_settings()
    workdir = Path(settings.workdir if workdir is None else workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    timeout = settings.service_start_timeout if timeout is None else timeout
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            env={**service_env(), **(env or {})},
            start_new_session=True,
        )
    service = Service(name, f"http://{host}:{port}", process.pid, log_path, health_path, process)
    if not detach:
        _RUNNING[process.pid] = service
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            service.stop()
            raise ServiceError(
                f"{name} exited with code {process.returncode} before it was ready.\n"
                f"command: {' '.join(command)}\nlast lines of {log_path}:\n{service.log_tail()}"
            )
        if service.is_healthy():
            return service
        time.sleep(0.2)
    service.stop()
    raise ServiceError(
        f"{name} did not answer on {service.url}{health_path} within {timeout:.0f} s "
        f"(raise MLOPS_SERVICE_START_TIMEOUT on a slow machine).\n"
        f"last lines of {log_path}:\n{service.log_tail()}"
    )


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
    """
    settings = get_settings()
    workdir = Path(settings.workdir if workdir is None else workdir).resolve() / "mlflow"
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or settings.mlflow_port or free_port(settings.host)
    database = workdir / "mlflow.db"
    if not database.exists():
        _copy_empty_mlflow_database(database)
    command = [
        *mlflow_command(),
        "server",
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


def course_prometheus_config() -> Path:
    """``docker/prometheus/prometheus.yml`` of this checkout: the compose config, rules beside it.

    The embedded Prometheus renders its config from this one file (see
    :func:`render_prometheus_config`), so the notebooks, the tests and the compose stack evaluate
    the same alert rules.
    """
    config = Path(__file__).resolve().parents[2] / "docker" / "prometheus" / "prometheus.yml"
    if not config.exists():
        raise ServiceError(
            f"the Prometheus config is not at {config}: it ships with the course repository "
            "(docker/prometheus/), not with the installed package. Run from a clone of the "
            "repository, or pass the path of your own config."
        )
    return config


def render_prometheus_config(
    source: Path,
    dest: Path,
    targets: Mapping[str, str],
    *,
    scrape_interval: str | None = None,
) -> Path:
    """Write ``source`` (the compose config) to ``dest`` with loopback targets.

    In the compose stack a job scrapes a service hostname (``api:8000``); here each process runs
    on a free loopback port. ``targets`` maps a job name to the ``host:port`` (or the URL) of the
    process it should scrape now; jobs without one are left out, because their hostnames do not
    exist outside the stack. Rule files become absolute paths next to ``source``, so both setups
    evaluate the same rules. ``scrape_interval`` (e.g. ``"1s"``) replaces every scrape and
    evaluation interval: a notebook cannot wait the 15 s a production setup uses.
    """
    source = Path(source).resolve()
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    jobs = [job["job_name"] for job in config.get("scrape_configs", [])]
    unknown = sorted(set(targets) - set(jobs))
    if unknown:
        raise ServiceError(
            f"no scrape job named {', '.join(unknown)} in {source}; its jobs are "
            f"{', '.join(jobs) or 'none'}. Pass targets for those jobs, or add a job to the config."
        )
    kept = []
    for job in config.get("scrape_configs", []):
        if job["job_name"] not in targets:
            continue
        address = targets[job["job_name"]]
        address = urlsplit(address).netloc if "://" in address else address
        job["static_configs"] = [{"targets": [address]}]
        if scrape_interval:
            job.pop("scrape_interval", None)
        kept.append(job)
    config["scrape_configs"] = kept
    config["rule_files"] = [str(source.parent / rule) for rule in config.get("rule_files", [])]
    if scrape_interval:
        config.setdefault("global", {}).update(
            scrape_interval=scrape_interval, evaluation_interval=scrape_interval
        )
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return dest


def start_prometheus(
    config: Path | None = None,
    workdir: Path | None = None,
    port: int | None = None,
    *,
    targets: Mapping[str, str] | None = None,
    scrape_interval: str | None = None,
    timeout: float | None = None,
    detach: bool = False,
) -> Service:
    """The Debian ``prometheus`` binary, scraping ``targets`` with the rules of ``config``.

    ``config`` defaults to the course's compose config (:func:`course_prometheus_config`); what
    runs is the copy :func:`render_prometheus_config` writes into ``workdir``, where the
    ``prometheus`` job scrapes this very server and each job named in ``targets`` (for example
    ``{"api": api.url}``) scrapes that address. Data is stored in ``workdir`` too.
    """
    binary = shutil.which("prometheus")
    if binary is None:
        raise ServiceError(
            "the 'prometheus' binary is not installed. On Debian or Ubuntu: "
            "sudo apt-get install prometheus (CI installs it in .ci/run)"
        )
    settings = get_settings()
    workdir = Path(settings.workdir if workdir is None else workdir).resolve() / "prometheus"
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or settings.prometheus_port or free_port(settings.host)
    rendered = render_prometheus_config(
        config or course_prometheus_config(),
        workdir / "prometheus.yml",
        {"prometheus": f"{settings.host}:{port}", **(targets or {})},
        scrape_interval=scrape_interval,
    )
    command = [
        binary,
        f"--config.file={rendered}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address={settings.host}:{port}",
        "--web.enable-lifecycle",
    ]
    return start(
        "prometheus",
        command,
        port,
        host=settings.host,
        health_path="/-/ready",
        workdir=workdir,
        timeout=timeout,
        detach=detach,
    )


def use_mlflow(service: Service) -> str:
    """Point this process's MLflow client (and child processes) at ``service``.

    MLflow's INFO log lines carry timestamps and go to stderr; in a notebook they would make the
    stored outputs differ on every run, so only its warnings and errors are kept.
    """
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(service.url)
    os.environ["MLFLOW_TRACKING_URI"] = service.url
    return service.url


# --- detached services for the CLI (`mlops-course services up|down|status`) -------------------


def _state_file() -> Path:
    return Path(get_settings().workdir).resolve() / "services.json"


def read_state() -> dict[str, Service]:
    """Services that ``services up`` started and recorded, by name."""
    path = _state_file()
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())
    return {
        name: Service(d["name"], d["url"], int(d["pid"]), Path(d["log_path"]), d["health_path"])
        for name, d in raw.items()
    }


def write_state(services: dict[str, Service]) -> None:
    path = _state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({n: s.to_dict() for n, s in services.items()}, indent=2))
    tmp.replace(path)
