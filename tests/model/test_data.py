"""Data tests: schema and ranges, and leakage between training and evaluation data.

Each test runs on the data the pipeline would use, and on a deliberately broken copy, to show
that the check catches what it claims to.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlops_course.data.leakage import split_leakage, target_leakage
from mlops_course.data.simulate import simulate_day
from mlops_course.data.validate import validate
from mlops_course.dvc_stages import DataParams
from mlops_course.schema import FEATURE_COLUMNS, TARGET


def test_training_data_passes_schema_and_ranges(train_frame: pd.DataFrame) -> None:
    report = validate(train_frame, batch="train")
    assert report.ok, report.summary()


def test_out_of_range_values_fail_validation(train_frame: pd.DataFrame) -> None:
    broken = train_frame.copy()
    broken.loc[0, "distance_km"] = 4_000.0  # metres sent as kilometres
    broken.loc[1, "duration_min"] = -3.0  # a trip that ended before it began
    report = validate(broken, batch="broken")
    failed = {(r.column, r.check) for r in report.errors}
    assert failed == {("distance_km", "range"), ("duration_min", "range")}, report.summary()


def test_a_missing_column_fails_validation(train_frame: pd.DataFrame) -> None:
    report = validate(train_frame.drop(columns=["weather"]), batch="no weather")
    assert not report.ok
    assert any("weather" in r.detail for r in report.errors), report.summary()


def test_the_pipeline_split_has_no_leakage(
    train_frame: pd.DataFrame, eval_frame: pd.DataFrame
) -> None:
    assert split_leakage(train_frame, eval_frame) == []


def test_shared_trips_between_train_and_eval_are_caught(
    train_frame: pd.DataFrame, eval_frame: pd.DataFrame
) -> None:
    leaky_eval = pd.concat([eval_frame, train_frame.sample(50, random_state=0)])
    problems = split_leakage(train_frame, leaky_eval)
    assert any("50 trip ids are in both sets" in p for p in problems), problems
    assert any("50 evaluation rows are identical" in p for p in problems), problems
    assert any("split by time" in p for p in problems), problems


def test_identical_trips_are_caught_without_ids(
    train_frame: pd.DataFrame, eval_frame: pd.DataFrame
) -> None:
    """The pipeline's feature files carry no trip id: duplicated rows are still found."""
    columns = [*FEATURE_COLUMNS, TARGET, "day"]
    copied = train_frame[columns].tail(7).assign(day=int(eval_frame["day"].min()))
    leaky_eval = pd.concat([eval_frame[columns], copied])
    problems = split_leakage(train_frame[columns], leaky_eval)
    assert problems == [
        "7 evaluation rows are identical to training rows (features and duration): deduplicate "
        "before splitting"
    ]


def test_a_random_split_is_time_travel(train_frame: pd.DataFrame) -> None:
    shuffled = train_frame.sample(frac=1.0, random_state=0)
    problems = split_leakage(shuffled.iloc[:3000], shuffled.iloc[3000:])
    assert len(problems) == 1 and "split by time" in problems[0], problems


def test_no_input_is_derived_from_the_target(train_frame: pd.DataFrame) -> None:
    assert target_leakage(train_frame) == []


def test_an_input_computed_from_the_target_is_caught(train_frame: pd.DataFrame) -> None:
    noise = np.random.default_rng(0).normal(0, 0.5, len(train_frame))
    leaky = train_frame.assign(arrival_offset_min=train_frame[TARGET] + noise)
    problems = target_leakage(leaky)
    assert len(problems) == 1 and problems[0].startswith("arrival_offset_min correlates"), problems


def test_the_pipeline_defaults_simulate_valid_data() -> None:
    """What `dvc repro` ingests by default passes validation (a day of the default scenario)."""
    params = DataParams()
    batch = simulate_day(params.first_day, seed=params.seed, n=200)
    assert validate(batch).ok
