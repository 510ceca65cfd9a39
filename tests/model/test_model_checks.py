"""Model tests: the behavioural checks pass on a sound model and fail on each broken one."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from mlops_course.gate import checks as mc


def test_a_sound_model_passes_every_check(
    good_model: Pipeline, eval_frame: pd.DataFrame, baseline_value: float
) -> None:
    results = mc.run_model_checks(good_model, eval_frame, baseline_value=baseline_value)
    assert [r.name for r in results] == [
        "beats the baseline",
        "invariant to temperature",
        "invariant to the workday",
        "longer distance, longer trip",
        "regression examples",
    ]
    assert all(r.passed for r in results), "\n".join(map(str, results))


def test_a_model_that_learnt_nothing_does_not_beat_the_baseline(
    shuffled_model: Pipeline, eval_frame: pd.DataFrame, baseline_value: float
) -> None:
    result = mc.check_beats_baseline(shuffled_model, eval_frame, baseline_value=baseline_value)
    assert not result.passed
    assert "learnt little beyond the median" in result.message


def test_the_baseline_margin_is_a_real_bar(
    good_model: Pipeline, eval_frame: pd.DataFrame, baseline_value: float
) -> None:
    """The sound model is ~70% better than the baseline: asking for 90% must fail it."""
    assert mc.check_beats_baseline(good_model, eval_frame, 0.5, baseline_value).passed
    assert not mc.check_beats_baseline(good_model, eval_frame, 0.9, baseline_value).passed


def test_a_model_relying_on_temperature_fails_invariance(
    temperature_model: Pipeline, good_model: Pipeline, eval_frame: pd.DataFrame
) -> None:
    broken = mc.check_temperature_invariance(temperature_model, eval_frame)
    assert not broken.passed, broken.message
    assert broken.details["mean_change_min"] > 2.0
    sound = mc.check_temperature_invariance(good_model, eval_frame)
    assert sound.details["mean_change_min"] < mc.INVARIANCE_TOLERANCE_MIN


def test_a_model_using_the_workday_fails_invariance(
    train_frame: pd.DataFrame, eval_frame: pd.DataFrame
) -> None:
    """Trained on data where Thursdays take 5 minutes longer, it must fail the workday check."""
    from mlops_course.features import split_xy
    from mlops_course.train import build_model

    slower = train_frame["duration_min"] + 5.0 * (train_frame["weekday"] == 3)
    x, y = split_xy(train_frame.assign(duration_min=slower))
    model = build_model("ridge").fit(x, y)
    result = mc.check_weekday_invariance(model, eval_frame)
    assert not result.passed and result.details["mean_change_min"] > 4.0, result.message


def test_a_model_that_learnt_distance_backwards_fails_the_directional_check(
    backwards_model: Pipeline, eval_frame: pd.DataFrame
) -> None:
    result = mc.check_distance_direction(backwards_model, eval_frame)
    assert not result.passed
    assert result.details["wrong_direction"] > 10
    assert "worst:" in result.message


def test_the_directional_tolerance_is_stated_and_used(
    good_model: Pipeline, eval_frame: pd.DataFrame
) -> None:
    """With no tolerance at all, a tree model's small dips would count: the tolerance matters."""
    strict = mc.check_distance_direction(good_model, eval_frame, tolerance=-1.0)
    assert not strict.passed  # -1: even a longer prediction counts as "wrong"
    assert mc.check_distance_direction(good_model, eval_frame).passed


def test_regression_examples_catch_a_broken_model(shuffled_model: Pipeline) -> None:
    result = mc.check_regression_examples(shuffled_model)
    assert not result.passed
    assert "expected" in result.message


def test_each_regression_example_is_a_plausible_trip() -> None:
    """The examples are model input the service would accept, with a sensible range."""
    from mlops_course.schema import FEATURE_COLUMNS

    assert mc.REGRESSION_EXAMPLES, "no regression examples: nothing would be checked"
    for example in mc.REGRESSION_EXAMPLES:
        assert set(example["trip"]) == set(FEATURE_COLUMNS), example["case"]
        assert 0 < example["low"] < example["high"], example["case"]


@pytest.mark.parametrize("broken", ["shuffled_model", "backwards_model", "temperature_model"])
def test_every_broken_model_fails_at_least_two_checks(
    broken: str, request: pytest.FixtureRequest, eval_frame: pd.DataFrame
) -> None:
    results = mc.run_model_checks(request.getfixturevalue(broken), eval_frame)
    assert sum(not r.passed for r in results) >= 2, "\n".join(map(str, results))


def test_checks_frame_lists_every_check(good_model: Pipeline, eval_frame: pd.DataFrame) -> None:
    frame = mc.checks_frame(mc.run_model_checks(good_model, eval_frame))
    assert list(frame.columns) == ["check", "passed", "message"] and len(frame) == 5
