"""Data quality and delayed-label performance monitoring on hand-made and simulated batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlops_course.data.simulate import simulate_day
from mlops_course.monitoring.performance import label_arrivals, performance_over_time
from mlops_course.monitoring.quality import COLUMNS, check_quality
from mlops_course.schema import SCHEMA, TARGET


def test_clean_day_has_no_quality_problem() -> None:
    quality = check_quality(simulate_day(3, n=500))
    assert list(quality.columns) == COLUMNS
    assert not quality["problem"].any(), quality
    assert set(quality["feature"]) >= {"distance_km", "passengers", "pickup_zone"}


def test_incident_day_shows_nulls_and_out_of_range_values() -> None:
    """Metres instead of km are out of range; a fifth of passengers are missing."""
    quality = check_quality(simulate_day(30, n=1_000, scenario="data_quality")).set_index("feature")
    assert quality.loc["distance_km", "out_of_range_share"] > 0.9
    assert quality.loc["passengers", "null_share"] == pytest.approx(0.2, abs=0.04)
    assert quality.loc["passengers", "max_null_share"] == SCHEMA["passengers"].max_null_rate
    assert quality.loc[["distance_km", "passengers"], "problem"].all()
    assert not quality.drop(["distance_km", "passengers"])["problem"].any()


def test_new_category_is_reported_but_not_a_problem() -> None:
    """A new district is news for the drift monitor, not broken data."""
    batch = simulate_day(30, n=1_000, scenario="covariate_shift")
    quality = check_quality(batch).set_index("feature")
    assert quality.loc["pickup_zone", "new_categories"] == "riverside"
    assert not quality["problem"].any(), quality
    reference = batch.iloc[:500]  # a reference that already knows riverside
    known = check_quality(batch.iloc[500:], reference=reference).set_index("feature")
    assert known.loc["pickup_zone", "new_categories"] == ""


def test_label_arrivals_shift_the_day_and_refuse_the_future() -> None:
    batch = simulate_day(5, n=10)
    labels = label_arrivals(batch, delay_days=2)
    assert list(labels.columns) == ["trip_id", TARGET, "label_day"]
    assert (labels["label_day"] == 7).all()
    with pytest.raises(ValueError, match="before the trip"):
        label_arrivals(batch, delay_days=-1)


def _served(days: range, slow_from: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions that are off by 1 minute, and by 10 minutes from ``slow_from`` on."""
    rows = []
    for day in days:
        for i in range(10):
            error = 10.0 if day >= slow_from else 1.0
            rows.append(
                {"trip_id": f"{day}-{i}", "day": day, TARGET: 20.0, "prediction": 20 + error}
            )
    frame = pd.DataFrame(rows)
    return frame[["trip_id", "day", "prediction"]], label_arrivals(frame, delay_days=1)


def test_window_sees_only_labels_that_have_arrived() -> None:
    """On day d the labels of day d-1 are the newest; the window holds the last 3 such days."""
    predictions, labels = _served(range(10), slow_from=100)
    perf = performance_over_time(
        predictions, labels, as_of_days=[0, 1, 5], baseline_mae=1.0, window_days=3
    ).set_index("as_of_day")
    assert perf.loc[0, "n_labelled"] == 0 and not perf.loc[0, "degraded"]
    assert np.isnan(perf.loc[0, "mae"])
    assert (perf.loc[1, "first_day"], perf.loc[1, "last_day"]) == (0, 0)
    assert (perf.loc[5, "first_day"], perf.loc[5, "last_day"]) == (2, 4)
    assert perf.loc[5, "n_labelled"] == 30
    assert perf.loc[5, "mae"] == pytest.approx(1.0) and perf.loc[5, "rmse"] == pytest.approx(1.0)


def test_degradation_is_flagged_once_the_labels_of_the_change_arrive() -> None:
    """Errors jump on day 6; the monitor knows on day 7, and the window mixes old and new."""
    predictions, labels = _served(range(12), slow_from=6)
    perf = performance_over_time(
        predictions, labels, as_of_days=range(1, 12), baseline_mae=1.0, window_days=3
    ).set_index("as_of_day")
    assert not perf.loc[:6, "degraded"].any()
    assert perf.loc[7:, "degraded"].all()
    assert perf.loc[7, "mae"] == pytest.approx((1 + 1 + 10) / 3)
    assert perf.loc[7, "rmse"] == pytest.approx(np.sqrt((1 + 1 + 100) / 3))
    assert perf.loc[7, "mae_limit"] == pytest.approx(1.25)


def test_performance_names_missing_columns() -> None:
    predictions, labels = _served(range(2), slow_from=5)
    with pytest.raises(KeyError, match="label_day"):
        performance_over_time(
            predictions, labels.drop(columns="label_day"), as_of_days=[1], baseline_mae=1.0
        )
    with pytest.raises(ValueError, match="window_days"):
        performance_over_time(predictions, labels, as_of_days=[1], baseline_mae=1.0, window_days=0)
