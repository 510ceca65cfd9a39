"""The container engine: podman (what Debian ships, daemonless) or Docker, and how to call it.

Everything the course starts carries two labels: ``LABEL`` (the course started it) and
``SESSION_LABEL`` (this process did). `remove_everything` removes what this process left behind
(after a failure, a Ctrl-C or a killed test) and nothing of another run going on at the same time,
such as a second pytest-xdist worker; ``everything=True`` (``mlops-course containers clean``)
removes every leftover of the course, and nothing else on the learner's machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from mlops_course.settings import user_cache

LABEL = "io.mlops-course.owner=mlops-course"
"""On every container, pod and volume the course starts."""
SESSION_LABEL = f"io.mlops-course.session={uuid.uuid4().hex[:12]}"
"""On everything this process starts: what `remove_everything` removes by default."""
LABELS = ("--label", LABEL, "--label", SESSION_LABEL)
"""The ``run``/``volume create`` options that put both labels on what the course starts."""

# Podman's settings for machines like the course's CI (and many VMs): crun 1.8 refuses a hybrid
# cgroup hierarchy where runc works, and podman's default rlimits are above what an unprivileged
# user may set there, so containers inherit the caller's limits instead (default_ulimits = []).
_PODMAN_CONF = """\
# Written by mlops_course.containers.engine; read through CONTAINERS_CONF.
[containers]
default_ulimits = []
"""
_PODMAN_RUNC = '[engine]\nruntime = "runc"\n'


class ContainerError(RuntimeError):
    """An engine command failed; the message names what, the engine's own words, what to check."""


@dataclass(frozen=True)
class Engine:
    """A container engine found on this machine: its executable and the environment it needs."""

    name: str
    executable: str
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float | None = None,
        what: str = "",
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``<engine> args``; on failure raise `ContainerError` with the engine's stderr.

        Parameters
        ----------
        args
            The engine's arguments, e.g. ``"image", "exists", "x"``.
        check
            Raise when the command exits non-zero (else return the result as it is).
        timeout
            Seconds before the command is killed (None: no limit).
        what
            What the command was for, first in the error message ("building mlops-course-api").
        stdin
            Text for the command's standard input: how a secret reaches ``podman secret create``
            without appearing on a command line.
        """
        command = [self.executable, *args]
        try:
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                input=stdin,
                env={**os.environ, **self.env},
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise ContainerError(f"{what or command[1]}: no answer within {timeout} s") from error
        if check and result.returncode != 0:
            raise ContainerError(
                f"{what or ' '.join(command[:3])} failed (exit {result.returncode}).\n"
                f"command: {' '.join(command)}\n{_tail(result.stderr or result.stdout)}"
            )
        return result


def _tail(text: str, lines: int = 25) -> str:
    """The last lines of an engine's output: where its reason is."""
    return "\n".join(text.strip().splitlines()[-lines:])


@lru_cache
def find_engine() -> Engine:
    """The engine to use: ``MLOPS_CONTAINER_ENGINE`` if set, else podman, else Docker.

    Podman comes first because it needs no daemon and no root, which is what a learner's laptop
    and the course's CI have; with Docker the same commands run unchanged.
    """
    wanted = os.environ.get("MLOPS_CONTAINER_ENGINE")
    for name in [wanted] if wanted else ["podman", "docker"]:
        if executable := shutil.which(name):
            env = _podman_env() if name == "podman" else {}
            return Engine(name, executable, env)
    raise ContainerError(
        "no container engine found: install podman (Debian/Ubuntu: apt-get install podman runc "
        "catatonit) or Docker, or set MLOPS_CONTAINER_ENGINE to the one you have"
    )


def _podman_env() -> dict[str, str]:
    """CONTAINERS_CONF for podman, unless the user has one: runc if installed, host rlimits."""
    if "CONTAINERS_CONF" in os.environ:
        return {}
    conf = user_cache() / "containers.conf"
    text = _PODMAN_CONF + (_PODMAN_RUNC if shutil.which("runc") else "")
    if not conf.is_file() or conf.read_text() != text:
        # Atomically: another process (an xdist worker) may be starting podman with this file.
        partial = conf.with_name(f"{conf.name}.{os.getpid()}")
        partial.write_text(text)
        os.replace(partial, conf)
    return {"CONTAINERS_CONF": str(conf)}


def remove_everything(engine: Engine | None = None, *, everything: bool = False) -> list[str]:
    """Remove the containers, pods and volumes this process started; return what was removed.

    Called after each test session and by ``make containers`` on exit, also when it failed: a
    stopped run must not leave a port taken or a volume full of an old database.

    Parameters
    ----------
    engine
        The engine (default: `find_engine`).
    everything
        Remove what any run of the course left (`LABEL`), not only this process (`SESSION_LABEL`).
    """
    engine = engine or find_engine()
    label = LABEL if everything else SESSION_LABEL
    removed: list[str] = []
    kinds = [("container", "ps", "-a"), ("volume", "volume", "ls")]
    if engine.name == "podman":
        kinds.insert(0, ("pod", "pod", "ps"))
    for kind, *listing in kinds:
        names = engine.run(*listing, "-q", "--filter", f"label={label}", check=False).stdout
        for name in names.split():
            rm = ["rm", "-f"] if kind == "container" else [kind, "rm", "-f"]
            engine.run(*rm, name, check=False)
            removed.append(f"{kind} {name[:12]}")
    return removed
