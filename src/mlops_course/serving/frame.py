"""Validated trips to the model's input frame, fast and with exactly the training dtypes.

:func:`mlops_course.features.to_model_input` defines the frame the model gets. Calling it per
request costs a copy and one ``astype`` per column, more than the rest of the request handling
put together (``benchmarks/serving.py`` measures both), so the service builds the frame
directly, column by column, with the dtypes that ``to_model_input`` produces. Those dtypes are not
written down here: they are read from ``to_model_input`` itself at import time, and a unit test
checks that both paths return identical frames, so the fast path cannot drift from the training
path (no skew).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlops_course.features import to_model_input
from mlops_course.schema import FEATURE_COLUMNS, SCHEMA


def _template_value(column: str) -> Any:
    rule = SCHEMA[column]
    if rule.kind == "int":
        return int(rule.min or 0)
    if rule.kind == "float":
        return float(rule.min or 0.0)
    return "template"


def _training_dtypes() -> dict[str, np.dtype]:
    template = pd.DataFrame([{c: _template_value(c) for c in FEATURE_COLUMNS}])
    return to_model_input(template).dtypes.to_dict()


MODEL_DTYPES: dict[str, np.dtype] = _training_dtypes()
_OBJECT = np.dtype(object)


def to_frame(trips: Sequence[Any]) -> pd.DataFrame:
    """The model input for ``trips`` (objects with one attribute per feature, e.g. ``Trip``).

    Missing passenger counts (``None``) become NaN, as in ``to_model_input``, so the fitted
    imputer fills them exactly as it did in training.
    """
    columns: dict[str, Any] = {}
    for name in FEATURE_COLUMNS:
        values = [getattr(trip, name) for trip in trips]
        dtype = MODEL_DTYPES[name]
        if dtype == _OBJECT:
            # A Series, not an array: pandas 3 would infer its string dtype from an object array.
            columns[name] = pd.Series(values, dtype=object)
        else:
            columns[name] = np.array(values, dtype=dtype)  # None -> NaN for float columns
    return pd.DataFrame(columns, copy=False)
