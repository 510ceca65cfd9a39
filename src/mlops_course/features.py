"""The one feature pipeline, used identically by training and by serving.

Training/serving skew, where the service computes features slightly differently from the training
code, is a classic silent failure. Here the preprocessing is part of the fitted scikit-learn
``Pipeline`` that MLflow stores, so the registry hands the service the exact transformation that
training used, and there is no second implementation to drift apart.

Only scikit-learn's own transformers are used: the model is saved with skops, which loads only
types that are explicitly trusted, and a custom function would have to be added to that list.
"""

from __future__ import annotations

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops_course.schema import CATEGORICAL, CYCLIC, FEATURE_COLUMNS, NUMERIC, TARGET


def build_preprocessor() -> ColumnTransformer:
    """Impute, scale and encode the raw trip columns into model inputs.

    Hour and weekday are one-hot encoded rather than used as numbers: 23h is next to 0h, and rush
    hours are a step, not a slope, so a linear model needs them as categories too. Unknown
    categories (a zone that opened after training) become all zeros instead of crashing the
    service: monitoring, not a 500 error, should report them.
    """
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    return ColumnTransformer(
        [
            ("numeric", numeric, NUMERIC),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                CATEGORICAL,
            ),
            (
                "calendar",
                OneHotEncoder(
                    categories=[list(range(24)), list(range(7))],
                    handle_unknown="ignore",
                    sparse_output=False,
                ),
                CYCLIC,
            ),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )


def split_xy(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Model inputs and target of a batch, with a clear error when columns are missing.

    Parameters
    ----------
    frame
        Labelled trips: the feature columns and the target (a ``KeyError`` lists any missing).

    Returns
    -------
    x, y
        :func:`to_model_input` of ``frame``, and the target as floats.
    """
    missing = [c for c in [*FEATURE_COLUMNS, TARGET] if c not in frame.columns]
    if missing:
        raise KeyError(f"batch lacks the columns {missing}; expected {[*FEATURE_COLUMNS, TARGET]}")
    return to_model_input(frame), frame[TARGET].astype("float64")


def to_model_input(frame: pd.DataFrame) -> pd.DataFrame:
    """Select the feature columns with the dtypes the pipeline (and the model signature) expect.

    Nullable integers become floats so a missing passenger count reaches the imputer as NaN; the
    service calls the same function, so both paths hand the model the same frame.

    Parameters
    ----------
    frame
        Trips holding at least the feature columns (a ``KeyError`` lists any missing); other
        columns, such as identifiers and the target, are left out of the result.
    """
    missing = [c for c in FEATURE_COLUMNS if c not in frame.columns]
    if missing:
        raise KeyError(f"input lacks the feature columns {missing}; expected {FEATURE_COLUMNS}")
    out = frame[FEATURE_COLUMNS].copy()
    for column in NUMERIC:
        out[column] = out[column].astype("float64")
    for column in CYCLIC:
        out[column] = out[column].astype("int64")
    for column in CATEGORICAL:
        out[column] = out[column].astype(object)
    return out
