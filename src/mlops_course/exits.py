"""What every ``mlops-course`` command's exit code means, how a command fails, how it says yes.

Scripts, CI jobs and the DVC pipeline act on exit codes, so a code must say *why* a command
stopped, the same way for every command: a blocked gate (retry with a better model) is not a
typo in a path (fix the command) and neither is a server that is down (start it, or wait).
"""

from __future__ import annotations

from enum import IntEnum
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape


class ExitCode(IntEnum):
    """The exit codes of every ``mlops-course`` command."""

    OK = 0
    """The command did what it was asked."""
    NO = 1
    """It ran, and its check said no: a gate blocked, a batch or a model check failed, labs are
    stale, a pipeline stopped on bad data, requests to the API failed."""
    BAD_INPUT = 2
    """It could not run as asked: a missing file, an invalid parameter, nothing to work on."""
    UNREACHABLE = 3
    """A service it needs (the MLflow server, the model API) is down or cannot be started."""


HELP = (
    "Exit codes: 0 ok; 1 the check said no (a gate blocked, a check failed); "
    "2 bad input (a missing file, an invalid parameter); 3 a service is unreachable."
)
"""Shown at the end of ``mlops-course --help`` and of each command group's help."""


class ServiceUnreachable(RuntimeError):
    """A service the command needs does not answer; the message names it and what to do.

    Defined here, with no heavy import, so that every command can tell this failure apart.
    """


def fail(message: str, code: ExitCode = ExitCode.BAD_INPUT) -> NoReturn:
    """Print a readable error (no traceback for what a person can fix) and exit with ``code``.

    The console is made here, not when this module is imported: a Console reads the terminal's
    width and colours (``COLUMNS``, ``NO_COLOR``, ...) when it is made, and every module imports
    this one, including make test's fork server (mlops_course.forkserver), whose children must
    print as the process they stand for, not as the server.
    """
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(message)}"
    )
    raise typer.Exit(int(code))


def yes_no(flag: bool) -> str:
    """A green yes or a red no, for the tables of every command (rich markup)."""
    return "[green]yes[/]" if flag else "[red]no[/]"
