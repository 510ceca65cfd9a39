"""The codec between a graded kernel and its checker: what it carries, and what it refuses.

The decoder is the trust boundary of grading (mlops_course.grading.isolation): whatever the
submission's kernel sends, the checker must get nothing but genuine builtin, NumPy and pandas
values, the lab's own dataclasses and handles, never an object of the submission's making.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_course.grading.codec import (
    Decoder,
    Handles,
    Malformed,
    RemoteError,
    encode,
    exception_info,
    rebuild_exception,
)
from mlops_course.grading.isolation import Remote


def _decoder(classes: dict | None = None) -> Decoder:
    """A checker's decoder; its handles are Remotes (with no kernel behind them here)."""
    return Decoder(lambda number, kind: Remote(None, number, kind), classes or {})  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class Served:
    version: int
    note: str


def _round_trip(value, classes=None):
    handles = Handles()
    wire = json.loads(json.dumps(encode(value, handles)))  # exactly what travels
    return _decoder(classes)(wire), handles


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        2.5,
        "text",
        b"\x00bytes",
        [1, "a", None],
        (1, (2, 3)),
        {"a": [1, 2], ("m", "champion"): "3"},
        {1, 2},
        frozenset({"x"}),
        Path("/tmp/x.parquet"),
    ],
)
def test_plain_values_come_back_equal_and_of_the_same_type(value) -> None:
    decoded, handles = _round_trip(value)
    assert decoded == value and type(decoded) is type(value)
    assert handles.objects == {}


def test_numpy_and_pandas_values_come_back_equal() -> None:
    frame = pd.DataFrame(
        {
            "distance_km": [1.5, np.nan, 3.0],
            "zone": ["a", None, "c"],
            "passengers": pd.array([1, None, 2], dtype="Int64"),
            "weather": pd.Categorical(["clear", "rain", "clear"]),
            "when": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
        },
        index=pd.Index([10, 11, 12], name="trip"),
    )
    decoded, _ = _round_trip(frame)
    pd.testing.assert_frame_equal(decoded, frame)
    series = frame["distance_km"].rename("d")
    pd.testing.assert_series_equal(_round_trip(series)[0], series)
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    decoded_array = _round_trip(array)[0]
    assert decoded_array.dtype == array.dtype and (decoded_array == array).all()
    assert type(_round_trip(np.int64(7))[0]) is np.int64


def test_anything_else_stays_in_the_kernel_as_a_handle() -> None:
    class Yes(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = None  # type: ignore[assignment]

    answer = Yes(3)
    decoded, handles = _round_trip([answer, np.array([answer], dtype=object)])
    assert type(decoded[0]) is Remote and decoded[0] != 3
    assert type(decoded[1]) is Remote, "an object array is never rebuilt"
    assert answer in handles.objects.values()


def test_a_dataclass_is_rebuilt_only_as_the_checkers_own_class() -> None:
    value = Served(2, "ok")
    decoded, _ = _round_trip(value, classes={"Served": Served})
    assert decoded == value and type(decoded) is Served
    wire = encode(value, Handles())
    wire[1], wire[2] = "__main__", "Served"
    with pytest.raises(Malformed, match="unknown class"):
        _decoder()(wire)
    wire[3] = [["version", ["v", 2]]]  # a field missing
    with pytest.raises(Malformed, match="other fields"):
        _decoder({"Served": Served})(wire)


@pytest.mark.parametrize(
    "wire",
    [
        ["pickle", "gASVAAAAAAAAAAAu"],
        ["v", {"not": "a scalar"}],
        ["ns", "O", ["v", 1]],
        ["l", "not a list"],
        "not a list",
    ],
    ids=["unknown tag", "dict as scalar", "object scalar", "list of text", "bare string"],
)
def test_the_decoder_refuses_what_it_does_not_know(wire) -> None:
    with pytest.raises((Malformed, TypeError, ValueError)):
        _decoder()(wire)


def test_an_object_array_sent_as_an_array_is_refused() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        _decoder()(["a", base64.b64encode(buffer.getvalue()).decode()])


def test_exceptions_come_back_as_the_checkers_own_types() -> None:
    decode = _decoder()
    for error in [LookupError("model version 7 does not exist"), NotImplementedError()]:
        info = json.loads(json.dumps(exception_info(error, Handles())))
        rebuilt = rebuild_exception(info, decode)
        assert type(rebuilt) is type(error) and str(rebuilt) == str(error)

    class Custom(Exception):
        pass

    info = json.loads(json.dumps(exception_info(Custom("made up"), Handles())))
    rebuilt = rebuild_exception(info, decode)
    assert type(rebuilt) is RemoteError and "made up" in str(rebuilt)
