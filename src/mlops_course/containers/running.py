"""A container started from a course image, waited for until ready, and always removed.

Podman 4.3 runs healthchecks from systemd timers; where PID 1 is not systemd (containers, CI,
WSL) a ``HEALTHCHECK`` never fires by itself. So readiness is polled the way a load balancer
would, through the published port, and the healthcheck command is run on demand
(`Container.healthcheck`): both work on every engine.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from mlops_course import http_client
from mlops_course.containers.engine import LABELS, ContainerError, Engine


def reach_host(engine: Engine, url: str) -> tuple[tuple[str, ...], str]:
    """``run`` options and the URL under which a container reaches ``url`` on the host's loopback.

    The course's services listen on 127.0.0.1 only, which a container's own network cannot see.
    Podman's user-mode network can be allowed to reach the host's loopback at 10.0.2.2; Docker's
    host network shares it outright (the container's port is then the host's).

    Parameters
    ----------
    engine
        The engine that will run the container.
    url
        A loopback URL on the host, such as the MLflow server's.
    """
    if engine.name == "podman":
        options = ("--network", "slirp4netns:allow_host_loopback=true")
        return options, url.replace("127.0.0.1", "10.0.2.2").replace("localhost", "10.0.2.2")
    return ("--network", "host"), url


@dataclass(frozen=True)
class Container:
    """A running container: its name, the engine that runs it, where it answers."""

    engine: Engine
    name: str
    url: str

    def logs(self, lines: int = 20) -> str:
        """The last lines of its log (stdout and stderr): where a failure says why."""
        # The whole log, cut here: podman 4.3's `logs --tail N` sometimes prints nothing for a
        # container that has exited (seen here for 2 of 6 one-line logs; without --tail, 6 of 6).
        result = self.engine.run("logs", self.name, check=False)
        return "\n".join((result.stdout + result.stderr).strip().splitlines()[-lines:])

    def inspect(self) -> dict[str, Any]:
        """The engine's description of the running container (config, state, mounts)."""
        return json.loads(self.engine.run("inspect", self.name).stdout)[0]

    def exec(self, *command: str) -> str:
        """Run ``command`` inside the container as its user; its stdout."""
        return self.engine.run(
            "exec", self.name, *command, what=f"{self.name}: {command[0]}"
        ).stdout

    def healthcheck(self) -> bool:
        """Run the image's HEALTHCHECK command once; True when it succeeds."""
        if self.engine.name == "podman":
            return self.engine.run("healthcheck", "run", self.name, check=False).returncode == 0
        state = self.inspect()["State"].get("Health", {})
        return state.get("Status") == "healthy"

    def status(self) -> str:
        """The engine's state of the container: created, running, exited, ..."""
        result = self.engine.run("inspect", "--format", "{{.State.Status}}", self.name, check=False)
        return result.stdout.strip() or "gone"

    def _exited(self) -> ContainerError:
        """The error for a container that stopped: its exit code and its log, once written."""
        code = self.engine.run("inspect", "--format", "{{.State.ExitCode}}", self.name, check=False)
        logs = ""
        for _ in range(20):  # conmon writes the log a moment after the process has exited
            if logs := self.logs():
                break
            time.sleep(0.1)
        return ContainerError(
            f"container {self.name} exited with code {code.stdout.strip() or '?'} before it was "
            f"ready; its last log lines:\n{logs or '(none)'}"
        )

    def wait_ready(self, path: str = "/ready", timeout: float = 60.0) -> float:
        """Poll ``path`` until it answers 200; the seconds it took.

        A container that exits, or never turns ready, raises `ContainerError` naming it, with
        the last lines of its log and the last answer it gave: that is where the reason is.

        Parameters
        ----------
        path
            The readiness endpoint.
        timeout
            Seconds to wait.
        """
        start = time.monotonic()
        last = "no answer"
        while time.monotonic() - start < timeout:
            status = self.status()
            if status == "gone":
                raise ContainerError(f"container {self.name} no longer exists: it was removed")
            if status in {"exited", "stopped", "dead"}:
                raise self._exited()
            try:
                response = http_client.client().get(self.url + path, timeout=2.0)
                if response.status_code == 200:
                    return time.monotonic() - start
                last = f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as error:
                last = type(error).__name__
            time.sleep(0.25)
        # The access log of this loop's own requests would fill the tail: leave those lines out.
        lines = [line for line in self.logs(400).splitlines() if f'"{path}"' not in line]
        raise ContainerError(
            f"container {self.name} was not ready on {self.url}{path} within {timeout:.0f} s; "
            f"its last answer: {last}\nits last log lines (without the polls of {path}):\n"
            + "\n".join(lines[-20:])
        )


@contextlib.contextmanager
def run(
    engine: Engine,
    image: str,
    *,
    name: str,
    port: int,
    container_port: int = 8000,
    options: tuple[str, ...] = (),
    command: tuple[str, ...] = (),
) -> Iterator[Container]:
    """Start ``image`` detached, publish ``container_port`` on loopback ``port``; remove it after.

    The container carries `engine.LABELS`, so even a killed run's leftovers are found by
    `engine.remove_everything`.

    Parameters
    ----------
    engine
        The engine to run it with.
    image
        The image to start.
    name
        The container's name (unique per run: tests use a random suffix).
    port
        The host port, bound to 127.0.0.1 only.
    container_port
        The port the service listens on inside the container.
    options
        More ``run`` options: ``--read-only``, ``--env``, ``--secret``, ``--user`` ...
    command
        Replaces the image's CMD when given.
    """
    engine.run(
        "run", "--detach", "--name", name, *LABELS,
        "--publish", f"127.0.0.1:{port}:{container_port}",
        *options, image, *command,
        what=f"starting {name} from {image}",
    )  # fmt: skip
    try:
        yield Container(engine, name, f"http://127.0.0.1:{port}")
    finally:
        # podman waits 10 s for a stop by default; the API exits on SIGTERM at once.
        wait = ("--time", "2") if engine.name == "podman" else ()
        engine.run("rm", "--force", *wait, name, check=False)
