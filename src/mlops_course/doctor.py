"""``mlops-course doctor``: can this machine run the course? A newcomer's preflight.

A missing ``promtool`` or a full disk otherwise shows up as a failing notebook in chapter 4, long
after the setup, with a traceback that does not name the cause. The doctor asks everything up front
and prints, for each problem, the one command that fixes it.

The checks are a table of small frozen records (:data:`CHECKS`, :data:`TOOLS`), run by the pure
function :func:`run_checks` against a :class:`Machine`: everything the checks read about the
machine (executables on the PATH, ``/proc/meminfo``, free disk, loopback ports) is a field of it,
so the tests describe a machine instead of needing one. Only the standard library, typer and rich
are imported: the doctor must answer fast, and on a machine where the heavy packages are broken.
"""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

GIB = 1024**3
# Not less: MLflow, the model API, Prometheus and a notebook kernel run at once in stage 4, and the
# book build executes notebooks beside them. Not more: the course is meant for a 2-core laptop.
MIN_MEMORY = 4 * GIB
# The venv (about 2 GiB), the book's build and notebook cache, the MLflow artifacts and the
# container images of stage 2 (podman) together; less fills up half-way through a chapter.
MIN_DISK = 5 * GIB
# The ports the course's examples name; the services pick free ports, so a taken one is news only.
USUAL_PORTS = {5000: "MLflow", 8000: "model API", 9090: "Prometheus"}
REQUIRED_PYTHON = (3, 11)  # what requirements.txt was locked with (make lock, PYTHON ?= python3.11)


class Status(StrEnum):
    """ok: fine; warn: worth knowing, nothing fails because of it; fail: fix it first."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Result:
    """One row of the doctor's table; ``fix`` is a command to run (empty when there is nothing)."""

    check: str
    status: Status
    detail: str
    fix: str = ""


def read_meminfo() -> str | None:
    """The text of /proc/meminfo, or None where there is none (macOS, Windows)."""
    try:
        return Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return None


def can_bind(port: int) -> bool:
    """Whether this process can listen on 127.0.0.1:``port`` (0: any free port) right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_disk(folder: Path) -> int:
    return shutil.disk_usage(folder).free


@dataclass(frozen=True)
class Machine:
    """Everything the checks read about the machine; tests pass their own functions."""

    which: Callable[[str], str | None] = shutil.which
    python_version: tuple[int, int] = (sys.version_info.major, sys.version_info.minor)
    meminfo: Callable[[], str | None] = read_meminfo
    free_disk: Callable[[Path], int] = free_disk
    can_bind: Callable[[int], bool] = can_bind
    folder: Path = field(default_factory=Path.cwd)


@dataclass(frozen=True)
class Tool:
    """An executable a chapter runs, and the Debian package that provides it."""

    executable: str
    package: str
    needed_for: str
    required: bool = True


TOOLS: tuple[Tool, ...] = (
    Tool("git", "git", "cloning, DVC and the project template"),
    Tool("make", "make", "every setup and test command (make venv, make test)"),
    Tool("prometheus", "prometheus", "monitoring (stage 4): the metrics server"),
    Tool("promtool", "prometheus", "checking the alert rules and their unit tests"),
    Tool("bwrap", "bubblewrap", "the grading sandbox (mlops-course grade)"),
    Tool("chromium", "chromium", "the book's browser test and the dashboard previews"),
    # Optional for now: only the container sections of stage 2 need them, and they say so.
    Tool("podman", "podman", "building and running the course's images (optional)", False),
    Tool("runc", "runc", "the container runtime podman uses here (optional)", False),
)


def _fmt_gib(size: int) -> str:
    return f"{size / GIB:.1f} GiB"


def check_python(machine: Machine) -> Result:
    version = ".".join(map(str, machine.python_version))
    wanted = ".".join(map(str, REQUIRED_PYTHON))
    if machine.python_version == REQUIRED_PYTHON:
        return Result("python", Status.OK, f"Python {version}")
    return Result(
        "python",
        Status.FAIL,
        f"Python {version}, but the pinned requirements are locked for Python {wanted}",
        f"sudo apt-get install python{wanted} python{wanted}-venv && rm -rf .venv && make venv",
    )


def check_ports(machine: Machine) -> Result:
    if not machine.can_bind(0):
        return Result(
            "loopback ports",
            Status.FAIL,
            "cannot listen on 127.0.0.1: the services and tests all run on loopback",
            "sudo ip link set lo up",
        )
    taken = [f"{port} ({name})" for port, name in USUAL_PORTS.items() if not machine.can_bind(port)]
    detail = "127.0.0.1 can listen; " + (
        f"taken (fine, the services pick free ports): {', '.join(taken)}"
        if taken
        else "5000, 8000 and 9090 are free"
    )
    return Result("loopback ports", Status.OK, detail)


def check_memory(machine: Machine) -> Result:
    text = machine.meminfo()
    available = None
    for line in (text or "").splitlines():
        if line.startswith("MemAvailable:"):
            available = int(line.split()[1]) * 1024  # the kernel writes kB (KiB)
    if available is None:
        return Result(
            "memory",
            Status.WARN,
            f"skipped: no MemAvailable in /proc/meminfo (not Linux?); the course wants "
            f"{_fmt_gib(MIN_MEMORY)} free",
        )
    if available >= MIN_MEMORY:
        return Result("memory", Status.OK, f"{_fmt_gib(available)} available")
    return Result(
        "memory",
        Status.FAIL,
        f"{_fmt_gib(available)} available, the course needs {_fmt_gib(MIN_MEMORY)}",
        "close other programs, or stop old services: mlops-course services down",
    )


def check_disk(machine: Machine) -> Result:
    free = machine.free_disk(machine.folder)
    if free >= MIN_DISK:
        return Result("disk", Status.OK, f"{_fmt_gib(free)} free in {machine.folder}")
    return Result(
        "disk",
        Status.FAIL,
        f"{_fmt_gib(free)} free in {machine.folder}, the course needs {_fmt_gib(MIN_DISK)}",
        "make clean (the book build and service state), or work on a larger disk",
    )


def tool_check(tool: Tool) -> Callable[[Machine], Result]:
    def check(machine: Machine) -> Result:
        path = machine.which(tool.executable)
        if path:
            return Result(tool.executable, Status.OK, path)
        return Result(
            tool.executable,
            Status.FAIL if tool.required else Status.WARN,
            f"not found on the PATH; needed for {tool.needed_for}",
            f"sudo apt-get install {tool.package}",
        )

    return check


CHECKS: tuple[Callable[[Machine], Result], ...] = (
    check_python,
    check_ports,
    check_memory,
    check_disk,
    *(tool_check(tool) for tool in TOOLS),
)


def run_checks(
    machine: Machine, checks: tuple[Callable[[Machine], Result], ...] = CHECKS
) -> list[Result]:
    """Every check's result, in table order; reads the machine only through ``machine``."""
    return [check(machine) for check in checks]


def exit_code(results: list[Result]) -> int:
    """0 when nothing failed (warnings do not count), 1 when a required check failed."""
    return 1 if any(r.status is Status.FAIL for r in results) else 0


def default_machine() -> Machine:
    """The machine this process runs on (a function, so the CLI test can swap it)."""
    return Machine()


STYLES = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}


def doctor_command() -> None:
    """Check that this machine can run the course, and say how to fix what is missing.

    Checks Python 3.11, loopback ports, memory (4 GiB available) and disk (5 GiB free here), and
    the programs the chapters run: git, make, prometheus and promtool, bwrap, chromium, and
    (optional for now, a warning only) podman and runc.

    Exit codes: 0 when every required check passes (warnings allowed); 1 when one fails.
    """
    results = run_checks(default_machine())
    table = Table("check", "status", "detail", "fix", title="mlops-course doctor")
    for r in results:
        table.add_row(r.check, f"[{STYLES[r.status]}]{r.status.value}[/]", r.detail, r.fix)
    console = Console()
    console.print(table)
    code = exit_code(results)
    if code:
        console.print("[bold red]Some required checks failed:[/] run the commands in `fix`.")
    else:
        console.print("Ready for the course.")
    raise typer.Exit(code)
