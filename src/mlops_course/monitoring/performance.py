"""Is the model still right? Error over a sliding window, once the true durations arrive.

Some changes are invisible in the inputs: when congestion makes the same trip slower (concept
drift), the trips look exactly as before and so do the predictions; only the error grows. The
truth arrives late (a trip's duration is known when it ends, and reaches the warehouse in a
nightly export), so the monitor joins served predictions with labels as they arrive and scores
the most recent ``window_days`` days that have labels.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from mlops_course.evaluate import mae
from mlops_course.schema import TARGET

ERROR_WINDOW_DAYS = 3
LABEL_DELAY_DAYS = 1
ERROR_TOLERANCE = 0.25
COLUMNS = [
    "as_of_day",
    "first_day",
    "last_day",
    "n_labelled",
    "mae",
    "rmse",
    "baseline_mae",
    "mae_limit",
    "degraded",
]


def label_arrivals(frame: pd.DataFrame, delay_days: int = LABEL_DELAY_DAYS) -> pd.DataFrame:
    """The labels of a batch of trips as they reach monitoring: ``delay_days`` after the trip.

    Returns ``trip_id``, the target and ``label_day``; a simulated stand-in for the nightly export.
    """
    if delay_days < 0:
        raise ValueError(f"labels cannot arrive before the trip: delay_days={delay_days}")
    labels = frame[["trip_id", "day", TARGET]].copy()
    labels["label_day"] = labels.pop("day") + delay_days
    return labels


def performance_over_time(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    as_of_days: Iterable[int],
    baseline_mae: float,
    window_days: int = ERROR_WINDOW_DAYS,
    tolerance: float = ERROR_TOLERANCE,
) -> pd.DataFrame:
    """MAE and RMSE as the monitor sees them on each of ``as_of_days``.

    ``predictions`` holds ``trip_id``, ``day`` and ``prediction`` (what the service answered),
    ``labels`` holds ``trip_id``, the target and ``label_day`` (when the truth arrived). On day
    ``d`` only labels with ``label_day <= d`` are known; the window is the last ``window_days``
    days of predictions that have labels. The model is ``degraded`` when the window's MAE exceeds
    ``baseline_mae`` (the MAE measured on held-out data at training time) by more than
    ``tolerance``: 25% by default, well above the day-to-day wobble of a few percent, and far
    below what a real change costs (congestion raises the error several-fold).

    Three days by default: long enough that one odd day does not page anyone, short enough that
    a change dominates the window from its first labelled day.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    missing = {"trip_id", "day", "prediction"} - set(predictions.columns)
    missing |= {"trip_id", TARGET, "label_day"} - set(labels.columns)
    if missing:
        raise KeyError(
            f"missing columns {sorted(missing)}: predictions need trip_id, day, prediction and "
            f"labels need trip_id, {TARGET}, label_day (see label_arrivals)"
        )
    joined = predictions[["trip_id", "day", "prediction"]].merge(
        labels[["trip_id", TARGET, "label_day"]], on="trip_id", how="inner"
    )
    limit = baseline_mae * (1 + tolerance)
    rows = []
    for as_of in as_of_days:
        known = joined[joined["label_day"] <= as_of]
        row: dict[str, float | int | bool | None] = {
            "as_of_day": as_of,
            "baseline_mae": baseline_mae,
            "mae_limit": limit,
        }
        if known.empty:
            rows.append({**row, "n_labelled": 0, "degraded": False})
            continue
        last = int(known["day"].max())
        window = known[known["day"] > last - window_days]
        error = window["prediction"].to_numpy(float) - window[TARGET].to_numpy(float)
        window_mae = mae(window[TARGET], window["prediction"])
        rows.append(
            {
                **row,
                "first_day": int(window["day"].min()),
                "last_day": last,
                "n_labelled": len(window),
                "mae": window_mae,
                "rmse": float(np.sqrt(np.mean(error**2))),
                "degraded": window_mae > limit,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS).astype({"first_day": "Int64", "last_day": "Int64"})
