"""Behavioural checks of a trained model: what it must get right, beyond one average metric.

A mean absolute error says how wrong a model is *on average*; it does not say whether the model
learnt the world or a coincidence. A model can have a fine MAE and still predict a shorter trip for
a longer distance, change its mind when only the temperature changes, or drift far off on the
handful of trips everybody knows the answer to. These checks ask such questions directly. Each one
returns a :class:`ModelCheck` with a message a person can act on, so CI (``mlops-course gate``),
the tests in ``tests/model`` and stage 5's retraining loop all run the same checks (which of them
each gate runs is part of its :class:`~mlops_course.gate.policy.GatePolicy`).

What may and may not matter comes from the simulator (:mod:`mlops_course.data.simulate`): a trip's
duration depends on distance, zone, hour (rush hour, night), weather, weekend and, a little, on the
number of passengers; it does **not** depend on the temperature within a kind of weather, nor on
which weekday (Monday to Friday) it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mlops_course.evaluate import mae
from mlops_course.features import to_model_input
from mlops_course.schema import FEATURE_COLUMNS, TARGET

BASELINE_MARGIN = 0.30
"""The model's MAE must be at least 30% below the constant baseline's (a median for every trip).

The pipeline's models reach about 70% below it; a model that is barely better than a constant has
learnt next to nothing, and shipping it would be worse than shipping the constant."""

INVARIANCE_TOLERANCE_MIN = 1.0
"""Largest mean change (minutes) in predictions allowed when only irrelevant inputs change.

Not zero: a tree model splits on any column that helps a little on noisy training data, so a
few degrees can move a prediction. On the course's data a sound model moves by 0.1 to 0.8 minutes
on average; a model that truly uses the temperature moves by about 3."""

DIRECTION_TOLERANCE = 0.10
"""How much shorter, as a share of the original prediction, a trip may be predicted when only its
distance grows.

Gradient-boosted trees are piecewise constant and not monotonic by construction: where training
trips are rare (long trips), a longer distance can land in a leaf with a slightly lower value. On
the course's data the worst such dip of a sound model is about 5% of the trip; a model that learnt
the relation backwards, or learnt nothing, predicts a longer trip shorter by 50% and more.
(``HistGradientBoostingRegressor(monotonic_cst=...)`` would rule the dip out by construction.)"""

DISTANCE_STEP = 1.5
"""The directional check makes every trip this many times longer (and never shorter)."""


Check = Callable[["Regressor", pd.DataFrame], "ModelCheck"]
"""A behavioural check: a model and an evaluation set in, a :class:`ModelCheck` out."""


class Regressor(Protocol):
    """Anything with scikit-learn's ``predict``: a fitted pipeline, an MLflow pyfunc model."""

    def predict(self, x: pd.DataFrame) -> Any: ...


@dataclass(frozen=True)
class ModelCheck:
    """The outcome of one behavioural check: its name, whether it passed, and why."""

    name: str
    passed: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"[{'PASS' if self.passed else 'FAIL'}] {self.name}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Trips whose duration everybody can estimate, with the simulator's noise-free duration ±35%
# (rounded): wide enough for a model trained on a week of data, narrow enough that a broken
# model misses. They are fixed on purpose: a new model that gets one of them badly wrong has broken
# something that used to work, whatever its average error says. Add a case when a bug is found.
REGRESSION_EXAMPLES: tuple[dict[str, Any], ...] = (
    {
        "case": "short downtown trip at noon",
        "trip": {"pickup_zone": "downtown", "pickup_hour": 12, "weekday": 2, "distance_km": 3.0,
                 "passengers": 1, "temperature_c": 18.0, "precipitation_mm": 0.0,
                 "weather": "clear"},
        "low": 6.9, "high": 14.3,
    },
    {
        "case": "the same trip in the morning rush",
        "trip": {"pickup_zone": "downtown", "pickup_hour": 8, "weekday": 1, "distance_km": 3.0,
                 "passengers": 1, "temperature_c": 15.0, "precipitation_mm": 0.0,
                 "weather": "clear"},
        "low": 9.9, "high": 20.5,
    },
    {
        "case": "airport run in the afternoon",
        "trip": {"pickup_zone": "airport", "pickup_hour": 14, "weekday": 3, "distance_km": 18.0,
                 "passengers": 1, "temperature_c": 20.0, "precipitation_mm": 0.0,
                 "weather": "clear"},
        "low": 19.3, "high": 40.1,
    },
    {
        "case": "airport run in the evening rush, in snow",
        "trip": {"pickup_zone": "airport", "pickup_hour": 17, "weekday": 3, "distance_km": 18.0,
                 "passengers": 1, "temperature_c": -2.0, "precipitation_mm": 2.0,
                 "weather": "snow"},
        "low": 40.9, "high": 84.9,
    },
    {
        "case": "suburbs at night on a Saturday",
        "trip": {"pickup_zone": "suburbs_north", "pickup_hour": 2, "weekday": 5,
                 "distance_km": 8.0, "passengers": 2, "temperature_c": 12.0,
                 "precipitation_mm": 0.0, "weather": "clear"},
        "low": 8.5, "high": 17.6,
    },
    {
        "case": "harbor in the rain, three passengers",
        "trip": {"pickup_zone": "harbor", "pickup_hour": 11, "weekday": 4, "distance_km": 6.0,
                 "passengers": 3, "temperature_c": 10.0, "precipitation_mm": 4.0,
                 "weather": "rain"},
        "low": 11.0, "high": 22.8,
    },
)  # fmt: skip


def _predict(model: Regressor, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(to_model_input(frame)), dtype=float)


def check_beats_baseline(
    model: Regressor,
    eval_frame: pd.DataFrame,
    margin: float = BASELINE_MARGIN,
    baseline_value: float | None = None,
) -> ModelCheck:
    """The model's MAE is at least ``margin`` (a share) below that of a constant prediction.

    ``baseline_value`` is the constant, usually the training median; without it, the median of
    the evaluation set itself is used, the best constant there is, so the bar is if anything higher.
    """
    y = eval_frame[TARGET].to_numpy(dtype=float)
    constant = float(np.median(y)) if baseline_value is None else float(baseline_value)
    model_mae = mae(y, _predict(model, eval_frame))
    baseline_mae = mae(y, np.full(len(y), constant))
    bar = (1 - margin) * baseline_mae
    passed = model_mae <= bar
    message = (
        f"MAE {model_mae:.2f} min vs {baseline_mae:.2f} min for always predicting {constant:.1f} "
        f"min: {1 - model_mae / baseline_mae:.0%} better, at least {margin:.0%} required"
    )
    if not passed:
        message += f" (needs MAE <= {bar:.2f}); the model has learnt little beyond the median"
    details = {"mae": round(model_mae, 3), "baseline_mae": round(baseline_mae, 3), "margin": margin}
    return ModelCheck("beats the baseline", passed, message, details)


def _invariance(
    name: str,
    model: Regressor,
    frame: pd.DataFrame,
    changed: pd.DataFrame,
    what: str,
    tolerance: float,
) -> ModelCheck:
    shift = np.abs(_predict(model, changed) - _predict(model, frame))
    mean_shift, worst = float(shift.mean()), float(shift.max())
    passed = mean_shift <= tolerance
    message = (
        f"changing only {what} moved predictions by {mean_shift:.2f} min on average "
        f"(at most {tolerance:g} allowed; largest single change {worst:.2f} min)"
    )
    if not passed:
        message += "; the model relies on an input that does not affect trip durations"
    details = {"mean_change_min": round(mean_shift, 3), "max_change_min": round(worst, 3)}
    return ModelCheck(name, passed, message, details)


def check_temperature_invariance(
    model: Regressor,
    frame: pd.DataFrame,
    delta_c: float = 3.0,
    tolerance: float = INVARIANCE_TOLERANCE_MIN,
) -> ModelCheck:
    """Warmer or colder by ``delta_c`` degrees, same weather: the predicted duration stays put."""
    warmer = frame.assign(temperature_c=frame["temperature_c"] + delta_c)
    return _invariance(
        "invariant to temperature",
        model,
        frame,
        warmer,
        f"the temperature (+{delta_c:g} °C)",
        tolerance,
    )


def check_weekday_invariance(
    model: Regressor, frame: pd.DataFrame, tolerance: float = INVARIANCE_TOLERANCE_MIN
) -> ModelCheck:
    """The same trips on a Tuesday and on a Thursday take as long: workdays are alike.

    Every trip is moved to both days (weekends do differ), so the check works on any evaluation
    set, even one that holds only a weekend.
    """
    tuesday, thursday = frame.assign(weekday=1), frame.assign(weekday=3)
    return _invariance(
        "invariant to the workday",
        model,
        tuesday,
        thursday,
        "the workday (Tuesday to Thursday)",
        tolerance,
    )


def check_distance_direction(
    model: Regressor,
    frame: pd.DataFrame,
    factor: float = DISTANCE_STEP,
    tolerance: float = DIRECTION_TOLERANCE,
) -> ModelCheck:
    """A longer trip, all else equal, is never predicted shorter (beyond ``tolerance``, a share)."""
    longer = frame.assign(distance_km=frame["distance_km"] * factor)
    before = _predict(model, frame)
    gain = _predict(model, longer) - before
    wrong = gain < -tolerance * before
    passed = not wrong.any()
    message = (
        f"{int(wrong.sum())} of {len(frame)} trips were predicted more than {tolerance:.0%} "
        f"shorter when {factor:g}x as long (median change {float(np.median(gain)):+.2f} min)"
    )
    if not passed:
        worst = int(np.argmin(gain))
        message += (
            f"; worst: {frame['distance_km'].iloc[worst]:g} km -> "
            f"{frame['distance_km'].iloc[worst] * factor:g} km changed by {gain[worst]:+.2f} min"
        )
    details = {"wrong_direction": int(wrong.sum()), "median_change_min": float(np.median(gain))}
    return ModelCheck("longer distance, longer trip", passed, message, details)


def check_regression_examples(
    model: Regressor,
    frame: pd.DataFrame | None = None,
    examples: tuple[dict[str, Any], ...] = REGRESSION_EXAMPLES,
) -> ModelCheck:
    """Every fixed example trip is predicted inside its expected range.

    ``frame`` is not used (the examples are fixed trips); it is accepted so that every check has
    the signature ``check(model, frame)`` a :class:`~mlops_course.gate.policy.GatePolicy` lists.
    """
    trips = pd.DataFrame([e["trip"] for e in examples])[FEATURE_COLUMNS]
    predicted = _predict(model, trips)
    misses = [
        f"{e['case']}: {p:.1f} min, expected {e['low']:g}-{e['high']:g}"
        for e, p in zip(examples, predicted, strict=True)
        if not e["low"] <= p <= e["high"]
    ]
    message = (
        f"{len(examples) - len(misses)} of {len(examples)} example trips within their range"
        + ("; " + "; ".join(misses) if misses else "")
    )
    details = {
        "predictions": {
            e["case"]: round(float(p), 2) for e, p in zip(examples, predicted, strict=True)
        }
    }
    return ModelCheck("regression examples", not misses, message, details)


def run_model_checks(
    model: Regressor,
    eval_frame: pd.DataFrame,
    *,
    baseline_margin: float = BASELINE_MARGIN,
    baseline_value: float | None = None,
) -> list[ModelCheck]:
    """All behavioural checks of a model on one evaluation set, in a fixed order.

    This is ``mlops-course gate checks``: the baseline comes first, as a check, because here no
    gate decides on the metrics. :func:`~mlops_course.gate.evaluate_gate` weighs the baseline as
    one of its criteria instead and runs only the checks its policy lists.

    Parameters
    ----------
    model
        Anything with ``predict``: a fitted pipeline, an MLflow pyfunc model.
    eval_frame
        Labelled trips to check the model on.
    baseline_margin
        The share by which the model's MAE must be below the constant baseline's.
    baseline_value
        The constant prediction to beat, usually the training median; without it, the median of
        ``eval_frame`` (the best constant there is).
    """
    return [
        check_beats_baseline(model, eval_frame, baseline_margin, baseline_value),
        check_temperature_invariance(model, eval_frame),
        check_weekday_invariance(model, eval_frame),
        check_distance_direction(model, eval_frame),
        check_regression_examples(model, eval_frame),
    ]


def checks_frame(checks: list[ModelCheck]) -> pd.DataFrame:
    """The checks as a table (check, passed, message), for notebooks and reports.

    Parameters
    ----------
    checks
        The outcomes to tabulate, e.g. of :func:`run_model_checks`, one row each, in order.
    """
    return pd.DataFrame(
        [{"check": c.name, "passed": c.passed, "message": c.message} for c in checks]
    )
