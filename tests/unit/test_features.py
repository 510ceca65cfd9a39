"""The shared feature pipeline: robust to nulls and new zones, the same for training and serving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_course.data.simulate import NEW_ZONE, simulate_day
from mlops_course.features import build_preprocessor, split_xy, to_model_input
from mlops_course.schema import FEATURE_COLUMNS, TARGET

START = 30


def test_no_nan_output_with_null_passengers() -> None:
    """Missing passenger counts are imputed, so the regressor never sees NaN."""
    train = to_model_input(simulate_day(1, n=300))
    incident = to_model_input(simulate_day(START, scenario="data_quality", n=300))
    assert incident["passengers"].isna().any()
    pre = build_preprocessor().fit(train)
    out = pre.transform(incident)
    assert out.shape[0] == len(incident)
    assert not np.isnan(out).any()
    fitted_on_nulls = build_preprocessor().fit(incident)
    assert not np.isnan(fitted_on_nulls.transform(incident)).any()


def test_unknown_zone_encodes_as_all_zeros() -> None:
    """A zone that opened after training is encoded as no known zone, without an exception."""
    pre = build_preprocessor().fit(to_model_input(simulate_day(1, n=400)))
    shifted = to_model_input(simulate_day(START, scenario="covariate_shift", n=400))
    out = pd.DataFrame(pre.transform(shifted), columns=pre.get_feature_names_out())
    zone_columns = [c for c in out.columns if c.startswith("pickup_zone_")]
    assert len(zone_columns) >= 8
    assert not any(NEW_ZONE in c for c in zone_columns)
    new = (shifted["pickup_zone"] == NEW_ZONE).to_numpy()
    assert new.any()
    assert (out.loc[new, zone_columns] == 0).all().all()
    assert (out.loc[~new, zone_columns].sum(axis=1) == 1).all()


def test_calendar_encoding_covers_every_hour_and_weekday() -> None:
    """Hours and weekdays have fixed categories, so a training window without Sundays still
    encodes a Sunday instead of treating it as unknown."""
    monday_only = to_model_input(simulate_day(0, n=200))
    pre = build_preprocessor().fit(monday_only)
    names = list(pre.get_feature_names_out())
    assert sum(n.startswith("pickup_hour_") for n in names) == 24
    assert sum(n.startswith("weekday_") for n in names) == 7
    sunday = pd.DataFrame(pre.transform(to_model_input(simulate_day(6, n=50))), columns=names)
    assert (sunday["weekday_6"] == 1).all()


def test_parquet_round_trip_gives_same_model_input(tmp_path: Path) -> None:
    """The same rows give the same model input whether fresh or read back from parquet.

    Serving and retraining read stored batches, training in a notebook uses fresh ones: any
    dtype difference here is training/serving skew.
    """
    for scenario in ("none", "data_quality"):
        frame = simulate_day(START, scenario=scenario, n=200)
        path = tmp_path / f"{scenario}.parquet"
        frame.to_parquet(path, index=False)
        fresh = to_model_input(frame)
        stored = to_model_input(pd.read_parquet(path))
        pd.testing.assert_frame_equal(fresh, stored)
        assert list(fresh.columns) == FEATURE_COLUMNS
        pre = build_preprocessor().fit(fresh)
        np.testing.assert_array_equal(pre.transform(fresh), pre.transform(stored))


def test_to_model_input_dtypes() -> None:
    """Nullable passengers become float NaN, categories plain objects, calendar columns int64."""
    frame = to_model_input(simulate_day(START, scenario="data_quality", n=100))
    assert frame["passengers"].dtype == "float64"
    assert frame["passengers"].isna().any()
    assert frame["pickup_zone"].dtype == object
    assert frame["weather"].dtype == object
    assert frame["pickup_hour"].dtype == "int64"


def test_split_xy_returns_features_and_float_target() -> None:
    """split_xy gives exactly the feature columns and the target as float, row for row."""
    batch = simulate_day(2, n=50)
    x, y = split_xy(batch)
    assert list(x.columns) == FEATURE_COLUMNS
    assert TARGET not in x.columns
    assert y.dtype == "float64"
    np.testing.assert_array_equal(y.to_numpy(), batch[TARGET].to_numpy())


def test_split_xy_names_missing_columns() -> None:
    """A batch without some columns raises KeyError naming each missing one."""
    batch = simulate_day(2, n=10).drop(columns=["weather", TARGET])
    with pytest.raises(KeyError, match="weather") as info:
        split_xy(batch)
    assert TARGET in str(info.value)
    with pytest.raises(KeyError, match="distance_km"):
        to_model_input(batch.drop(columns=["distance_km"]))


def test_training_and_serving_paths_give_identical_features(tmp_path: Path) -> None:
    """The skew guard: rows stored for training and the same rows sent as JSON to a service
    become the very same feature matrix.

    Training reads parquet; a service receives JSON, where integers may arrive as floats and
    missing values as null. If the two paths disagreed, the model would be served inputs it was
    never trained on, with no error anywhere.
    """
    import json

    import numpy as np

    from mlops_course.data.simulate import simulate_day
    from mlops_course.features import build_preprocessor, split_xy, to_model_input
    from mlops_course.schema import FEATURE_COLUMNS

    batch = simulate_day(30, scenario="data_quality", n=300)  # includes missing passengers
    path = tmp_path / "batch.parquet"
    batch.to_parquet(path, index=False)
    x_train, _ = split_xy(pd.read_parquet(path))
    preprocessor = build_preprocessor().fit(x_train)

    features = batch[FEATURE_COLUMNS].astype(object)
    records = features.where(features.notna(), None).to_dict(orient="records")
    payload = json.loads(json.dumps(records))
    for record in payload:
        record["pickup_hour"] = float(record["pickup_hour"])  # a client sending 7.0 for 7
    x_serving = to_model_input(pd.DataFrame.from_records(payload))

    np.testing.assert_array_equal(
        preprocessor.transform(x_train), preprocessor.transform(x_serving)
    )
