"""A fork server: the course's own processes start as copies of one that has imported everything.

Why: before it does any work, a process of the course pays for its imports: ``import
mlflow.server`` costs about 3.7 s of CPU on the 2-core machine of ``benchmarks/``, MLflow with
scikit-learn and pandas about 3 s. ``make test`` starts some 90 such processes (MLflow servers,
the model API, the ``mlops-course`` steps that DVC runs), so on 2 cores those imports alone were
minutes of every run. The fork server imports them once; each process is then a fork of it.

It is opt-in and invisible: only where ``MLOPS_FORKSERVER`` names the socket of a running server
(``make test`` starts one for its session, in tests/conftest.py) are processes forked. Anywhere
else (a learner's terminal, a notebook, an image, the grader's sandbox), and whenever the server
cannot be reached or refuses a request, the same command runs as an ordinary process.

How a forked process stands in for an ordinary one:

- The caller still starts a process: a *stub*, which costs a bare interpreter (``python -m
  mlops_course.forkserver MODULE ARGS``, or the ``mlops-course`` script). The stub sends the
  server its arguments, environment, working directory and standard streams (the file
  descriptors themselves, over the Unix socket); the child takes all of them over.
- The stub stands for the child: it forwards the signals a caller sends (SIGTERM, SIGINT, ...)
  and exits with the child's status, or dies of the child's signal. So ``subprocess`` timeouts,
  exit codes and ``Service.stop`` work on the stub exactly as on the process itself.
- A child whose stub dies without a word (``SIGKILL`` to the stub's process group) kills itself
  and its own process group: nothing outlives its caller.
- What a library reads once, when it is loaded, cannot change after a fork: the OpenMP thread
  count, ``PYTHON*`` settings, the locale, ``HOME``. Each server listens on a socket named after
  those settings (and its interpreter and flags), so a request goes only to a server that has
  the same; with no such server, or if it refuses, it runs as an ordinary process.
- The random generators are reseeded in each child, and ``tempfile`` and the course settings
  forget what the server computed, as a new process would.
- The socket lives in a private (0700) folder; the grader removes the variable from its kernels'
  environment and its sandbox mounts its own ``/tmp``, so a submission can never ask for a
  process outside the sandbox.

This module imports only the standard library: the stub must stay cheap.
"""

from __future__ import annotations

import array
import contextlib
import io
import json
import os
import runpy
import selectors
import signal
import socket
import struct
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

ENV = "MLOPS_FORKSERVER"
_forked = False  # True in a child: its own entry point must run, not ask the server again

# What the server imports before it forks, besides every module of this package: MLflow's server.
PRELOAD = ("mlflow.server",)
# Modules of the package it leaves to the children, and why.
NOT_PRELOADED = {
    "mlops_course.monitoring.report": "imports matplotlib, which picks its backend from the "
    "environment when it is imported",
    "mlops_course.ct.prefect_flow": "needs Prefect, which the course does not install",
}
# Must not be imported by the server: they read the environment once, when they are imported
# (matplotlib its backend, typer's help its terminal width and colours).
READ_AT_IMPORT = ("matplotlib", "typer.rich_utils")

# Read by a library or the interpreter when it loads, so a fork cannot honour a different value.
_LOAD_TIME_PREFIXES = (
    "PYTHON", "OMP_", "MKL_", "OPENBLAS_", "LD_", "MALLOC_", "LC_", "XDG_", "TQDM_"
)  # fmt: skip
_LOAD_TIME_NAMES = ("HOME", "LANG", "MPLCONFIGDIR", "VIRTUAL_ENV")

# Signals a stub passes on to its child (SIGKILL cannot be caught: the child watches the stub).
_FORWARDED = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


def _load_time_state(env: dict[str, str]) -> dict[str, object]:
    """What must be equal between a request and the server for a fork to behave as a new process."""
    variables = {
        key: value
        for key, value in env.items()
        if key.startswith(_LOAD_TIME_PREFIXES) or key in _LOAD_TIME_NAMES
    }
    return {
        "executable": os.path.realpath(sys.executable),
        "flags": repr(sys.flags),
        "xoptions": repr(sorted(sys._xoptions.items())),
        "variables": variables,
    }


def _socket_path(folder: Path, state: dict[str, object]) -> Path:
    """Where the server for ``state`` listens: one server per set of load-time settings."""
    import hashlib

    digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]
    return folder / f"{digest}.sock"


def _send(sock: socket.socket, message: dict[str, object], fds: Sequence[int] = ()) -> None:
    """One message: a line of JSON, with ``fds`` attached to its first byte."""
    payload = json.dumps(message).encode() + b"\n"
    if fds:
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
        payload = payload[sock.sendmsg([payload], rights) :]
    sock.sendall(payload)


def _receive_request(sock: socket.socket) -> tuple[dict, list[int]]:
    """The stub's one message and the three descriptors sent with it; ``({}, [])`` if cut short."""
    fds: list[int] = []
    buffer = b""
    space = socket.CMSG_SPACE(3 * array.array("i").itemsize)
    while not buffer.endswith(b"\n"):
        data, ancillary, _, _ = sock.recvmsg(65536, space)
        for level, kind, content in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                received = array.array("i")
                received.frombytes(content[: len(content) - len(content) % received.itemsize])
                fds.extend(received)
        if not data:
            for fd in fds:
                os.close(fd)
            return {}, []
        buffer += data
    return json.loads(buffer), fds


# --- the stub: what a caller runs ------------------------------------------------------------


def run(module: str, argv: Sequence[str]) -> None:
    """Run ``python -m module`` with ``argv`` as a fork of the server, then exit as it did.

    Returns (without running anything) when no server is set, reachable or willing, or when
    this process is itself a fork; the caller then runs the module itself.
    """
    folder = os.environ.get(ENV, "")
    if _forked or not folder.startswith("/"):
        return
    state = _load_time_state(dict(os.environ))
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(str(_socket_path(Path(folder), state)))
        request: dict[str, object] = {
            "target": module,
            "argv": list(argv),
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "state": state,
        }
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        _send(client, request, fds=(0, 1, 2))
        replies = client.makefile("rb")
        reply = json.loads(replies.readline() or b"{}")
    except (OSError, ValueError):
        client.close()
        return
    if "pid" not in reply:  # refused: the reason is in reply["refused"]
        client.close()
        return
    _stand_in_for(replies, int(reply["pid"]))


def _stand_in_for(replies: BinaryIO, pid: int) -> None:
    """Pass signals on to the child ``pid``; exit with its status, or die of its signal."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in _FORWARDED:
        signal.signal(signum, forward)
    line = replies.readline()
    status = json.loads(line).get("status") if line else None
    if status is None:  # the server went away: wait for the child itself, status unknown
        with contextlib.suppress(OSError):
            watch = selectors.DefaultSelector()
            watch.register(os.pidfd_open(pid), selectors.EVENT_READ)
            watch.select()
        sys.stderr.write("mlops-course fork server: lost the server; the exit status is unknown\n")
        os._exit(1)
    if status < 0:
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
        os._exit(128 - status)
    os._exit(int(status))


def wrap(command: list[str]) -> list[str]:
    """``command`` through the fork server, if one is set and it is ``python -m MODULE ...``.

    Used by :func:`mlops_course.services.process.start` for the services it starts.
    """
    if not os.environ.get(ENV, "").startswith("/"):
        return command
    if len(command) >= 3 and command[0] == sys.executable and command[1] == "-m":
        return [sys.executable, "-m", "mlops_course.forkserver", *command[2:]]
    return command


def _run_module(module: str) -> None:
    """Run ``module`` as ``python -m`` does, ``sys.argv`` set: in a child, or a refused stub."""
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def main() -> None:
    """``python -m mlops_course.forkserver MODULE ARGS``: run a module as a fork, else here."""
    if len(sys.argv) < 2:
        sys.exit("usage: python -m mlops_course.forkserver MODULE [ARGS...] | --serve FOLDER PID")
    if sys.argv[1] == "--serve":
        # The module by its name, not this ``__main__`` copy: a child's entry point imports it
        # and must see the flag that says it is a fork.
        from mlops_course.forkserver import serve as serve_here

        serve_here(Path(sys.argv[2]), parent=int(sys.argv[3]) if len(sys.argv) > 3 else None)
        return
    target, argv = sys.argv[1], sys.argv[1:]
    run(target, argv)
    sys.argv = argv
    _run_module(target)


# --- the server ------------------------------------------------------------------------------


def preload_names() -> list[str]:
    """The package's modules, but its commands (``cli``), and ``PRELOAD``.

    The command modules are cheap once the libraries are loaded, and they make rich Consoles when
    imported, which read the terminal's width and colours then: they are imported by each child.
    """
    import pkgutil

    import mlops_course

    modules = pkgutil.walk_packages(mlops_course.__path__, "mlops_course.")
    own = [
        module.name
        for module in modules
        if not module.name.endswith(("__main__", ".forkserver", ".cli"))
        and module.name not in NOT_PRELOADED
    ]
    return [*own, *PRELOAD]


def _consoles_made_at_import() -> list[str]:
    """Modules holding a rich Console: it read the server's terminal and colours when made."""
    console_type = getattr(sys.modules.get("rich.console"), "Console", None)
    if console_type is None:
        return []
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if any(isinstance(value, console_type) for value in vars(module).values())
    )


class Server:
    """Fork servers for this interpreter's children: started, they set ``MLOPS_FORKSERVER``.

    One server per entry of ``variants``, each with those variables added to this process's
    environment: a child must match its server's load-time settings, and the DVC runs of the
    pipeline notebooks fix ``PYTHONHASHSEED``. The constructor does not wait for the servers to
    finish their imports (seconds): until a socket is there, processes start as ordinary ones.
    The servers stop when this process exits, even if it is killed.

    Jupyter kernels are not forked: pandas decides at import whether it runs in an interactive
    session (its display options differ), so a kernel forked from a server that imported pandas
    printed data frames as a script would (checked: nbval failed on the tour's tables).
    """

    def __init__(self, variants: Sequence[dict[str, str]] = ({},)) -> None:
        import subprocess
        import tempfile

        self.folder = Path(tempfile.mkdtemp(prefix="mlops-forkserver-"))  # mode 0700
        self.processes = []
        for number, variant in enumerate(variants):
            with (self.folder / f"server-{number}.log").open("wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "mlops_course.forkserver", "--serve",
                         str(self.folder), str(os.getpid())],
                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                        env={**os.environ, **variant}, start_new_session=True,
                    )
                )  # fmt: skip
        os.environ[ENV] = str(self.folder)

    def log_lines(self) -> list[str]:
        """What the servers logged: a line per fork, and why a server stopped."""
        logs = sorted(self.folder.glob("server-*.log"))
        return [line for log in logs for line in log.read_text(errors="replace").splitlines()]

    def stop(self) -> None:
        """Stop the servers, unset ``MLOPS_FORKSERVER``, remove the folder."""
        import shutil
        import subprocess

        if os.environ.get(ENV) == str(self.folder):
            del os.environ[ENV]
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def supported() -> bool:
    """Whether this system can run the fork server (Linux: fork, pidfds, descriptor passing)."""
    return hasattr(os, "pidfd_open") and hasattr(socket, "SCM_RIGHTS") and hasattr(os, "fork")


def serve(folder: Path, parent: int | None = None) -> None:
    """Preload, then fork a child for each request until ``parent`` exits.

    It listens in ``folder`` on the socket named after its own load-time settings, so that only
    processes with the same settings ask it.
    """
    import gc
    import importlib
    import threading

    for name in preload_names():
        importlib.import_module(name)
    if threading.active_count() != 1:  # a fork copies only the forking thread
        sys.exit(f"fork server: preloading started threads: {threading.enumerate()}")
    if loaded := [name for name in READ_AT_IMPORT if name in sys.modules]:
        sys.exit(f"fork server: preloading imported {loaded}, which a fork could not configure")
    if consoles := _consoles_made_at_import():
        sys.exit(f"fork server: rich Consoles made at import, in {consoles}: make them on use")
    state = _load_time_state(dict(os.environ))
    path = _socket_path(folder, state)
    gc.collect()
    gc.freeze()  # the children share the preloaded objects' memory instead of copying it

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stop = False

    def finish(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_read, selectors.EVENT_READ, "wake")
    parent_fd = os.pidfd_open(parent) if parent is not None else None
    if parent_fd is not None:
        selector.register(parent_fd, selectors.EVENT_READ, "parent")
    children: dict[int, tuple[socket.socket, int]] = {}

    def close_in_child() -> None:
        """What a child must not hold: the server's socket, pipe, watches and other requests."""
        selector.close()
        listener.close()
        for fd in (wake_read, wake_write, parent_fd):
            if fd is not None:
                os.close(fd)
        for other, other_stub in children.values():
            other.close()
            os.close(other_stub)

    try:
        while not stop:
            for key, _ in selector.select():
                if key.data == "parent":
                    stop = True
                elif key.data == "wake":  # a SIGCHLD: reaped below, after every wake-up
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_read, 4096)
                else:
                    _accept(listener, state, children, close_in_child)
            _reap(children)
    finally:
        listener.close()
        path.unlink(missing_ok=True)


def _accept(
    listener: socket.socket,
    state: dict[str, object],
    children: dict[int, tuple[socket.socket, int]],
    close_in_child: Callable[[], None],
) -> None:
    conn, _ = listener.accept()
    try:
        request, fds = _receive_request(conn)
    except OSError:
        conn.close()
        return
    if not request or len(fds) != 3 or request.get("state") != state:
        for fd in fds:
            os.close(fd)
        # Reached only by a request that chose this socket by mistake: the name is the state.
        _log(f"refused {request.get('target')}: its load-time state is not this server's")
        with contextlib.suppress(OSError):
            _send(conn, {"refused": "the request differs from the server in load-time state"})
        conn.close()
        return
    stub = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[0]
    stub_fd = os.pidfd_open(stub)  # before the fork: a pid could be reused, a pidfd cannot
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:
        try:
            close_in_child()
            conn.close()
            _become(request, fds, stub_fd)
        finally:
            os._exit(70)  # only reached if _become itself failed
    for fd in fds:
        os.close(fd)
    children[pid] = (conn, stub_fd)
    _log(f"forked {request['target']}")
    with contextlib.suppress(OSError):
        _send(conn, {"pid": pid})


def _log(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _reap(children: dict[int, tuple[socket.socket, int]]) -> None:
    """Tell each finished child's stub its status."""
    while children:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn, stub_fd = children.pop(pid, (None, -1))
        if conn is None:
            continue
        code = os.waitstatus_to_exitcode(wait_status)
        with contextlib.suppress(OSError):
            _send(conn, {"status": code})
        conn.close()
        os.close(stub_fd)


def _become(request: dict, fds: list[int], stub_fd: int) -> None:
    """In the child: take over the stub's streams, folder and environment, run, and exit."""
    import atexit
    import random
    import tempfile
    import threading

    global _forked
    _forked = True
    os.setsid()
    for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.set_wakeup_fd(-1)
    for target_fd, fd in enumerate(fds):
        os.dup2(fd, target_fd, inheritable=True)
        os.close(fd)
    if os.isatty(1) and isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    tempfile.tempdir = None
    if "mlops_course.settings" in sys.modules:
        sys.modules["mlops_course.settings"].get_settings.cache_clear()
    threading.Thread(target=_die_with_stub, args=(stub_fd,), daemon=True).start()

    code = 0
    try:
        _run_module(request["target"])
    except SystemExit as exit_:
        code = _exit_code(exit_.code)
    except BaseException:  # reported as an ordinary interpreter would report it
        sys.excepthook(*sys.exc_info())
        code = 1
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()  # wait for non-daemon threads, as interpreter exit does
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def _die_with_stub(stub_fd: int) -> None:
    """When the stub is gone (killed: it never exits before its child), take our group along."""
    watch = selectors.DefaultSelector()
    watch.register(stub_fd, selectors.EVENT_READ)
    watch.select()
    os.killpg(0, signal.SIGKILL)


if __name__ == "__main__":
    main()
