"""The model API's request schema: derived from the feature spec and validation rules, strict.

No server and no MLflow here: these tests pin down what the service accepts, and that every kind
of bad input is refused at its field with a message, before any HTTP test runs.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

from mlops_course.data.simulate import simulate_day
from mlops_course.features import to_model_input
from mlops_course.schema import EXAMPLE_TRIP, FEATURE_COLUMNS, SCHEMA
from mlops_course.serving.frame import MODEL_DTYPES, to_frame
from mlops_course.serving.schema import MAX_BATCH, MAX_TEXT_LENGTH, Trip, TripBatch, batch_model

JSON_TYPE = {"int": "integer", "float": "number", "category": "string"}
RANGED = [c for c in FEATURE_COLUMNS if SCHEMA[c].min is not None or SCHEMA[c].max is not None]


def _errors(body: dict[str, Any], model: type = Trip) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(body)
    return raised.value.errors()


def _field_type(schema: dict[str, Any]) -> str:
    if "type" in schema:
        return schema["type"]
    return next(s["type"] for s in schema["anyOf"] if s["type"] != "null")


def test_fields_are_the_model_features_in_order() -> None:
    """A feature added to training but not to the service (or the reverse) fails here."""
    assert list(Trip.model_fields) == FEATURE_COLUMNS


def test_json_schema_types_and_ranges_come_from_the_validation_schema() -> None:
    """The OpenAPI docs state the same types and ranges that training data is validated with."""
    properties = Trip.model_json_schema()["properties"]
    for column in FEATURE_COLUMNS:
        rule, spec = SCHEMA[column], properties[column]
        assert _field_type(spec) == JSON_TYPE[rule.kind], column
        bounded = spec if "type" in spec else next(s for s in spec["anyOf"] if "type" in s)
        if rule.min is not None:
            assert bounded["minimum"] == rule.min, column
        if rule.max is not None:
            assert bounded["maximum"] == rule.max, column


def test_the_documented_examples_are_valid_requests() -> None:
    for example in Trip.model_json_schema()["examples"]:
        Trip.model_validate(example)
    for example in TripBatch.model_json_schema()["examples"]:
        TripBatch.model_validate(example)


@pytest.mark.parametrize("column", RANGED)
def test_each_range_bound_is_inclusive_and_one_step_beyond_is_refused(column: str) -> None:
    """Parametrized over ``SCHEMA`` itself: a changed range is tested without editing this file."""
    rule = SCHEMA[column]
    step = 1 if rule.kind == "int" else 1e-6
    cast = int if rule.kind == "int" else float
    for bound, beyond, kind in [
        (rule.min, None if rule.min is None else rule.min - step, "greater_than_equal"),
        (rule.max, None if rule.max is None else rule.max + step, "less_than_equal"),
    ]:
        if bound is None:
            continue
        assert getattr(Trip.model_validate({**EXAMPLE_TRIP, column: cast(bound)}), column) == bound
        errors = _errors({**EXAMPLE_TRIP, column: cast(beyond)})
        assert [(e["loc"], e["type"]) for e in errors] == [((column,), kind)]
        assert f"{bound:g}" in errors[0]["msg"]


def test_whole_floats_are_accepted_for_counts_as_documented() -> None:
    """JSON producers often write 7 as 7.0 (a nullable integer column in pandas, JavaScript)."""
    trip = Trip.model_validate({**EXAMPLE_TRIP, "pickup_hour": 7.0, "passengers": 2.0})
    assert (trip.pickup_hour, trip.passengers) == (7, 2)
    assert isinstance(trip.pickup_hour, int) and isinstance(trip.passengers, int)


def test_missing_passengers_may_be_null_or_absent() -> None:
    """The model imputes a missing passenger count, as it did in training."""
    assert Trip.model_validate({**EXAMPLE_TRIP, "passengers": None}).passengers is None
    absent = {k: v for k, v in EXAMPLE_TRIP.items() if k != "passengers"}
    assert Trip.model_validate(absent).passengers is None


def test_unknown_categories_are_accepted() -> None:
    """A new zone is news, not bad data: the service serves it (the response warns)."""
    trip = Trip.model_validate({**EXAMPLE_TRIP, "pickup_zone": "riverside", "weather": "fog"})
    assert (trip.pickup_zone, trip.weather) == ("riverside", "fog")


BAD_INPUTS = [
    ("pasengers", 2, "extra_forbidden"),
    ("pickup_hour", 7.5, "int_from_float"),
    ("pickup_hour", "7", "int_type"),
    ("pickup_hour", True, "int_type"),
    ("pickup_hour", None, "int_type"),
    ("pickup_hour", math.nan, "int_from_float"),
    ("pickup_hour", 10**30, "less_than_equal"),
    ("weekday", [1], "int_type"),
    ("passengers", 2.5, "int_from_float"),
    ("passengers", False, "int_type"),
    ("distance_km", "3.4", "float_type"),
    ("distance_km", True, "float_type"),
    ("distance_km", math.nan, "finite_number"),
    ("distance_km", math.inf, "finite_number"),
    ("temperature_c", -math.inf, "finite_number"),
    ("precipitation_mm", None, "float_type"),
    ("pickup_zone", 5, "string_type"),
    ("pickup_zone", "", "string_too_short"),
    ("pickup_zone", "x" * (MAX_TEXT_LENGTH + 1), "string_too_long"),
    ("pickup_zone", "down\ntown", "text_printable"),
    ("pickup_zone", "\ud800", "string_unicode"),
    ("weather", None, "string_type"),
    ("weather", {"name": "rain"}, "string_type"),
]


@pytest.mark.parametrize(("field", "value", "kind"), BAD_INPUTS, ids=lambda v: repr(v)[:20])
def test_each_kind_of_bad_input_is_refused_at_its_field(field: str, value: Any, kind: str) -> None:
    errors = _errors({**EXAMPLE_TRIP, field: value})
    assert [(e["loc"], e["type"]) for e in errors] == [((field,), kind)]
    assert errors[0]["msg"], "every error needs a message a client can read"


def test_a_missing_field_is_named() -> None:
    body = {k: v for k, v in EXAMPLE_TRIP.items() if k != "distance_km"}
    assert [(e["loc"], e["type"]) for e in _errors(body)] == [(("distance_km",), "missing")]


def test_all_problems_are_reported_at_once() -> None:
    """A client fixes everything in one round trip instead of one error per request."""
    errors = _errors({**EXAMPLE_TRIP, "pickup_hour": 30, "weekday": -1, "extra": 1})
    assert {e["loc"][0] for e in errors} == {"pickup_hour", "weekday", "extra"}


def test_batches_must_hold_one_to_max_batch_trips() -> None:
    assert [e["type"] for e in _errors({"trips": []}, TripBatch)] == ["too_short"]
    too_many = {"trips": [EXAMPLE_TRIP] * (MAX_BATCH + 1)}
    assert [e["type"] for e in _errors(too_many, TripBatch)] == ["too_long"]
    assert len(TripBatch.model_validate({"trips": [EXAMPLE_TRIP] * MAX_BATCH}).trips) == MAX_BATCH
    small = batch_model(3)
    assert small.model_json_schema()["properties"]["trips"]["maxItems"] == 3
    assert [e["type"] for e in _errors({"trips": [EXAMPLE_TRIP] * 4}, small)] == ["too_long"]


def test_a_bad_trip_in_a_batch_is_located_by_index() -> None:
    trips = [EXAMPLE_TRIP] * 5
    trips[3] = {**EXAMPLE_TRIP, "pickup_hour": 25}
    errors = _errors({"trips": trips}, TripBatch)
    assert [e["loc"] for e in errors] == [("trips", 3, "pickup_hour")]
    assert [e["type"] for e in _errors({"trips": [EXAMPLE_TRIP], "x": 1}, TripBatch)] == [
        "extra_forbidden"
    ]


def test_the_fast_input_frame_equals_the_training_path() -> None:
    """No training/serving skew: the service's frame is exactly what ``to_model_input`` returns.

    Real simulated trips (with missing passenger counts from the data-quality incident) and an
    unknown zone go through both paths.
    """
    day = simulate_day(30, scenario="data_quality", n=50)
    records = day[FEATURE_COLUMNS].astype(object).to_dict("records")
    for record in records:
        record["passengers"] = None if pd.isna(record["passengers"]) else int(record["passengers"])
        record["distance_km"] = min(record["distance_km"], 200.0)
    records.append({**EXAMPLE_TRIP, "pickup_zone": "riverside", "passengers": None})
    trips = [Trip.model_validate(r) for r in records]
    expected = to_model_input(pd.DataFrame(records, columns=FEATURE_COLUMNS))
    pd.testing.assert_frame_equal(to_frame(trips), expected)
    assert to_frame(trips[:1]).dtypes.to_dict() == MODEL_DTYPES
    assert to_frame(trips)["passengers"].isna().any(), "the test must cover missing counts"
