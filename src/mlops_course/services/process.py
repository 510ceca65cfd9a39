"""Run a service as a local process group and wait until it is healthy; stop it, and its children.

Every service starts in its own process group and is stopped as a group, because ``mlflow server``
spawns helper processes that would otherwise outlive it. Services started in-process are also
stopped at interpreter exit (``atexit``), so a failing notebook or test leaves no orphan behind.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mlops_course import forkserver, http_client
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
            response = http_client.client().get(self.url + self.health_path, timeout=2.0)
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
            if not _group_runs(self.pid):
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


def _group_runs(group: int) -> bool:
    """Whether ``group`` still runs, for a caller that is not its leader's parent.

    A process that stops a service it did not start (a lab's grading checker, a sibling of the
    service) cannot reap the exited leader, and the zombie keeps the group visible to ``killpg``
    until its parent reaps it. For that caller a group whose processes have all exited is gone.
    The leader's own parent reaps it (``_wait_gone``), so for it, and once the leader is reaped,
    this answers True and ``killpg`` decides. Linux; elsewhere: assume it runs.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group:
            members.append((int(entry.name), fields[0], int(fields[1])))
    leader_parent = next((ppid for pid, _, ppid in members if pid == group), None)
    if leader_parent is None or leader_parent == os.getpid():
        return True  # the caller reaped, or will reap, the leader: killpg decides
    return any(state != "Z" for _, state, _ in members)


@atexit.register
def stop_all() -> None:
    """Stop every service this interpreter started and did not detach."""
    for service in list(_RUNNING.values()):
        service.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free right now; the OS picks it, so parallel runs do not collide.

    Parameters
    ----------
    host
        The interface the port must be free on.
    """
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
    # Under make test, a fork of an interpreter that has imported the service already (the same
    # command, seconds of CPU less per start; see mlops_course.forkserver); else as given.
    command = forkserver.wrap(command)
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
