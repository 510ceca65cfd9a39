"""Metrics and plots: correct on hand-computed cases, and the baseline is the median."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from mlops_course.evaluate import (
    baseline_metrics,
    mae,
    plot_predictions,
    regression_metrics,
    relative_error,
)


def test_perfect_predictions() -> None:
    """Predicting the labels exactly gives zero error and R² of one."""
    y = [3.0, 7.5, 12.0, 20.0]
    assert regression_metrics(y, y) == {"mae": 0.0, "rmse": 0.0, "r2": 1.0}


def test_small_example_by_hand() -> None:
    """y=[1,2,3], pred=[2,2,2]: errors 1,0,1, so MAE 2/3, RMSE sqrt(2/3), R² 1 - 2/2 = 0."""
    metrics = regression_metrics([1, 2, 3], [2, 2, 2])
    assert metrics["mae"] == pytest.approx(2 / 3, abs=1e-3)
    assert metrics["rmse"] == pytest.approx(math.sqrt(2 / 3), abs=1e-3)
    assert metrics["r2"] == pytest.approx(0.0, abs=1e-3)


def test_rmse_weighs_large_errors_more() -> None:
    """One error of 4 among four rows: MAE 1, RMSE 2, which is why both are reported."""
    metrics = regression_metrics([0, 0, 0, 0], [4, 0, 0, 0])
    assert metrics["mae"] == pytest.approx(1.0)
    assert metrics["rmse"] == pytest.approx(2.0)


@pytest.mark.parametrize(("y_true", "y_pred"), [([1, 2, 3], [1, 2]), ([1], [1, 2]), ([], [])])
def test_mismatched_or_empty_inputs_raise(y_true: list[int], y_pred: list[int]) -> None:
    """Misaligned labels and predictions are a bug upstream; a number would hide it."""
    with pytest.raises(ValueError, match="same non-zero number"):
        regression_metrics(y_true, y_pred)


def test_baseline_predicts_the_training_median() -> None:
    """The baseline is the training median (not mean, not the eval set's), predicted for all."""
    y_train = [1.0, 2.0, 3.0, 100.0]  # median 2.5, mean 26.5
    y_eval = np.array([2.0, 4.0, 10.0])
    expected = regression_metrics(y_eval, np.full(3, 2.5))
    assert baseline_metrics(y_train, y_eval) == expected
    assert expected["mae"] == pytest.approx((0.5 + 1.5 + 7.5) / 3, abs=1e-3)


def test_plot_predictions_has_two_axes() -> None:
    """The plot has the scatter against the perfect line and the error histogram."""
    rng = np.random.default_rng(0)
    y = rng.uniform(1, 60, 200)
    fig = plot_predictions(y, y + rng.normal(0, 2, 200), title="check")
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 2
        left, right = fig.axes
        assert left.get_title() == "check"
        assert len(left.collections) == 1
        assert len(right.patches) == 50
    finally:
        plt.close(fig)


def test_mae_and_relative_error_are_the_one_definition() -> None:
    """Known values, and the MAE that regression_metrics rounds is this one."""
    y_true, y_pred = [10.0, 20.0, 30.0], [12.0, 17.0, 30.0]
    assert mae(y_true, y_pred) == pytest.approx(5 / 3)
    assert relative_error(y_true, y_pred) == pytest.approx(5 / 60)
    assert regression_metrics(y_true, y_pred)["mae"] == round(5 / 3, 3)
    with pytest.raises(ValueError, match="same non-zero number"):
        mae([1.0], [1.0, 2.0])


def test_no_module_computes_an_mae_of_its_own() -> None:
    """A second formula drifts from the first (rounding, sign, weights): one home, evaluate.mae."""
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src" / "mlops_course"
    formula = re.compile(r"np\.mean\(np\.abs\(|\.abs\(\)\.mean\(\)|mean_absolute_error")
    offenders = [
        str(path.relative_to(src))
        for path in sorted(src.rglob("*.py"))
        if path.name != "evaluate.py" and formula.search(path.read_text())
    ]
    assert not offenders, offenders
