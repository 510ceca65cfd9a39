"""The monitors against the simulator's ground truth: 60 days of every scenario.

Days 0-27 are the reference (a model trained on days 0-20, its baseline error measured on days
21-27); days 28-59 are served one daily batch of ``settings.trips_per_day`` trips at a time. Each
drift scenario starts on ``settings.drift_start_day`` (30). A monitor passes when it raises its
first alarm within one day of the start, and the ``none`` scenario raises no alarm at all.
"""

from __future__ import annotations

import pytest

from mlops_course.data.simulate import SCENARIOS
from mlops_course.monitoring.backtest import Backtest, backtest
from mlops_course.settings import get_settings

START = 30


@pytest.fixture(scope="module")
def runs() -> dict[str, Backtest]:
    assert get_settings().drift_start_day == START and get_settings().trips_per_day == 1_000
    return {
        name: backtest(name, reference_days=range(28), days=range(28, 60)) for name in SCENARIOS
    }


def _within_a_day(day: int | None) -> bool:
    return day is not None and abs(day - START) <= 1


def test_no_false_alarm_in_32_days_without_drift(runs: dict[str, Backtest]) -> None:
    none = runs["none"]
    for monitor in ("drift", "quality", "performance"):
        assert none.alarm_days(monitor) == [], f"{monitor} raised false alarms"
    assert not none.drift["drifted"].any(), none.drift[none.drift["drifted"]]


def test_covariate_shift_is_flagged_on_its_first_day_with_the_right_columns(
    runs: dict[str, Backtest],
) -> None:
    run = runs["covariate_shift"]
    assert run.first_alarm("drift") == START
    assert run.alarm_days("drift") == list(range(START, 60)), "a permanent shift stays flagged"
    drifted = run.drift[run.drift["drifted"]]
    assert set(drifted["feature"]) == {"pickup_zone", "distance_km", "prediction"}
    assert run.first_alarm("quality") is None, "a new district is not broken data"


def test_concept_drift_is_invisible_to_inputs_and_caught_by_delayed_labels(
    runs: dict[str, Backtest],
) -> None:
    """Only the durations change: no input drifts, the error does, once day 30's labels arrive."""
    run = runs["concept_drift"]
    assert run.first_alarm("drift") is None
    assert _within_a_day(run.first_alarm("performance")), run.performance
    assert run.first_alarm("performance") == START + 1  # labels arrive one day later


def test_data_quality_incident_is_caught_by_the_quality_monitor(
    runs: dict[str, Backtest],
) -> None:
    """Three days of metres and missing passengers: flagged on exactly those days."""
    run = runs["data_quality"]
    incident = [START, START + 1, START + 2]
    assert run.alarm_days("quality") == incident
    quality = run.quality[run.quality["day"].isin(incident)].set_index(["day", "feature"])
    assert quality.xs("passengers", level="feature")["null_share"].min() > 0.1
    assert quality.xs("distance_km", level="feature")["out_of_range_share"].min() > 0.9
    assert run.alarm_days("drift") == incident
