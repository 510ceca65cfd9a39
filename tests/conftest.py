"""Guards shared by every test: nothing may reach the network except loopback, and nothing may
write MLflow's defaults into the repository.

The course promises to run offline. In-process code that tries to connect anywhere but
127.0.0.1 / ::1 / a Unix socket fails the test at once with a message naming the address, instead
of hanging on a timeout or passing on a machine that happens to be online.

Code that reaches MLflow without a tracking URI does not fail: MLflow quietly creates
``./mlflow.db`` (and ``./mlruns`` for artifacts) in the working directory, the repository. That is
a test talking to a store nobody set up, so a session that leaves either behind (new, or changed)
fails, naming it.

``make test`` runs every test file and notebook in one pytest session spread over pytest-xdist
workers with ``--dist loadfile``: each file is one unit of work (the cells of a notebook must run
in order in one kernel, and a module's fixtures are built once), except in the files of
``SPLIT_BY_PARAMETER`` where each parameter is one (a lab of tests/grading), and in the folders of
``ONE_UNIT`` which are one unit together (the container tests).
"""

from __future__ import annotations

import collections
import os
import socket
from pathlib import Path

import pytest
from xdist.scheduler import LoadFileScheduling

from mlops_course import forkserver

_LOOPBACK = ("127.", "::1", "localhost")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(address: object) -> None:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if not host.startswith(_LOOPBACK):
            raise RuntimeError(
                f"test tried to reach the network at {address!r}: only loopback is allowed"
            )


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(address)
    return _real_connect_ex(self, address)


# Test files whose parametrized tests are split by parameter under ``--dist loadfile``: one lab's
# runs are slow and cached for the tests of that lab, so a lab, not the whole file, is the unit.
SPLIT_BY_PARAMETER = ("tests/grading/test_course_labs.py",)
# Folders whose files are one unit: the container tests all need the image, which one worker
# builds while holding a lock; as files spread over the workers, the other worker sat waiting on
# that lock for the whole build (two minutes of a core) instead of running other tests.
ONE_UNIT = ("tests/containers/",)


class _FileOrParameterScheduling(LoadFileScheduling):
    """``--dist loadfile``, but ``SPLIT_BY_PARAMETER`` by parameter and ``ONE_UNIT`` by folder."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        for folder in ONE_UNIT:
            if path.startswith(folder):
                return folder
        if path in SPLIT_BY_PARAMETER and nodeid.endswith("]") and "[" in nodeid:
            return f"{path}[{nodeid.rsplit('[', 1)[1]}"
        return path


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """Our scheduler for ``--dist loadfile`` (what ``make test`` uses); xdist's for the others."""
    if config.getvalue("dist") == "loadfile":
        return _FileOrParameterScheduling(config, log)
    return None


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


REPO = Path(__file__).resolve().parents[1]
# What MLflow creates in the working directory when it is used without a tracking URI.
MLFLOW_DEFAULTS = ("mlflow.db", "mlruns")
_before = pytest.StashKey[dict[str, float]]()


def _mtimes() -> dict[str, float]:
    return {
        name: (REPO / name).stat().st_mtime for name in MLFLOW_DEFAULTS if (REPO / name).exists()
    }


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Before xdist starts its workers (their collection imports the test modules)."""
    session.config.stash[_before] = _mtimes()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return  # the controller checks once, after every worker has finished
    before = session.config.stash.get(_before, {})
    stray = sorted(name for name, mtime in _mtimes().items() if before.get(name) != mtime)
    if stray:
        message = (
            f"the tests wrote {', '.join(stray)} into {REPO}: some code used MLflow without a "
            "tracking URI (MLflow then creates its default store in the working directory)"
        )
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message, red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# The session's fork servers (mlops_course/forkserver.py): MLflow servers, APIs and the
# `mlops-course` steps that tests, notebooks and DVC start become forks of an interpreter that has
# imported them, instead of each importing MLflow, scikit-learn and pandas anew. Two servers: the
# pipeline notebooks run DVC with PYTHONHASHSEED=0, which a fork cannot change. Started in the
# controller before xdist starts its workers, which inherit MLOPS_FORKSERVER (and so do their
# kernels and commands). `MLOPS_FORKSERVER=off make test` runs every process as an ordinary one.
_forkserver = pytest.StashKey[forkserver.Server]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    controller = not hasattr(config, "workerinput")
    if controller and forkserver.ENV not in os.environ and forkserver.supported():
        config.stash[_forkserver] = forkserver.Server(variants=({}, {"PYTHONHASHSEED": "0"}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    server = terminalreporter.config.stash.get(_forkserver, None)
    if server is None:
        return
    lines = server.log_lines()
    forked = collections.Counter(line.split()[1] for line in lines if line.startswith("forked "))
    terminalreporter.write_line(
        f"fork server: {sum(forked.values())} processes forked "
        f"({', '.join(f'{name} {count}' for name, count in forked.most_common())})"
    )
    others = collections.Counter(line for line in lines if not line.startswith("forked "))
    for line, count in others.most_common():
        terminalreporter.write_line(f"  {count} x {line}")


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_forkserver, None)
    if server is not None:
        server.stop()
