"""The checks of a lab, run in a process that no line of the submission ever runs in.

A submission is code, and code in the kernel that runs the checks can change what they see:
redefine a helper a check calls, patch ``numpy.allclose``, install an IPython input transformer
that rewrites every later cell, return an object whose ``==`` is always true, or read the
expected answers of a hidden check. Re-importing inside a check does not help (a patched module
stays in ``sys.modules``). So grading splits the work between two processes:

- the **kernel** (sandboxed) runs the lab's setup, the instructor's cells up to the first
  exercise, then :func:`start`, and from then on only the submission's exercise cells, each
  followed by :func:`sync`;
- the **checker**, forked by :func:`start` right after setup, is the kernel as the instructor's
  setup left it. It makes itself non-dumpable (the kernel, which runs without capabilities, can
  then neither trace it nor open its memory or file descriptors) and is the only process that
  keeps the two descriptors the grader passed: the *plan* (the instructor's cells after setup,
  hidden checks included: the kernel never sees them) and the *results* (read by the grader).

The checker replays the instructor's cells after each exercise. A name the exercise defines
(``psi``, ``PSI_THRESHOLD``) is fetched from the kernel through a codec that builds nothing but
plain Python, NumPy and pandas values and the lab's own dataclasses; anything else becomes a
:class:`Remote` handle whose calls run in the kernel and answer with data again. The learner's
code therefore runs only in the kernel, and a check compares genuine values with genuine
functions. Arguments travel the other way by value; an argument whose class the lab's setup
defines (a registry, say) gets its state copied back after the call, so a function that changes
it works as in the notebook. Names the instructor's cells define are sent to the kernel too, so
a later exercise can use ``noise`` or ``GRID`` as it does in the learner's notebook; names a
graded cell defines are not (they may hold expected answers).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import pickle
import queue
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, cast

from mlops_course.grading.codec import (
    Decoder,
    Handles,
    Malformed,
    encode,
    exception_info,
    expect,
    rebuild_exception,
)

_LENGTH = struct.Struct("!I")
_MAX_ITEMS = 100_000  # a remote iteration materialises at most this many items
_kernel: _KernelSide | None = None  # the kernel's end, set by start()


class KernelGone(RuntimeError):
    """The kernel stopped answering: it died, or a call ran past the timeout."""


def describe(name: str, value: str) -> str:
    """The one-line message of an error, as grading reports it."""
    if name == "NotImplementedError" and not value:
        value = "an exercise this check needs is not done yet"
    return f"{name}: {value}".strip().rstrip(":")[:400]


# ---------------------------------------------------------------------------------------------
# Framing: length-prefixed messages on a socket (the kernel and the checker) or a pipe.


def _send(sock: socket.socket, payload: bytes, lock: threading.Lock) -> None:
    with lock:
        sock.sendall(_LENGTH.pack(len(payload)) + payload)


def _recv(sock: socket.socket) -> bytes | None:
    """One message, or None when the other end is gone."""
    header = _read_exactly(sock, _LENGTH.size)
    if header is None:
        return None
    return _read_exactly(sock, _LENGTH.unpack(header)[0])


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        try:
            chunk = sock.recv(min(left, 1 << 20))
        except OSError:
            return None
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------------------------------------
# The checker's side: handles on the kernel's objects, and the client that talks to the kernel.


class Remote:
    """An object that lives in the kernel: using it asks the kernel, which answers with data.

    Comparison is by identity only: a submission's ``__eq__`` never decides a check.
    """

    __slots__ = ("_client", "_number", "_type")

    def __init__(self, client: _Client, number: int, type_name: str) -> None:
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_number", number)
        object.__setattr__(self, "_type", type_name)

    def _ask(self, op: str, *args: Any) -> Any:
        return self._client.request(op, self._number, *args)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._ask("getattr", name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._ask("setattr", name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ask("call", args, kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self._ask("getitem", key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._ask("setitem", key, value)

    def __contains__(self, item: Any) -> bool:
        return _exactly(self._ask("contains", item), bool)

    def __len__(self) -> int:
        return _exactly(self._ask("len"), int)

    def __iter__(self) -> Iterator[Any]:
        items = self._ask("iter")
        expect(type(items) is list, "an iteration that is not a list")
        return iter(items)

    def __bool__(self) -> bool:
        return _exactly(self._ask("bool"), bool)

    def __float__(self) -> float:
        return float(_exactly(self._ask("float"), float))

    def __int__(self) -> int:
        return _exactly(self._ask("int"), int)

    def __index__(self) -> int:
        return self.__int__()

    def __str__(self) -> str:
        return _exactly(self._ask("str"), str)

    def __repr__(self) -> str:
        try:
            return _exactly(self._ask("repr"), str)
        except Exception:
            return f"<{self._type} in the submission's kernel>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Remote) and other._number == self._number

    def __hash__(self) -> int:
        return hash(("remote", self._number))

    def __reduce__(self) -> Any:
        raise TypeError("a Remote travels to the kernel as a reference only")


def _exactly(value: Any, kind: type) -> Any:
    expect(type(value) is kind, f"a {type(value).__name__} where a {kind.__name__} belongs")
    return value


def _dumps(value: Any) -> bytes:
    """What the checker sends the kernel: by value (cloudpickle), a Remote as its number."""
    # cloudpickle ships no type information.
    import cloudpickle  # type: ignore[import-untyped]

    class Pickler(cloudpickle.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            return ("remote", obj._number) if type(obj) is Remote else None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


class _Client:
    """The checker's connection to the kernel: requests from any thread, answers by number."""

    def __init__(self, sock: socket.socket, timeout: float, classes: dict[str, Any]) -> None:
        self.sock, self.timeout = sock, timeout
        self.decode = Decoder(lambda number, kind: Remote(self, number, kind), classes)
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._pending: dict[int, tuple[threading.Event, list]] = {}
        self._done: queue.Queue = queue.Queue()
        self.gone: str | None = None  # why the kernel no longer answers
        threading.Thread(target=self._read, daemon=True, name="grading-checker-reader").start()

    def _read(self) -> None:
        while True:
            message = _recv(self.sock)
            if message is None:
                break
            try:
                data = json.loads(message)
                expect(type(data) is dict)
            except (ValueError, Malformed):
                continue
            if "done" in data:
                self._done.put(str(data["done"]))
            elif type(data.get("id")) is int and data["id"] in self._pending:
                event, box = self._pending[data["id"]]
                box.append(data)
                event.set()
        self.gone = self.gone or "the kernel died (exit() or a crash?)"
        self._done.put(None)
        for event, _ in list(self._pending.values()):
            event.set()

    def request(self, op: str, *args: Any) -> Any:
        if self.gone:
            raise KernelGone(f"not run: {self.gone}")
        number = next(self._numbers)
        event, box = threading.Event(), cast(list[dict[str, Any]], [])
        self._pending[number] = (event, box)
        main = threading.current_thread() is threading.main_thread()
        restore = _restorable(op, args)
        try:
            payload = _dumps((number, main, op, args, sorted(restore)))
        except Exception as error:
            self._pending.pop(number, None)
            raise TypeError(f"the checker could not send this to the kernel: {error}") from None
        try:
            _send(self.sock, b"R" + payload, self._lock)
            if not event.wait(self.timeout):
                self.gone = f"the submission did not answer within {self.timeout:g} s"
                raise KernelGone(f"Timeout: {self.gone}")
        finally:
            self._pending.pop(number, None)
        if not box:
            raise KernelGone(f"not run: {self.gone}")
        answer = box[0]
        for position, state in (answer.get("state") or {}).items():
            _restore(restore.get(str(position)), self.decode(state))
        if "error" in answer:
            raise rebuild_exception(answer["error"], self.decode)
        return self.decode(answer.get("ok"))

    def wait_done(self) -> str | None:
        """The exercise the kernel just finished, or None when the kernel is gone."""
        try:
            return self._done.get(timeout=self.timeout + 30)
        except queue.Empty:
            self.gone = f"the submission did not finish an exercise within {self.timeout:g} s"
            return None

    def resume(self) -> None:
        if not self.gone:
            _send(self.sock, b"G", self._lock)


def _restorable(op: str, args: tuple) -> dict[str, Any]:
    """Arguments of a call whose class the lab's setup defines: their state comes back after it."""
    if op != "call":
        return {}
    positional, named = args[1], args[2]
    found = {str(i): v for i, v in enumerate(positional) if _is_lab_object(v)}
    found.update({k: v for k, v in named.items() if _is_lab_object(v)})
    return found


def _is_lab_object(value: Any) -> bool:
    return (
        type(value).__module__ == "__main__"
        and hasattr(value, "__dict__")
        and not isinstance(value, type)
    )


def _restore(target: Any, state: Any) -> None:
    if target is not None and type(state) is dict:
        target.__dict__.clear()
        target.__dict__.update({str(k): v for k, v in state.items()})


# ---------------------------------------------------------------------------------------------
# The kernel's side: serve the checker's requests while the kernel waits in sync().


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, handles: Handles) -> None:
        super().__init__(io.BytesIO(data))
        self.handles = handles

    def persistent_load(self, pid: Any) -> Any:
        return self.handles.objects[pid[1]]


class _KernelSide:
    def __init__(self, sock: socket.socket, namespace: dict[str, Any], checker: int) -> None:
        self.sock, self.namespace, self.checker = sock, namespace, checker
        self.handles = Handles()
        self.lock = threading.Lock()
        self.main: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True, name="grading-kernel-reader").start()

    def _read(self) -> None:
        while True:
            message = _recv(self.sock)
            if message is None:
                # The checker is done (or gone): reap it, or its zombie makes the kernel's
                # shutdown wait for a child that never goes away.
                with suppress(ChildProcessError):
                    os.waitpid(self.checker, 0)
                self.main.put(None)
                return
            if message[:1] == b"G":
                self.main.put("resume")
                continue
            request = _Unpickler(message[1:], self.handles).load()
            if request[1]:
                self.main.put(request)
            else:
                threading.Thread(target=self.answer, args=(request,), daemon=True).start()

    def serve_until_resumed(self) -> None:
        while True:
            item = self.main.get()
            if item is None or item == "resume":
                return
            self.answer(item)

    def answer(self, request: tuple) -> None:
        number, _, op, args, restore = request
        reply: dict[str, Any] = {"id": number}
        try:
            reply["ok"] = encode(self._perform(op, args), self.handles)
        except BaseException as error:  # the submission's error, reported to the checker
            reply["error"] = exception_info(error, self.handles)
        if restore:
            states = {}
            for position in restore:
                target = args[1][int(position)] if position.isdigit() else args[2][position]
                with suppress(Exception):
                    states[position] = encode(dict(vars(target)), self.handles)
            reply["state"] = states
        try:
            payload = json.dumps(reply).encode()
        except (TypeError, ValueError):
            payload = json.dumps(
                {
                    "id": number,
                    "error": {
                        "module": "builtins",
                        "type": "TypeError",
                        "message": "the answer could not be sent",
                        "args": None,
                    },
                }
            ).encode()
        _send(self.sock, payload, self.lock)

    def _perform(self, op: str, args: tuple) -> Any:
        if op == "get":
            if args[0] not in self.namespace:
                raise NameError(f"name {args[0]!r} is not defined")
            return self.namespace[args[0]]
        if op == "set":
            for name, blob in args[0].items():
                with suppress(Exception):
                    self.namespace[name] = _Unpickler(blob, self.handles).load()
            return None
        if op == "serve":
            return _serve_app(self.handles.objects[args[0]])
        target = self.handles.objects[args[0]]
        if op == "call":
            return target(*args[1], **args[2])
        if op == "getattr":
            return getattr(target, args[1])
        if op == "setattr":
            setattr(target, args[1], args[2])
            return None
        if op == "getitem":
            return target[args[1]]
        if op == "setitem":
            target[args[1]] = args[2]
            return None
        if op == "contains":
            return args[1] in target
        if op == "iter":
            return list(itertools.islice(iter(target), _MAX_ITEMS))
        simple: dict[str, Callable[[Any], Any]] = {
            "len": len,
            "bool": bool,
            "float": float,
            "int": int,
            "str": str,
            "repr": repr,
        }
        return simple[op](target)

    def send(self, data: dict) -> None:
        _send(self.sock, json.dumps(data).encode(), self.lock)


def _start_server(app: Any) -> tuple[Any, threading.Thread, str]:
    """``app`` served by uvicorn on a free loopback port, in a thread: (server, thread, URL)."""
    import uvicorn

    from mlops_course.services import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start serving within 10 s")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def _serve_app(app: Any) -> str:
    """Serve an app of the kernel for the checker's HTTP client (it runs until the kernel ends)."""
    return _start_server(app)[2]


# ---------------------------------------------------------------------------------------------
# What a lab's setup uses: an HTTP client for an app, wherever the app lives.


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Run ``app`` on a free loopback port; yield its base URL.

    In a learner's notebook the app runs in a thread of the kernel; under grading, where the
    checker holds only a :class:`Remote` of the learner's app, the kernel serves it.
    """
    if type(app) is Remote:
        yield app._client.request("serve", app._number)
        return
    server, thread, url = _start_server(app)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


def http_client(app: Any) -> Any:
    """An HTTP client of ``app`` (FastAPI's TestClient in a notebook; real HTTP under grading).

    Server errors come back as 500 responses in both cases, never as exceptions.
    """
    if type(app) is Remote:
        import httpx

        url = app._client.request("serve", app._number)
        return httpx.Client(base_url=url, trust_env=False, timeout=30)
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False)


# ---------------------------------------------------------------------------------------------
# Starting the checker (in the kernel, right after setup) and handing over after each exercise.


def start(plan_fd: int, result_fd: int, timeout: float) -> None:
    """Fork the checker from the kernel as setup left it; the kernel keeps neither descriptor."""
    global _kernel
    namespace = _user_namespace()
    kernel_end, checker_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the checker
        status = 0
        try:
            kernel_end.close()
            _run_checker(checker_end, plan_fd, result_fd, namespace, timeout)
        except BaseException:
            status = 1
            traceback.print_exc(file=sys.__stderr__)
        finally:
            os._exit(status)
    os.close(plan_fd)
    os.close(result_fd)
    checker_end.close()
    _kernel = _KernelSide(kernel_end, namespace, pid)


def sync(exercise: str) -> None:
    """Tell the checker an exercise ran; serve its requests until it reaches the next one."""
    if _kernel is None:
        raise RuntimeError("the grading checker was not started")
    _kernel.send({"done": exercise})
    _kernel.serve_until_resumed()


def _user_namespace() -> dict[str, Any]:
    try:
        # get_ipython is a builtin only inside IPython (the NameError below is the other case).
        return get_ipython().user_ns  # type: ignore[name-defined]
    except NameError:
        return sys.modules["__main__"].__dict__


def _make_private() -> None:
    """No ptrace, no /proc/PID/mem or /proc/PID/fd for the kernel (Linux; elsewhere a no-op)."""
    if sys.platform != "linux":
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_dumpable = 4
    if libc.prctl(pr_set_dumpable, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def _quiet() -> None:
    """The checker writes nothing where the kernel's output threads (absent after fork) would."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = io.StringIO()
    try:
        # A builtin only inside IPython, as in _user_namespace.
        shell = get_ipython()  # type: ignore[name-defined]
        shell.display_pub.publish = lambda *args, **kwargs: None
    except (NameError, AttributeError):
        pass


def _run_checker(
    sock: socket.socket, plan_fd: int, result_fd: int, namespace: dict, timeout: float
) -> None:
    _make_private()
    _quiet()
    # An interrupt of the kernel (a cell past its timeout) reaches its whole process group: it is
    # meant for the submission's cell, not for the checker, which keeps its own timeouts.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with os.fdopen(plan_fd, "rb") as plan_file:
        plan = json.loads(plan_file.read())
    results = os.fdopen(result_fd, "w", buffering=1)

    def report(**line: Any) -> None:
        results.write(json.dumps(line) + "\n")

    report(pid=os.getpid())
    classes = {k: v for k, v in namespace.items() if isinstance(v, type)}
    client = _Client(sock, timeout, classes)
    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell

    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the cell ran longer than {timeout:g} s and was interrupted")

    signal.signal(signal.SIGALRM, on_alarm)
    first = True
    undefined: dict[str, str] = {}  # a name an exercise should define, and did not: its cell
    kinds = [step["kind"] for step in plan["steps"]]
    last_exercise = max((i for i, kind in enumerate(kinds) if kind == "exercise"), default=-1)
    for index, step in enumerate(plan["steps"]):
        if step["kind"] == "exercise":
            # The kernel goes on from start() to the first exercise by itself; later ones wait
            # in sync() until the checker has replayed the cells before them.
            if not first:
                client.resume()
            first = False
            if not client.gone and client.wait_done() is not None:
                _bind(client, namespace, step, undefined, report)
            continue
        if client.gone:
            report(cell=step["id"], error=f"not run: {client.gone}")
            continue
        before = {name: id(value) for name, value in namespace.items()}
        started = time.monotonic()
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                exec(compile(transform(step["source"]), f"<cell {step['id']}>", "exec"), namespace)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except KernelGone as error:
            report(cell=step["id"], error=str(error))
            continue
        except BaseException as error:  # every failure of a cell is the cell's result
            name = (
                "Timeout"
                if isinstance(error, TimeoutError) and "interrupted" in str(error)
                else None
            )
            message = str(error)
            if isinstance(error, NameError):
                message += _why_undefined(message, undefined)
            report(cell=step["id"], error=describe(name or type(error).__name__, message))
            continue
        report(cell=step["id"], error=None, seconds=round(time.monotonic() - started, 3))
        if not step["graded"] and index < last_exercise:  # a later exercise may use its names
            _mirror(client, namespace, before)
    client.resume()
    report(end=True)
    results.close()


def _bind(
    client: _Client,
    namespace: dict,
    step: dict,
    undefined: dict[str, str],
    report: Callable[..., None],
) -> None:
    """Fetch what an exercise defined from the kernel into the checker's namespace."""
    for name in step["names"]:
        try:
            namespace[name] = client.request("get", name)
        except NameError:
            namespace.pop(name, None)
            undefined[name] = step["id"]
        except KernelGone:
            return
        except Exception as error:  # a value the checker cannot read stays undefined
            namespace.pop(name, None)
            report(cell=step["id"], error=describe(type(error).__name__, str(error)))


def _why_undefined(message: str, undefined: dict[str, str]) -> str:
    """What a learner should do about a NameError under grading."""
    found = re.search(r"name '(\w+)' is not defined", message)
    if found and found.group(1) in undefined:
        return f" (exercise {undefined[found.group(1)]!r} did not define it)"
    return " (only your exercise cells run when graded: define helpers in them)"


def _mirror(client: _Client, namespace: dict, before: dict[str, int]) -> None:
    """Send the kernel what an instructor's cell defined, so later exercises can use it."""
    changed = {
        name: value
        for name, value in namespace.items()
        if not name.startswith("_") and before.get(name) != id(value) and type(value) is not Remote
    }
    blobs = {}
    for name, value in changed.items():
        with suppress(Exception):  # what cannot travel (a thread, a client) stays in the checker
            blobs[name] = _dumps(value)
    if blobs and not client.gone:
        with suppress(Exception):
            client.request("set", blobs)
