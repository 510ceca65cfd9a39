"""make test's fork server: a forked process must be indistinguishable from an ordinary one.

Each test runs a command through the session's server (tests/conftest.py starts it) and, where it
matters, the same command as an ordinary process, and compares what a caller can see: output,
exit status, working directory, environment, signals, and that nothing outlives a killed caller.
``python -m timeit`` serves as the command: a standard module that runs a given statement.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlops_course import forkserver
from mlops_course.grading.grade import _kernel_env

pytestmark = pytest.mark.skipif(
    not os.environ.get(forkserver.ENV, "").startswith("/"),
    reason="no fork server in this session (MLOPS_FORKSERVER=off, or not Linux)",
)


def _log() -> list[str]:
    logs = sorted(Path(os.environ[forkserver.ENV]).glob("server-*.log"))
    return [line for log in logs for line in log.read_text().splitlines()]


def _wait_for_server() -> None:
    """Until the session's server listens; it exits, saying why, if its preloading is unsafe."""
    deadline = time.monotonic() + 120
    state = forkserver._load_time_state(dict(os.environ))
    while not forkserver._socket_path(Path(os.environ[forkserver.ENV]), state).exists():
        refusals = [line for line in _log() if "fork server:" in line]
        assert not refusals, refusals
        assert time.monotonic() < deadline, "the session's fork server never opened its socket"
        time.sleep(0.2)


def _statement(code: str) -> list[str]:
    """A command that runs ``code`` once (timeit prints its timing on stdout; use stderr)."""
    return ["-m", "timeit", "-n", "1", "-r", "1", code]


def _run(
    args: list[str], *, forked: bool, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(extra_env or {})}
    if forked:
        command = [sys.executable, "-m", "mlops_course.forkserver", *args[1:]]
    else:
        env.pop(forkserver.ENV)
        command = [sys.executable, *args]
    return subprocess.run(
        command, cwd=cwd, env=env, input="from stdin", capture_output=True, text=True, timeout=60
    )


def test_a_forked_run_sees_what_an_ordinary_one_sees(tmp_path: Path) -> None:
    """Streams, folder, environment, arguments and exit status are the caller's."""
    _wait_for_server()
    code = (
        "import os, sys; print(os.getcwd(), os.environ['PROBE'], sys.argv[1:], sys.stdin.read(),"
        " file=sys.stderr, flush=True); os._exit(3)"
    )
    before = _log().count("forked timeit")  # other workers' forks are not timeit
    forked = _run(_statement(code), forked=True, cwd=tmp_path, extra_env={"PROBE": "42"})
    ordinary = _run(_statement(code), forked=False, cwd=tmp_path, extra_env={"PROBE": "42"})
    assert _log().count("forked timeit") == before + 1, "the run was not forked by the server"
    assert forked.returncode == ordinary.returncode == 3
    assert forked.stderr == ordinary.stderr
    assert forked.stderr.startswith(f"{tmp_path} 42 ['-n', '1'") and forked.stderr.endswith(
        "] from stdin\n"
    )


def test_an_exception_reads_and_exits_as_in_an_ordinary_process(tmp_path: Path) -> None:
    _wait_for_server()
    code = "raise ValueError('bad input')"
    forked = _run(_statement(code), forked=True, cwd=tmp_path)
    ordinary = _run(_statement(code), forked=False, cwd=tmp_path)
    assert forked.returncode == ordinary.returncode == 1
    assert "ValueError: bad input" in forked.stderr and "ValueError: bad input" in ordinary.stderr


def test_the_cli_gives_the_same_answer_forked(tmp_path: Path) -> None:
    _wait_for_server()
    for args in (["--version"], ["no-such-command"]):
        forked = _run(["-m", "mlops_course", *args], forked=True, cwd=tmp_path)
        ordinary = _run(["-m", "mlops_course", *args], forked=False, cwd=tmp_path)
        assert (forked.returncode, forked.stdout, forked.stderr) == (
            ordinary.returncode,
            ordinary.stdout,
            ordinary.stderr,
        )


def _start_sleeper(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A forked process that reports its pid, then sleeps; its stub and the child's pid."""
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    stub = subprocess.Popen(
        [sys.executable, "-m", "mlops_course.forkserver", *_statement(code)[1:]],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the sleeper never started"
        time.sleep(0.05)
    return stub, int(pid_file.read_text())


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_signal_to_the_caller_reaches_the_child_and_its_status_comes_back(
    tmp_path: Path,
) -> None:
    _wait_for_server()
    stub, child = _start_sleeper(tmp_path)
    assert child != stub.pid, "the sleeper ran in the stub: it was not forked"
    stub.send_signal(signal.SIGTERM)
    assert stub.wait(timeout=30) == -signal.SIGTERM
    assert _gone(child)


def test_a_killed_caller_leaves_no_child_behind(tmp_path: Path) -> None:
    """SIGKILL cannot be passed on: the child notices that its stub is gone and goes too."""
    _wait_for_server()
    stub, child = _start_sleeper(tmp_path)
    os.killpg(stub.pid, signal.SIGKILL)
    stub.wait(timeout=30)
    assert _gone(child), "the forked process outlived its killed caller"


def test_a_different_load_time_setting_runs_as_an_ordinary_process(tmp_path: Path) -> None:
    """OpenMP reads its thread count when it loads: a fork could not honour another value."""
    _wait_for_server()
    code = "import os, sys; print(os.getpid(), os.environ['OMP_NUM_THREADS'], file=sys.stderr)"
    stub = subprocess.Popen(
        [sys.executable, "-m", "mlops_course.forkserver", *_statement(code)[1:]],
        env={**os.environ, "OMP_NUM_THREADS": "7"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, stderr = stub.communicate(timeout=60)
    assert stub.returncode == 0 and stderr == f"{stub.pid} 7\n", "it ran elsewhere than the stub"


def test_the_grader_keeps_submissions_away_from_the_server(tmp_path: Path) -> None:
    """The server forks outside any sandbox: a graded kernel must not know where it is."""
    assert forkserver.ENV in os.environ
    assert forkserver.ENV not in _kernel_env(tmp_path)


def test_the_server_preloads_nothing_that_reads_the_environment_at_import() -> None:
    names = forkserver.preload_names()
    assert "mlflow.server" in names and "mlops_course.train" in names
    assert not any(name.endswith("__main__") for name in names), "a __main__ would run on import"
    assert not any(name.endswith(".cli") for name in names), "commands make Consoles on import"
    assert not set(forkserver.NOT_PRELOADED) & set(names)


def test_a_console_made_at_import_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server refuses to start on such a module (it would print as the server)."""
    import types

    from rich.console import Console

    module = types.ModuleType("planted")
    module.console = Console()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "planted", module)
    assert "planted" in forkserver._consoles_made_at_import()
