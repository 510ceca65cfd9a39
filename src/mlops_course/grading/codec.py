"""What a graded kernel may send its checker: plain data, and handles for everything else.

The kernel is the submission's process, so its encoder may have been replaced; the checker's
decoder is the trust boundary of grading (mlops_course.grading.isolation). It accepts only the
shapes below and builds only genuine builtin, NumPy and pandas values, the lab's own dataclasses
and handles; no pickle crosses from the kernel to the checker. Exact types only: a subclass of
``int`` or ``list`` (whose ``==`` the submission wrote) stays in the kernel as a handle.
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
import io
import itertools
import sys
from collections.abc import Callable
from typing import Any


class RemoteError(Exception):
    """An exception raised by the submission that the checker cannot rebuild as its own type."""

    def __init__(self, remote_type: str, message: str) -> None:
        super().__init__(f"{remote_type}: {message}" if message else remote_type)
        self.remote_type = remote_type


class Handles:
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


def _loaded(module: str, qualname: str) -> Any:
    """``module.qualname`` if the checker has already imported it, else None (never imports)."""
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


def _qualified(kind: type) -> tuple[str, str]:
    return getattr(kind, "__module__", "?"), getattr(kind, "__qualname__", kind.__name__)


def encode(value: Any, handles: Handles) -> Any:
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


def _encode_special(value: Any, handles: Handles) -> list | None:
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


def _encode_values(values: Any, dtype: Any, handles: Handles) -> list:
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


def _encode_index(index: Any, handles: Handles) -> list:
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


def _encode_pandas(value: Any, handles: Handles) -> list | None:
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


class Malformed(ValueError):
    pass


def expect(condition: bool, what: str = "a malformed answer") -> None:
    if not condition:
        raise Malformed(f"the submission sent {what}")


class Decoder:
    """Builds checker-side values from what the kernel sent; trusts nothing in it."""

    def __init__(self, handle: Callable[[int, str], Any], classes: dict[str, Any]) -> None:
        self.handle = handle  # makes the checker's handle on a kernel object (number, type)
        self.classes = classes  # the lab's own classes, as setup defined them (pristine)

    def __call__(self, tree: Any) -> Any:
        expect(type(tree) is list and len(tree) >= 2 and type(tree[0]) is str)
        tag, *rest = tree
        if tag == "v":
            expect(rest[0] is None or type(rest[0]) in (bool, int, float, str))
            return rest[0]
        if tag == "b":
            return base64.b64decode(rest[0].encode(), validate=True)
        if tag in ("l", "t", "s", "fs"):
            expect(type(rest[0]) is list)
            items = [self(item) for item in rest[0]]
            return {"l": list, "t": tuple, "s": set, "fs": frozenset}[tag](items)
        if tag == "d":
            expect(type(rest[0]) is list)
            pairs = [(self(k), self(v)) for k, v in (self._pair(p) for p in rest[0])]
            return dict(pairs)
        if tag == "h":
            expect(type(rest[0]) is int and type(rest[1]) is str)
            return self.handle(rest[0], rest[1])
        if tag == "a":
            return self._array(rest[0])
        if tag == "ns":
            import numpy as np

            dtype = np.dtype(str(rest[0]))
            expect(dtype.kind in "biufcSU", "a NumPy scalar of an unsafe type")
            return dtype.type(self(rest[1]))
        if tag == "p":
            from pathlib import Path

            return Path(str(rest[0]))
        if tag == "dt":
            import datetime

            expect(rest[0] in ("datetime", "date"))
            return getattr(datetime, rest[0]).fromisoformat(str(rest[1]))
        if tag == "ts":
            import pandas as pd

            return pd.Timestamp(str(rest[0]))
        if tag == "dc":
            return self._dataclass(*rest)
        if tag in ("series", "frame", "pindex"):
            return self._pandas(tag, rest)
        raise Malformed(f"the submission sent an unknown kind of value ({tag!r})")

    def _pair(self, pair: Any) -> tuple[Any, Any]:
        expect(type(pair) is list and len(pair) == 2)
        return pair[0], pair[1]

    def _array(self, text: Any) -> Any:
        import numpy as np

        expect(type(text) is str)
        array = np.load(
            io.BytesIO(base64.b64decode(text.encode(), validate=True)), allow_pickle=False
        )
        expect(type(array) is np.ndarray and array.dtype.kind in "biufcmMSU")
        return array

    def _dataclass(self, module: Any, qualname: Any, fields: Any) -> Any:
        expect(type(module) is str and type(qualname) is str and type(fields) is list)
        # The lab's own classes as setup defined them; a module's only if already imported.
        found = self.classes.get(qualname) if module == "__main__" else _loaded(module, qualname)
        if not (isinstance(found, type) and dataclasses.is_dataclass(found)):
            raise Malformed(f"the submission sent an unknown class {module}.{qualname}")
        kind: type = found
        names = [f.name for f in dataclasses.fields(kind)]
        values = dict(self._pair(field) for field in fields)
        expect(sorted(values) == sorted(names), f"a {qualname} with other fields")
        instance: Any = object.__new__(kind)
        for name in names:
            object.__setattr__(instance, name, self(values[name]))
        return instance

    def _values(self, tree: Any) -> Any:
        import pandas as pd

        expect(type(tree) is list and len(tree) > 0 and type(tree[0]) is str)
        tag = tree[0]
        if tag == "arr":
            return self(tree[1])
        if tag == "obj":
            expect(type(tree[1]) is list)
            values = [self(item) for item in tree[1]]
            import numpy as np

            array = np.empty(len(values), dtype=object)
            array[:] = values
            return array
        if tag == "ext":
            expect(tree[1] in _EXTENSION_DTYPES and type(tree[2]) is list)
            return pd.array([self(item) for item in tree[2]], dtype=tree[1])
        if tag == "cat":
            codes = self(tree[1])
            categories = self._index(tree[2])
            return pd.Categorical.from_codes(codes, categories=categories, ordered=bool(tree[3]))
        raise Malformed(f"the submission sent unknown column values ({tag!r})")

    def _index(self, tree: Any) -> Any:
        import pandas as pd

        expect(type(tree) is list and len(tree) > 0 and type(tree[0]) is str)
        if tree[0] == "range":
            expect(all(type(n) is int for n in tree[1:4]))
            return pd.RangeIndex(tree[1], tree[2], tree[3], name=self(tree[4]))
        expect(tree[0] == "index" and len(tree) == 3)
        return pd.Index(self._values(tree[1]), name=self(tree[2]))

    def _pandas(self, tag: str, rest: list) -> Any:
        import pandas as pd

        if tag == "pindex":
            return self._index(rest[0])
        if tag == "series":
            return pd.Series(self._values(rest[0]), index=self._index(rest[1]), name=self(rest[2]))
        expect(type(rest[0]) is list)
        labels, columns = [], []
        for label, values in (self._pair(column) for column in rest[0]):
            labels.append(self(label))
            columns.append(self._values(values))
        index = self._index(rest[1])
        frame = pd.DataFrame(dict(zip(range(len(labels)), columns, strict=True)), index=index)
        frame.columns = labels
        return frame


def exception_info(error: BaseException, handles: Handles) -> dict[str, Any]:
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


def rebuild_exception(info: Any, decode: Decoder) -> BaseException:
    """The checker's own exception for one the kernel raised, so ``except ValueError`` works."""
    expect(
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
    kind = _loaded(module, qualname)
    if module != "__main__" and isinstance(kind, type) and issubclass(kind, Exception):
        try:
            return kind(message)
        except Exception:
            pass
    return RemoteError(qualname, message)
