"""``mlflow server`` in one Python process instead of two (``python -m`` this module).

MLflow's ``server`` command validates its options, prepares the backend store, computes the
server's environment and then starts a *second* interpreter, ``python -m uvicorn
mlflow.server.fastapi_app:app``, and waits for it. Each interpreter imports MLflow's server code
(about 5 s of CPU each, measured here), so a server cost 10 s of CPU before its first answer; the
notebooks, labs and tests start dozens. Here MLflow's own ``server`` command runs unchanged,
except that the uvicorn command it would spawn runs in this process, with the environment MLflow
computed for it: the same options, checks, app and handlers, one import instead of two.

The seam is one private MLflow function (``mlflow.server._exec_cmd``, the spawn). MLflow is
pinned; if a release moves it, ``start_mlflow`` falls back to the ``mlflow`` command (see
`in_process_available`) and tests/integration/test_services.py fails, naming this module.
"""

from __future__ import annotations

import os
import sys
from typing import Any

UVICORN = ["-m", "uvicorn"]


class _Finished:
    """What ``_run_server`` waits on once uvicorn has returned: a process that has exited."""

    pid = os.getpid()
    returncode = 0

    def poll(self) -> int:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Nothing to forward: the server already stopped."""


def _run_uvicorn_here(cmd: list[str], *, extra_env: dict[str, str] | None = None, **_: Any):
    """Stand-in for MLflow's spawn: run ``python -m uvicorn ...`` in this interpreter."""
    import uvicorn.main

    command = [str(part) for part in cmd]
    if command[1:3] != UVICORN:
        raise RuntimeError(f"mlflow server asked to run {command!r}, not uvicorn")
    os.environ.update(extra_env or {})
    try:
        uvicorn.main.main(args=command[3:], prog_name="uvicorn", standalone_mode=False)
    except SystemExit as stop:  # uvicorn exits with 3 when the app cannot start
        if stop.code:
            raise
    return _Finished()


def in_process_available() -> bool:
    """Whether this MLflow still has the spawn this module replaces (read, not imported).

    Read from the file: importing ``mlflow.server`` to look costs seconds, and so would
    ``find_spec("mlflow.server")``, which imports the ``mlflow`` package first.
    """
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("mlflow")
    if spec is None or spec.origin is None:
        return False
    server = Path(spec.origin).parent / "server" / "__init__.py"
    if not server.is_file():
        return False
    text = server.read_text(encoding="utf-8")
    return "from mlflow.utils.process import _exec_cmd" in text and "_exec_cmd(\n" in text


def main(argv: list[str] | None = None) -> None:
    """Run ``mlflow <argv>`` (e.g. ``server --port 5000``) with uvicorn in this process."""
    import mlflow.server
    from mlflow.cli import cli

    # The seam: MLflow spawns uvicorn through this name; here it runs in-process instead.
    mlflow.server._exec_cmd = _run_uvicorn_here
    cli.main(args=sys.argv[1:] if argv is None else argv, prog_name="mlflow")


if __name__ == "__main__":
    main()
