"""What the course monitors on the trip-duration model, and the per-column settings it needs.

Generic defaults (:mod:`mlops_course.monitoring.drift`) know nothing about trips. Two pieces of
domain knowledge refine them here, each found by replaying the simulator's ``none`` scenario,
where every alarm is a false one:

- ``weekday`` is not monitored: a daily batch holds one weekday by construction, so against a
  multi-week reference it would "drift" every day. The weekly pattern is the performance
  monitor's business.
- ``weather`` and ``precipitation_mm`` vary from day to day by nature, and a rainy day is not a
  reason to retrain: the model already uses the weather. With the defaults, one unusually wet
  day (day 46) flagged both at once, and so the whole dataset. They are compared by distance with
  a threshold of 0.2, twice the default: only a change in climate, not in weather, counts.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from mlops_course.monitoring.drift import DriftReport, Method, detect_drift
from mlops_course.schema import PREDICTION

MONITORED = [
    "pickup_zone",
    "pickup_hour",
    "distance_km",
    "passengers",
    "temperature_c",
    "precipitation_mm",
    "weather",
    PREDICTION,
]
TRIP_METHODS: dict[str, Method] = {"weather": "jensenshannon", "precipitation_mm": "wasserstein"}
TRIP_THRESHOLDS: dict[str, float] = {"weather": 0.2, "precipitation_mm": 0.2}


def detect_trip_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    thresholds: Mapping[str, float] | None = None,
) -> DriftReport:
    """:func:`detect_drift` on the monitored trip columns with the course's per-column settings.

    Parameters
    ----------
    reference
        The training reference, with its predictions
        (:func:`~mlops_course.monitoring.reference.load_reference`).
    current
        The data to test, with the model's predictions
        (:func:`~mlops_course.monitoring.reference.with_predictions`). Both frames must hold
        every column of :data:`MONITORED`.
    thresholds
        ``thresholds`` override the course's per-column thresholds by name (any monitored
        column, not only those in :data:`TRIP_THRESHOLDS`); None keeps them.
    """
    return detect_drift(
        reference,
        current,
        {**TRIP_THRESHOLDS, **(thresholds or {})},
        features=MONITORED,
        methods=TRIP_METHODS,
    )
