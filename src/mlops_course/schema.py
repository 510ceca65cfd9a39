"""The data contract: the columns of a trip, what each may hold, what the model reads and writes.

Data, model and API meet here. The simulator produces these columns, the validator checks a batch
against :data:`SCHEMA`, the feature pipeline encodes each column by its kind, the API accepts
exactly :data:`FEATURE_COLUMNS` within the same ranges, and the monitors watch them and
:data:`PREDICTION`. Adding an input column is one entry in :data:`SCHEMA` and one in a kind list
below, plus teaching the simulator to produce it; nothing else repeats a column name.

Ranges are *physical plausibility*, not the training distribution: a 40 km trip is rare but real,
a 40,000 km trip is a unit error. Distribution shift is monitoring's job (stage 4).

This module imports nothing heavy (no pandas, no scikit-learn), because every layer imports it,
the command line included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["int", "float", "category", "datetime", "string"]

ZONES: tuple[str, ...] = (
    "downtown",
    "midtown",
    "university",
    "old_town",
    "harbor",
    "suburbs_north",
    "suburbs_south",
    "airport",
)
"""The pickup zones the city had when the course's data starts (a new one is news, not an error)."""

WEATHER: tuple[str, ...] = ("clear", "rain", "snow")


@dataclass(frozen=True)
class ColumnRule:
    """What one column must look like.

    Unknown categories (a value outside ``allowed``) are warnings when a batch is validated,
    because a new zone can be real news rather than bad data.
    """

    kind: Kind
    min: float | None = None
    max: float | None = None
    allowed: frozenset[str] | None = None
    max_null_rate: float = 0.0
    unique: bool = False


SCHEMA: dict[str, ColumnRule] = {
    "trip_id": ColumnRule("string", unique=True),
    "day": ColumnRule("int", min=0),
    "pickup_datetime": ColumnRule("datetime"),
    "pickup_zone": ColumnRule("category", allowed=frozenset(ZONES)),
    "pickup_hour": ColumnRule("int", min=0, max=23),
    "weekday": ColumnRule("int", min=0, max=6),
    "distance_km": ColumnRule("float", min=0.1, max=200.0),
    "passengers": ColumnRule("int", min=1, max=8, max_null_rate=0.01),
    "temperature_c": ColumnRule("float", min=-40.0, max=50.0),
    "precipitation_mm": ColumnRule("float", min=0.0, max=200.0),
    "weather": ColumnRule("category", allowed=frozenset(WEATHER)),
    "duration_min": ColumnRule("float", min=0.5, max=600.0),
}
"""Every column of a batch of trips, in the order the simulator writes them."""

IDENTIFIERS = ["trip_id", "day", "pickup_datetime"]
"""Columns that say which trip and when; never model inputs (they would leak or not generalise)."""

TARGET = "duration_min"
"""What the model predicts: the trip's duration in minutes, known only when the trip ends."""

NUMERIC = ["distance_km", "passengers", "temperature_c", "precipitation_mm"]
"""Measured and counted inputs: imputed (a passenger count can be missing) and scaled."""

CATEGORICAL = ["pickup_zone", "weather"]
"""Named inputs: one-hot encoded; a value never seen in training becomes all zeros."""

CYCLIC = ["pickup_hour", "weekday"]
"""Calendar inputs: one-hot encoded too, because 23h is next to 0h and rush hours are a step."""

FEATURE_COLUMNS = [
    "pickup_zone",
    "pickup_hour",
    "weekday",
    "distance_km",
    "passengers",
    "temperature_c",
    "precipitation_mm",
    "weather",
]
"""The model's inputs, in the order of a request to the API."""

COLUMNS = [*IDENTIFIERS, *FEATURE_COLUMNS, TARGET]

PREDICTION = "prediction"
"""The column that holds the model's output in monitored and logged frames."""

EXAMPLE_TRIP: dict[str, Any] = {
    "pickup_zone": "downtown",
    "pickup_hour": 8,
    "weekday": 2,
    "distance_km": 3.4,
    "passengers": 1,
    "temperature_c": 12.5,
    "precipitation_mm": 0.0,
    "weather": "clear",
}
"""One valid request: the API's documented example, and the warm-up trip of a loaded model."""
