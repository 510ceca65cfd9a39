"""Metrics and plots that say whether a model is good enough, and better than doing nothing.

A metric alone means little: an MAE of 3 minutes is good only if predicting the median trip
duration is much worse. Every evaluation therefore reports the naive baseline next to the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"need the same non-zero number of labels and predictions, got {y_true.size} "
            f"labels and {y_pred.size} predictions"
        )
    return y_true, y_pred


def mae(y_true, y_pred) -> float:
    """Mean absolute error in minutes, unrounded.

    The one definition that training, the gate, the model checks, the monitors and the
    continuous-training loop use, so "MAE" means the same number everywhere.

    Parameters
    ----------
    y_true, y_pred : array-like
        Actual and predicted durations, of the same length.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_pred - y_true)))


def relative_error(y_true, y_pred) -> float:
    """MAE divided by the mean actual duration (a.k.a. WAPE): the error as a share of a trip.

    Comparable across days whose trips are longer or shorter (a drift makes them so), which a
    plain MAE is not.

    Parameters
    ----------
    y_true, y_pred : array-like
        Actual and predicted durations, of the same length.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.abs(y_pred - y_true).sum() / y_true.sum())


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MAE, RMSE and R² of predictions, rounded to what is worth reading (0.001 minutes).

    Parameters
    ----------
    y_true, y_pred : array-like
        Actual and predicted durations, of the same non-zero length.

    Returns
    -------
    dict
        The three metrics, keyed ``mae``, ``rmse`` and ``r2``.
    """
    from sklearn.metrics import mean_squared_error, r2_score  # on use: monitors import this

    y_true, y_pred = _pair(y_true, y_pred)
    return {
        "mae": round(mae(y_true, y_pred), 3),
        "rmse": round(float(np.sqrt(mean_squared_error(y_true, y_pred))), 3),
        "r2": round(float(r2_score(y_true, y_pred)), 3),
    }


def baseline_metrics(y_train, y_eval) -> dict[str, float]:
    """Metrics of the do-nothing model that always predicts the training median."""
    median = float(np.median(np.asarray(y_train, dtype=float)))
    return regression_metrics(y_eval, np.full(len(y_eval), median))


def plot_predictions(y_true, y_pred, title: str = "Predicted vs actual trip duration") -> Figure:
    """Predicted against actual durations, and the distribution of errors, side by side.

    Parameters
    ----------
    y_true, y_pred : array-like
        Actual and predicted durations, of the same length.
    title : str
        The title of the left panel (predicted against actual).
    """
    import matplotlib.pyplot as plt  # imported on use: it is slow to import in pipeline steps

    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    # Fixed margins rather than tight_layout(), which measures every label's text to place them:
    # it took more than half of the figure's time, and every training run logs this figure.
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    fig.subplots_adjust(left=0.07, right=0.985, bottom=0.13, top=0.92, wspace=0.22)
    left.scatter(y_true, y_pred, s=6, alpha=0.4)
    top = float(max(y_true.max(), y_pred.max()))
    left.plot([0, top], [0, top], color="black", linewidth=1, label="perfect")
    left.set(xlabel="actual duration (min)", ylabel="predicted duration (min)", title=title)
    left.legend(loc="upper left")
    right.hist(y_pred - y_true, bins=50, color="tab:orange")
    right.set(xlabel="error: predicted - actual (min)", ylabel="trips", title="Errors")
    return fig
