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

import base64
import builtins
import dataclasses
import io
import itertools
import json
import os
import pickle
import queue
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

_LENGTH = struct.Struct("!I")
_MAX_ITEMS = 100_000  # a remote iteration materialises at most this many items
_kernel: _KernelSide | None = None  # the kernel's end, set by start()


class RemoteError(Exception):
    """An exception raised by the submission that the checker cannot rebuild as its own type."""

    def __init__(self, remote_type: str, message: str) -> None:
        super().__init__(f"{remote_type}: {message}" if message else remote_type)
        self.remote_type = remote_type


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
# The codec. The kernel encodes (it is the submission's process, so the encoder may have been
# replaced); the checker decodes, and the decoder is the trust boundary: it accepts only the
# shapes below and builds only genuine builtin, NumPy and pandas objects, lab dataclasses and
# Remote handles. No pickle crosses from the kernel to the checker.


class _Handles:
    """Objects the kernel keeps for the checker, by number."""

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}
        self._numbers: dict[int, int] = {}
        self._next = itertools.count(1)

    def number(self, value: Any) -> int:
        key = id(value)
        if key not in self._numbers or self.objects.get(self._numbers[key]) is not value:
            number = next(self._next)
            self._numbers[key] = number
            self.objects[number] = value
        return self._numbers[key]


def _qualified(kind: type) -> tuple[str, str]:
    return getattr(kind, "__module__", "?"), getattr(kind, "__qualname__", kind.__name__)


def encode(value: Any, handles: _Handles) -> Any:
    """``value`` as JSON-ready data, with a handle for whatever is not plain data."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return ["v", value]
    if kind is bytes:
        return ["b", base64.b64encode(value).decode()]
    if kind in (list, tuple, set, frozenset):
        tag = _CONTAINER_TAGS[kind]
        return [tag, [encode(item, handles) for item in value]]
    if kind is dict:
        return ["d", [[encode(k, handles), encode(v, handles)] for k, v in value.items()]]
    try:
        special = _encode_special(value, handles)
    except _Unencodable:
        special = None
    if special is not None:
        return special
    return ["h", handles.number(value), ".".join(_qualified(kind))]


_CONTAINER_TAGS: dict[type, str] = {list: "l", tuple: "t", set: "s", frozenset: "fs"}


class _Unencodable(Exception):
    pass


def _encode_special(value: Any, handles: _Handles) -> list | None:
    kind = type(value)
    module = kind.__module__ or ""
    if module.startswith("numpy"):
        import numpy as np

        if kind is np.ndarray and value.dtype.kind in "biufcmMSU":
            buffer = io.BytesIO()
            np.save(buffer, value, allow_pickle=False)
            return ["a", base64.b64encode(buffer.getvalue()).decode()]
        if isinstance(value, np.generic) and value.dtype.kind in "biufcSU":
            return ["ns", value.dtype.str, encode(value.item(), handles)]
        return None
    if module.startswith("pandas"):
        return _encode_pandas(value, handles)
    if module == "pathlib" and kind.__name__ in ("PosixPath", "WindowsPath", "PurePosixPath"):
        return ["p", str(value)]
    if module == "datetime" and kind.__name__ in ("datetime", "date"):
        return ["dt", kind.__name__, value.isoformat()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        module, qualname = _qualified(kind)
        fields = [
            [f.name, encode(getattr(value, f.name), handles)] for f in dataclasses.fields(value)
        ]
        return ["dc", module, qualname, fields]
    return None


_EXTENSION_DTYPES = {"Int64", "Int32", "Float64", "boolean", "string", "str"}


def _encode_values(values: Any, dtype: Any, handles: _Handles) -> list:
    import numpy as np

    name = str(dtype)
    if name == "category":
        return [
            "cat",
            encode(np.asarray(values.codes), handles),
            _encode_index(values.categories, handles),
            bool(values.ordered),
        ]
    if name in _EXTENSION_DTYPES:
        import pandas as pd

        return ["ext", name, [encode(None if pd.isna(v) else v, handles) for v in values]]
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        return ["obj", [encode(v, handles) for v in values]]
    if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        return ["arr", encode(np.asarray(values), handles)]
    raise _Unencodable(name)


def _encode_index(index: Any, handles: _Handles) -> list:
    import pandas as pd

    if type(index) is pd.RangeIndex:
        return ["range", index.start, index.stop, index.step, encode(index.name, handles)]
    if type(index) in (pd.Index, pd.DatetimeIndex, pd.CategoricalIndex):
        values = index.array if str(index.dtype) == "category" else index.to_numpy()
        return ["index", _encode_values(values, index.dtype, handles), encode(index.name, handles)]
    raise _Unencodable(type(index).__name__)


def _values_of(series: Any) -> Any:
    import numpy as np

    return series.to_numpy() if isinstance(series.dtype, np.dtype) else series.array


def _encode_pandas(value: Any, handles: _Handles) -> list | None:
    import pandas as pd

    kind = type(value)
    if kind is pd.Series:
        return [
            "series",
            _encode_values(_values_of(value), value.dtype, handles),
            _encode_index(value.index, handles),
            encode(value.name, handles),
        ]
    if kind is pd.DataFrame:
        if value.columns.duplicated().any():
            raise _Unencodable("duplicate columns")
        columns = []
        for label in value.columns:
            column = value[label]
            columns.append(
                [encode(label, handles), _encode_values(_values_of(column), column.dtype, handles)]
            )
        return ["frame", columns, _encode_index(value.index, handles)]
    if kind in (pd.Index, pd.RangeIndex, pd.DatetimeIndex):
        return ["pindex", _encode_index(value, handles)]
    if kind is pd.Timestamp and value.tzinfo is None:
        return ["ts", value.isoformat()]
    return None


class _Malformed(ValueError):
    pass


def _check(condition: bool, what: str = "a malformed answer") -> None:
    if not condition:
        raise _Malformed(f"the submission sent {what}")


class _Decoder:
    """Builds checker-side values from what the kernel sent; trusts nothing in it."""

    def __init__(self, client: _Client, classes: dict[str, Any]) -> None:
        self.client = client
        self.classes = classes  # the lab's own classes, as setup defined them (pristine)

    def __call__(self, tree: Any) -> Any:
        _check(type(tree) is list and len(tree) >= 2 and type(tree[0]) is str)
        tag, *rest = tree
        if tag == "v":
            _check(rest[0] is None or type(rest[0]) in (bool, int, float, str))
            return rest[0]
        if tag == "b":
            return base64.b64decode(rest[0].encode(), validate=True)
        if tag in ("l", "t", "s", "fs"):
            _check(type(rest[0]) is list)
            items = [self(item) for item in rest[0]]
            return {"l": list, "t": tuple, "s": set, "fs": frozenset}[tag](items)
        if tag == "d":
            _check(type(rest[0]) is list)
            pairs = [(self(k), self(v)) for k, v in (self._pair(p) for p in rest[0])]
            return dict(pairs)
        if tag == "h":
            _check(type(rest[0]) is int and type(rest[1]) is str)
            return Remote(self.client, rest[0], rest[1])
        if tag == "a":
            return self._array(rest[0])
        if tag == "ns":
            import numpy as np

            dtype = np.dtype(str(rest[0]))
            _check(dtype.kind in "biufcSU", "a NumPy scalar of an unsafe type")
            return dtype.type(self(rest[1]))
        if tag == "p":
            from pathlib import Path

            return Path(str(rest[0]))
        if tag == "dt":
            import datetime

            _check(rest[0] in ("datetime", "date"))
            return getattr(datetime, rest[0]).fromisoformat(str(rest[1]))
        if tag == "ts":
            import pandas as pd

            return pd.Timestamp(str(rest[0]))
        if tag == "dc":
            return self._dataclass(*rest)
        if tag in ("series", "frame", "pindex"):
            return self._pandas(tag, rest)
        raise _Malformed(f"the submission sent an unknown kind of value ({tag!r})")

    def _pair(self, pair: Any) -> tuple[Any, Any]:
        _check(type(pair) is list and len(pair) == 2)
        return pair[0], pair[1]

    def _array(self, text: Any) -> Any:
        import numpy as np

        _check(type(text) is str)
        array = np.load(
            io.BytesIO(base64.b64decode(text.encode(), validate=True)), allow_pickle=False
        )
        _check(type(array) is np.ndarray and array.dtype.kind in "biufcmMSU")
        return array

    def _dataclass(self, module: Any, qualname: Any, fields: Any) -> Any:
        _check(type(module) is str and type(qualname) is str and type(fields) is list)
        found: Any
        if module == "__main__":
            found = self.classes.get(qualname)
        else:
            found = sys.modules.get(module)  # never imports: only what the checker has loaded
            for part in qualname.split("."):
                found = getattr(found, part, None)
        if not (isinstance(found, type) and dataclasses.is_dataclass(found)):
            raise _Malformed(f"the submission sent an unknown class {module}.{qualname}")
        kind: type = found
        names = [f.name for f in dataclasses.fields(kind)]
        values = dict(self._pair(field) for field in fields)
        _check(sorted(values) == sorted(names), f"a {qualname} with other fields")
        instance: Any = object.__new__(kind)
        for name in names:
            object.__setattr__(instance, name, self(values[name]))
        return instance

    def _values(self, tree: Any) -> Any:
        import pandas as pd

        _check(type(tree) is list and len(tree) > 0 and type(tree[0]) is str)
        tag = tree[0]
        if tag == "arr":
            return self(tree[1])
        if tag == "obj":
            _check(type(tree[1]) is list)
            values = [self(item) for item in tree[1]]
            import numpy as np

            array = np.empty(len(values), dtype=object)
            array[:] = values
            return array
        if tag == "ext":
            _check(tree[1] in _EXTENSION_DTYPES and type(tree[2]) is list)
            return pd.array([self(item) for item in tree[2]], dtype=tree[1])
        if tag == "cat":
            codes = self(tree[1])
            categories = self._index(tree[2])
            return pd.Categorical.from_codes(codes, categories=categories, ordered=bool(tree[3]))
        raise _Malformed(f"the submission sent unknown column values ({tag!r})")

    def _index(self, tree: Any) -> Any:
        import pandas as pd

        _check(type(tree) is list and len(tree) > 0 and type(tree[0]) is str)
        if tree[0] == "range":
            _check(all(type(n) is int for n in tree[1:4]))
            return pd.RangeIndex(tree[1], tree[2], tree[3], name=self(tree[4]))
        _check(tree[0] == "index" and len(tree) == 3)
        return pd.Index(self._values(tree[1]), name=self(tree[2]))

    def _pandas(self, tag: str, rest: list) -> Any:
        import pandas as pd

        if tag == "pindex":
            return self._index(rest[0])
        if tag == "series":
            return pd.Series(self._values(rest[0]), index=self._index(rest[1]), name=self(rest[2]))
        _check(type(rest[0]) is list)
        labels, columns = [], []
        for label, values in (self._pair(column) for column in rest[0]):
            labels.append(self(label))
            columns.append(self._values(values))
        index = self._index(rest[1])
        frame = pd.DataFrame(dict(zip(range(len(labels)), columns, strict=True)), index=index)
        frame.columns = labels
        return frame


def _exception_info(error: BaseException, handles: _Handles) -> dict[str, Any]:
    module, qualname = _qualified(type(error))
    info: dict[str, Any] = {"module": module, "type": qualname, "message": str(error)[:2000]}
    try:
        info["args"] = encode(tuple(error.args), handles)
    except Exception:
        info["args"] = None
    errors = getattr(error, "errors", None)
    if module.startswith("pydantic") and callable(errors):
        try:
            info["errors"] = encode(errors(include_url=False), handles)
            info["title"] = str(getattr(error, "title", ""))
        except Exception:
            pass
    return info


def _rebuild_exception(info: Any, decode: _Decoder) -> BaseException:
    """The checker's own exception for one the kernel raised, so ``except ValueError`` works."""
    _check(
        type(info) is dict and type(info.get("type")) is str and type(info.get("message")) is str
    )
    module, qualname, message = str(info.get("module")), info["type"], info["message"]
    if module == "builtins":
        kind = getattr(builtins, qualname, None)
        if isinstance(kind, type) and issubclass(kind, Exception):
            try:
                args = decode(info["args"]) if info.get("args") is not None else (message,)
                if type(args) is tuple and all(
                    type(a) in (str, int, float, bool) or a is None for a in args
                ):
                    return kind(*args)
            except Exception:
                pass
            return kind(message)
    if "errors" in info and module.startswith("pydantic"):
        try:
            from pydantic import ValidationError

            details = [
                {k: v for k, v in error.items() if k in ("type", "loc", "input", "ctx")}
                for error in decode(info["errors"])
            ]
            title = str(info.get("title", ""))
            # The details are plain dicts with the keys of pydantic's InitErrorDetails TypedDict.
            return ValidationError.from_exception_data(title, details)  # type: ignore[arg-type]
        except Exception:
            pass
    kind = sys.modules.get(module)
    for part in qualname.split("."):
        kind = getattr(kind, part, None)
    if module != "__main__" and isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(message)
        except Exception:
            pass
    return RemoteError(qualname, message)


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
        _check(type(items) is list, "an iteration that is not a list")
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
    _check(type(value) is kind, f"a {type(value).__name__} where a {kind.__name__} belongs")
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
        self.decode = _Decoder(self, classes)
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
                _check(type(data) is dict)
            except (ValueError, _Malformed):
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
            raise _rebuild_exception(answer["error"], self.decode)
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
    def __init__(self, data: bytes, handles: _Handles) -> None:
        super().__init__(io.BytesIO(data))
        self.handles = handles

    def persistent_load(self, pid: Any) -> Any:
        return self.handles.objects[pid[1]]


class _KernelSide:
    def __init__(self, sock: socket.socket, namespace: dict[str, Any], checker: int) -> None:
        self.sock, self.namespace, self.checker = sock, namespace, checker
        self.handles = _Handles()
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
            reply["error"] = _exception_info(error, self.handles)
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


def _serve_app(app: Any) -> str:
    """Serve an ASGI app of the kernel on a free loopback port (for the checker's HTTP client)."""
    import time

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
    return f"http://127.0.0.1:{port}"


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
    import time

    import uvicorn

    from mlops_course.services import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start within 10 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
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
    kinds = [step["kind"] for step in plan["steps"]]
    last_exercise = max((i for i, kind in enumerate(kinds) if kind == "exercise"), default=-1)
    for index, step in enumerate(plan["steps"]):
        if step["kind"] == "exercise":
            # The kernel goes on from start() to the first exercise by itself; later ones wait
            # in sync() until the checker has replayed the cells before them.
            if not first:
                client.resume()
            first = False
            if client.gone or client.wait_done() is None:
                continue
            for name in step["names"]:
                try:
                    namespace[name] = client.request("get", name)
                except NameError:
                    namespace.pop(name, None)
                except KernelGone:
                    break
                except Exception as error:  # a value the checker cannot read stays undefined
                    namespace.pop(name, None)
                    report(cell=step["id"], error=describe(type(error).__name__, str(error)))
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
            report(cell=step["id"], error=describe(name or type(error).__name__, str(error)))
            continue
        report(cell=step["id"], error=None, seconds=round(time.monotonic() - started, 3))
        if not step["graded"] and index < last_exercise:  # a later exercise may use its names
            _mirror(client, namespace, before)
    client.resume()
    report(end=True)
    results.close()


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
