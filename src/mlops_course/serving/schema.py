"""What the model API accepts and returns, derived from the feature spec and the validation schema.

The service must accept exactly what the model was trained on and refuse everything else with a
message a client can act on. The ranges therefore come from
:data:`mlops_course.schema.SCHEMA` (the rules that training data passes), not from numbers
repeated here, so a trip the validator would reject cannot be served, and a change to a range
changes both at once. The fields follow
:data:`mlops_course.schema.FEATURE_COLUMNS`; a unit test fails when the two drift apart.

Choices a client can rely on:

* Unknown fields are refused (``extra="forbid"``): a misspelt ``pasengers`` would otherwise be
  dropped silently and the model would impute the value.
* NaN and infinity are refused: they are not JSON, and the model would turn them into nonsense.
* Counts (hour, weekday, passengers) are whole numbers. ``7`` and ``7.0`` are both accepted,
  because many JSON producers (JavaScript, pandas with a nullable integer column) write every
  number as a float; ``7.5``, ``"7"`` and ``true`` are refused rather than silently converted.
* Measurements (distance, temperature, precipitation) are numbers; strings are refused.
* Zones and weather are free text (1 to 64 printable characters): an unknown value is served,
  because the model encodes it as all zeros, and the response carries a warning saying so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
)
from pydantic_core import PydanticCustomError

from mlops_course.schema import EXAMPLE_TRIP, SCHEMA

MAX_BATCH = 1_000
"""Most trips in one ``POST /predict/batch`` (``MLOPS_MAX_BATCH`` can lower or raise it).

A bound keeps one request from holding the worker for seconds and from using unbounded memory;
a client with more trips sends several batches.
"""
MAX_TEXT_LENGTH = 64

_JSON_TYPE = {
    "str": "a string",
    "bool": "a boolean",
    "NoneType": "null",
    "dict": "an object",
    "list": "an array",
    "float": "a number",
    "int": "an integer",
}


def _json_type(value: object) -> str:
    return _JSON_TYPE.get(type(value).__name__, type(value).__name__)


def _whole_number(value: object) -> object:
    """Accept 7 and 7.0; refuse 7.5, NaN, "7" and true instead of converting them."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError(
            "int_type",
            "Input should be a whole number such as 7, got {kind}",
            {"kind": _json_type(value)},
        )
    if isinstance(value, float):
        if not value.is_integer():  # also false for NaN and infinity
            raise PydanticCustomError(
                "int_from_float",
                "Input should be a whole number such as 7, got {value}",
                {"value": str(value)},
            )
        return int(value)
    return value


def _printable(value: str) -> str:
    """Refuse control characters and broken Unicode: they end up in logs, metrics and warnings."""
    if not value.isprintable():
        raise PydanticCustomError(
            "text_printable", "Input should contain printable characters only (no control codes)"
        )
    return value


def _bounds(column: str) -> dict[str, Any]:
    """The ``ge``/``le`` constraints of ``column`` in the validation schema."""
    rule = SCHEMA[column]
    bounds: dict[str, float] = {}
    if rule.min is not None:
        bounds["ge"] = rule.min
    if rule.max is not None:
        bounds["le"] = rule.max
    return bounds


def _range_text(column: str) -> str:
    rule = SCHEMA[column]
    return f"[{rule.min:g}, {rule.max:g}]"


def _count(column: str) -> Any:
    # Constraints before the validator, or pydantic writes invalid JSON Schema (ge instead of
    # minimum) for the optional passengers field.
    return Annotated[int, Field(**_bounds(column)), BeforeValidator(_whole_number)]


def _measure(column: str) -> Any:
    return Annotated[float, Field(strict=True, **_bounds(column))]


# One type per feature, each with the range of its validation rule. Built at import from the
# schema, which a type checker cannot follow: to it they are the plain int and float they hold.
if TYPE_CHECKING:
    PickupHour: TypeAlias = int
    Weekday: TypeAlias = int
    Passengers: TypeAlias = int
    DistanceKm: TypeAlias = float
    TemperatureC: TypeAlias = float
    PrecipitationMm: TypeAlias = float
else:
    PickupHour = _count("pickup_hour")
    Weekday = _count("weekday")
    Passengers = _count("passengers")
    DistanceKm = _measure("distance_km")
    TemperatureC = _measure("temperature_c")
    PrecipitationMm = _measure("precipitation_mm")
Category = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=MAX_TEXT_LENGTH),
    AfterValidator(_printable),
]

_EXAMPLE_UNKNOWN_ZONE = {
    **EXAMPLE_TRIP,
    "pickup_zone": "riverside",
    "passengers": None,
    "weather": "rain",
    "precipitation_mm": 2.5,
}


def _known(column: str) -> str:
    allowed = SCHEMA[column].allowed or frozenset()
    return ", ".join(sorted(allowed))


class Trip(BaseModel):
    """One trip to predict the duration of: the model's feature columns, nothing else."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [EXAMPLE_TRIP, _EXAMPLE_UNKNOWN_ZONE]},
    )

    pickup_zone: Category = Field(
        description=f"Pickup district. Known: {_known('pickup_zone')}. An unknown zone is served "
        "with a warning (the model encodes it as all zeros).",
        examples=["downtown"],
    )
    pickup_hour: PickupHour = Field(
        description=f"Hour of the pickup, {_range_text('pickup_hour')}.", examples=[8]
    )
    weekday: Weekday = Field(
        description=f"Day of the week, Monday = 0, {_range_text('weekday')}.", examples=[2]
    )
    distance_km: DistanceKm = Field(
        description=f"Trip distance in km, {_range_text('distance_km')}.", examples=[3.4]
    )
    passengers: Passengers | None = Field(
        None,
        description=f"Passengers, {_range_text('passengers')}; null or missing when unknown "
        "(the model imputes it).",
        examples=[1],
    )
    temperature_c: TemperatureC = Field(
        description=f"Air temperature in °C, {_range_text('temperature_c')}.", examples=[12.5]
    )
    precipitation_mm: PrecipitationMm = Field(
        description=f"Precipitation in mm, {_range_text('precipitation_mm')}.", examples=[0.0]
    )
    weather: Category = Field(
        description=f"Weather at pickup. Known: {_known('weather')}. An unknown value is served "
        "with a warning.",
        examples=["clear"],
    )


class TripBatch(BaseModel):
    """Several trips in one request: one model call, so far cheaper per trip than one by one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"trips": [EXAMPLE_TRIP, _EXAMPLE_UNKNOWN_ZONE]}]},
    )

    trips: list[Trip] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH:,} trips; larger batches are refused with HTTP 413.",
    )


def batch_model(max_batch: int) -> type[TripBatch]:
    """The batch request model for a configured maximum, so the OpenAPI docs state the real one."""
    if max_batch == MAX_BATCH:
        return TripBatch
    return create_model(
        "TripBatch",
        __base__=TripBatch,
        trips=(
            list[Trip],
            Field(
                min_length=1,
                max_length=max_batch,
                description=f"1 to {max_batch:,} trips; larger batches are refused with HTTP 413.",
            ),
        ),
    )


class ModelRef(BaseModel):
    """Which registered model version answered: every prediction can be traced to its model."""

    name: str = Field(examples=["trip-duration"])
    version: str = Field(examples=["3"])
    alias: str = Field(examples=["champion"])


class Prediction(BaseModel):
    """The predicted duration of one trip."""

    duration_min: float = Field(description="Predicted duration in minutes (0.01 precision).")
    model: ModelRef
    warnings: list[str] = Field(
        default_factory=list, description="Served, but worth knowing: e.g. an unknown zone."
    )


class BatchPrediction(BaseModel):
    """The predicted durations of a batch, in the order of the request's trips."""

    duration_min: list[float] = Field(description="Minutes per trip (0.01 precision).")
    model: ModelRef
    warnings: list[str] = Field(
        default_factory=list, description="Each warning names its trip, e.g. trips[3]."
    )


class ModelInfo(ModelRef):
    """The served model in full: what ``GET /model`` returns."""

    run_id: str | None = Field(description="The MLflow run that trained it.")
    created_at: str | None = Field(
        None, description="When this version was registered (UTC, ISO 8601)."
    )
    loaded_at: str = Field(description="When this process loaded it (UTC, ISO 8601).")
    signature: dict[str, Any] | None = Field(
        description="The MLflow model signature: input columns and types, output."
    )
    known_categories: dict[str, list[str]] = Field(
        description="Category values the model was trained on; others get a warning."
    )


class Ready(BaseModel):
    status: str = Field(examples=["ready"])
    model: ModelRef


class NotReady(BaseModel):
    status: str = Field(examples=["not ready"])
    reason: str = Field(description="Why no model is served, and what the service is doing.")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: e.g. ['body', 'trips', 3, 'pickup_hour'].")
    msg: str
    type: str


class InvalidRequest(BaseModel):
    """A 422 (or 413): every problem of the request, each at its field."""

    message: str
    detail: list[FieldError]


class ErrorMessage(BaseModel):
    detail: str


class ReloadResult(BaseModel):
    changed: bool = Field(description="Whether a different version is served now.")
    previous: ModelRef | None
    current: ModelRef
