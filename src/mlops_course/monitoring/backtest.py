"""Replay the simulator's days through every monitor, and grade them against the known truth.

A monitor that has never been tested against a known incident is a hope, not a monitor. The
simulator knows on which day each scenario starts, so the course can measure what matters:
the first day each monitor raises an alarm, and how many alarms it raises when nothing happened.

The replay is what a production setup does day by day: a model is trained on the first weeks
(its last week held out for the baseline error), its training reference is sampled as
:func:`mlops_course.train.train` logs it, and each later day's batch is served, checked for drift
and data quality, and scored once its labels arrive.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pandas as pd
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from mlops_course.data.simulate import get_scenario, simulate_day, simulate_days
from mlops_course.monitoring.performance import (
    ERROR_WINDOW_DAYS,
    LABEL_DELAY_DAYS,
    label_arrivals,
    performance_over_time,
)
from mlops_course.monitoring.quality import check_quality
from mlops_course.monitoring.reference import build_reference, with_predictions
from mlops_course.monitoring.trips import detect_trip_drift
from mlops_course.settings import get_settings

if TYPE_CHECKING:
    from mlops_course.train import TrainResult

Monitor = Literal["drift", "quality", "performance"]
HOLDOUT_DAYS = 7


@dataclass
class Backtest:
    """Every monitor's daily results over the replayed days, as tidy frames.

    ``alarms`` has one row per day and one boolean column per monitor. The performance monitor's
    alarm of day ``d`` is raised on day ``d`` itself, when the labels of earlier days arrive.
    """

    scenario: str
    start_day: int
    model: Pipeline
    reference: pd.DataFrame
    drift: pd.DataFrame
    datasets: pd.DataFrame
    quality: pd.DataFrame
    performance: pd.DataFrame

    @property
    def alarms(self) -> pd.DataFrame:
        quality = self.quality.groupby("day")["problem"].any().rename("quality")
        drift = self.datasets.set_index("day")["drifted"].rename("drift")
        performance = self.performance.set_index("as_of_day")["degraded"].rename("performance")
        frame = pd.concat([drift, quality, performance], axis=1).fillna(False).astype(bool)
        return frame.rename_axis("day").reset_index()

    def first_alarm(self, monitor: Monitor) -> int | None:
        """The first day ``monitor`` raised an alarm, or None when it never did."""
        days = self.alarms.loc[self.alarms[monitor], "day"]
        return int(days.min()) if len(days) else None

    def alarm_days(self, monitor: Monitor) -> list[int]:
        return [int(d) for d in self.alarms.loc[self.alarms[monitor], "day"]]


def backtest(
    scenario: str,
    *,
    reference_days: range = range(28),
    days: range = range(28, 60),
    seed: int | None = None,
    n: int | None = None,
    start_day: int | None = None,
    label_delay_days: int = LABEL_DELAY_DAYS,
    window_days: int = ERROR_WINDOW_DAYS,
    progress: bool = False,
) -> Backtest:
    """Train on ``reference_days``, then monitor each of ``days`` of ``scenario``.

    Parameters
    ----------
    scenario
        The simulator's scenario (:data:`~mlops_course.data.simulate.SCENARIOS`) of every day.
    reference_days
        The days the model is trained on and its drift reference is sampled from. The last week
        of ``reference_days`` is held out of training to measure the baseline MAE the
        performance monitor compares with (an in-sample error would be too optimistic), so it
        must hold more than :data:`HOLDOUT_DAYS` days.
    days
        The days replayed through the monitors, one batch each, in order.
    seed, n, start_day
        The simulator's seed, trips per day and the scenario's start day, as for
        :func:`~mlops_course.data.simulate.simulate_day`; None means the course settings'
        value. ``seed`` also seeds the reference's sample.
    label_delay_days
        How many days after its trip a label reaches the performance monitor.
    window_days
        How many of the latest labelled days the performance monitor scores the model on.
    progress
        Show a progress bar over ``days``.

    Returns
    -------
    Backtest
        Every monitor's daily results, with the model and its reference.
    """
    settings = get_settings()
    seed = settings.seed if seed is None else seed
    n = settings.trips_per_day if n is None else n
    start_day = settings.drift_start_day if start_day is None else start_day
    result, reference = _reference_for(scenario, seed, n, start_day, reference_days)
    one_day = functools.partial(
        simulate_day, seed=seed, n=n, start_day=start_day, scenario=scenario
    )

    drift, datasets, quality, predictions, labels = [], [], [], [], []
    for day in tqdm(days, desc=f"monitoring {scenario}", disable=not progress):
        batch = one_day(day)
        served = with_predictions(result.model, batch)
        report = detect_trip_drift(reference, served)
        drift.append(report.frame.assign(day=day))
        datasets.append(
            {"day": day, "share_drifted": report.share_drifted, "drifted": report.drifted}
        )
        quality.append(check_quality(batch, reference=reference).assign(day=day))
        predictions.append(batch[["trip_id", "day"]].assign(prediction=served["prediction"]))
        labels.append(label_arrivals(batch, label_delay_days))
    performance = performance_over_time(
        pd.concat(predictions),
        pd.concat(labels),
        as_of_days=days,
        baseline_mae=result.metrics["mae"],
        window_days=window_days,
    )
    return Backtest(
        scenario=scenario,
        start_day=start_day,
        model=result.model,
        reference=reference,
        drift=_day_first(pd.concat(drift, ignore_index=True)),
        datasets=pd.DataFrame(datasets),
        quality=_day_first(pd.concat(quality, ignore_index=True)),
        performance=performance,
    )


def _reference_for(
    scenario: str, seed: int, n: int, start_day: int, reference_days: range
) -> tuple[TrainResult, pd.DataFrame]:
    """The fitted model and a copy of its reference for ``scenario``'s reference days.

    Reference days before the scenario starts are the "none" scenario's, trip for trip: one fit
    then serves every scenario (a notebook or a test that compares four scenarios fits once).
    """
    if len(reference_days) <= HOLDOUT_DAYS:
        raise ValueError(
            f"reference_days needs more than {HOLDOUT_DAYS} days (the last {HOLDOUT_DAYS} are "
            f"held out for the baseline error), got {len(reference_days)}"
        )
    spec = get_scenario(scenario)
    fitted_on = scenario if any(spec.is_active(d, start_day) for d in reference_days) else "none"
    result, reference = _fit_reference(seed, n, start_day, fitted_on, tuple(reference_days))
    return result, reference.copy()  # the cached one stays as it was fitted


@functools.lru_cache(maxsize=4)
def _fit_reference(
    seed: int, n: int, start_day: int, scenario: str, reference_days: tuple[int, ...]
) -> tuple[TrainResult, pd.DataFrame]:
    """The monitored model and its reference; the last days held out for its baseline error."""
    from mlops_course.train import train  # here: importing the monitors must not load training

    world = functools.partial(simulate_days, seed=seed, n=n, start_day=start_day, scenario=scenario)
    fit_days, holdout_days = reference_days[:-HOLDOUT_DAYS], reference_days[-HOLDOUT_DAYS:]
    fit_frame, holdout = world(fit_days), world(holdout_days)
    result = train(fit_frame, holdout, kind="hgb", log_to_mlflow=False)
    return result, build_reference(result.model, pd.concat([fit_frame, holdout]), seed=seed)


def _day_first(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["day", *[c for c in frame.columns if c != "day"]]]
