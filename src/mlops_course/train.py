"""Fit the trip-duration model and log everything needed to reproduce and compare it in MLflow.

A run records the parameters, the data it saw, its metrics next to the naive baseline, a plot,
the model itself with its signature and an input example, and a sample of its training data (the
reference that monitoring compares served data with), so any registered version can be traced
back to how it was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from mlops_course.evaluate import baseline_metrics, regression_metrics
from mlops_course.features import build_preprocessor, split_xy
from mlops_course.model_io import log_model
from mlops_course.settings import get_settings

ModelKind = Literal["hgb", "ridge", "random_forest"]

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "hgb": {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 31},
    "ridge": {"alpha": 1.0},
    "random_forest": {"n_estimators": 100, "max_depth": 12, "n_jobs": 1},
}


def build_model(kind: ModelKind = "hgb", seed: int | None = None, **params: Any) -> Pipeline:
    """The feature pipeline and a regressor of ``kind``; ``params`` override its defaults.

    Parameters
    ----------
    kind
        ``"hgb"`` (gradient-boosted trees), ``"ridge"`` or ``"random_forest"``.
    seed
        The regressor's ``random_state``; None means the course settings' ``seed``. Ridge has
        no randomness and ignores it.
    **params
        Arguments of the regressor that override those of :data:`DEFAULT_PARAMS` for ``kind``.
    """
    if kind not in DEFAULT_PARAMS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {list(DEFAULT_PARAMS)}")
    seed = get_settings().seed if seed is None else seed
    merged = {**DEFAULT_PARAMS[kind], **params}
    if kind == "hgb":
        regressor = HistGradientBoostingRegressor(random_state=seed, **merged)
    elif kind == "random_forest":
        regressor = RandomForestRegressor(random_state=seed, **merged)
    else:
        regressor = Ridge(**merged)
    return Pipeline([("features", build_preprocessor()), ("model", regressor)])


@dataclass
class TrainResult:
    """A fitted model, how it scored, and where MLflow keeps it (when logged)."""

    model: Pipeline
    kind: str
    params: dict[str, Any]
    metrics: dict[str, float]
    baseline: dict[str, float]
    run_id: str | None = None
    model_uri: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def train(
    train_frame: pd.DataFrame,
    eval_frame: pd.DataFrame,
    kind: ModelKind = "hgb",
    params: dict[str, Any] | None = None,
    *,
    log_to_mlflow: bool = True,
    experiment: str | None = None,
    run_name: str | None = None,
    tags: dict[str, str] | None = None,
) -> TrainResult:
    """Fit on ``train_frame``, score on ``eval_frame`` and, by default, log the run to MLflow.

    Parameters
    ----------
    train_frame, eval_frame
        Labelled trips to fit on (the monitoring reference's sample) and held-out ones to score
        on (the plot and the model's input example).
    kind
        The model kind, see :func:`build_model`.
    params
        Overrides of the kind's :data:`DEFAULT_PARAMS`, passed to :func:`build_model`; None keeps
        them all. The model is seeded with the course settings' ``seed`` unless ``params`` holds
        a ``seed``.
    log_to_mlflow
        Log parameters, days and rows seen, metrics, a plot, the model and its monitoring
        reference to the tracking server (:func:`mlops_course.tracking.point_at`); False: plain
        scikit-learn.
    experiment, run_name, tags
        The MLflow experiment (None: the course settings'), the run's name (None: MLflow picks
        one) and its tags (kept in the result too).

    Returns
    -------
    TrainResult
        The fitted model, its parameters, its metrics and the baseline's on ``eval_frame``;
        ``run_id`` and ``model_uri`` only when the run was logged.
    """
    params = dict(params or {})
    tags = dict(tags or {})
    x_train, y_train = split_xy(train_frame)
    x_eval, y_eval = split_xy(eval_frame)
    model = build_model(kind, **params).fit(x_train, y_train)
    predictions = model.predict(x_eval)
    metrics = regression_metrics(y_eval, predictions)
    baseline = baseline_metrics(y_train, y_eval)
    result = TrainResult(
        model, kind, {**DEFAULT_PARAMS[kind], **params}, metrics, baseline, tags=tags
    )
    if not log_to_mlflow:
        return result
    _log_run(result, train_frame, eval_frame, predictions, experiment, run_name)
    return result


def _log_run(
    result: TrainResult,
    train_frame: pd.DataFrame,
    eval_frame: pd.DataFrame,
    predictions: Any,
    experiment: str | None,
    run_name: str | None,
) -> None:
    """Log a fitted result as one MLflow run and fill in its ``run_id`` and ``model_uri``."""
    # Imported here: MLflow and matplotlib take seconds to import, and the DVC pipeline's steps,
    # each a fresh process, fit models without logging them.
    import matplotlib.pyplot as plt
    import mlflow

    from mlops_course.evaluate import plot_predictions
    from mlops_course.monitoring.reference import build_reference, log_reference
    from mlops_course.tracking import require_server

    require_server()
    x_eval, y_eval = split_xy(eval_frame)
    mlflow.set_experiment(experiment or get_settings().experiment_name)
    with mlflow.start_run(run_name=run_name, tags=result.tags) as run:
        mlflow.log_params({"model_kind": result.kind, **result.params})
        mlflow.log_params(
            {
                "n_train_rows": len(train_frame),
                "n_eval_rows": len(eval_frame),
                "train_days": _day_range(train_frame),
                "eval_days": _day_range(eval_frame),
            }
        )
        mlflow.log_metrics(result.metrics)
        mlflow.log_metrics({f"baseline_{k}": v for k, v in result.baseline.items()})
        fig = plot_predictions(y_eval, predictions)
        mlflow.log_figure(fig, "predictions.png")
        plt.close(fig)
        info = log_model(result.model, x_eval.head(5), result.kind)
        # Monitoring compares served data with what this model was trained on: the reference
        # travels with the run, so every registered version has its own.
        log_reference(build_reference(result.model, train_frame))
        result.run_id = run.info.run_id
        result.model_uri = info.model_uri


def _day_range(frame: pd.DataFrame) -> str:
    if "day" not in frame.columns or frame.empty:
        return "unknown"
    return f"{int(frame['day'].min())}-{int(frame['day'].max())}"
