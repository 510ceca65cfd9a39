"""Training without MLflow: the model learns, deterministically, and its skops list is exact."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline

from mlops_course.data.simulate import simulate_day, simulate_days
from mlops_course.features import split_xy
from mlops_course.model_io import SKOPS_TRUSTED_TYPES, model_requirements
from mlops_course.train import DEFAULT_PARAMS, TrainResult, build_model, train


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four training days and the following day for evaluation (explicit seed and size)."""
    return simulate_days(range(4), seed=42, n=800), simulate_day(4, seed=42, n=800)


@pytest.fixture(scope="module")
def hgb_result(frames: tuple[pd.DataFrame, pd.DataFrame]) -> TrainResult:
    """One gradient-boosting fit shared by the tests that only inspect it (fits cost seconds)."""
    return train(*frames, kind="hgb", log_to_mlflow=False)


def test_build_model_rejects_unknown_kind() -> None:
    """A typo in the model kind names the valid kinds instead of falling back to one."""
    with pytest.raises(ValueError, match="unknown model kind 'xgboost'") as info:
        build_model("xgboost")  # type: ignore[arg-type]
    for kind in DEFAULT_PARAMS:
        assert kind in str(info.value)


def test_build_model_merges_params_and_seed() -> None:
    """Overrides replace defaults, other defaults stay, and the seed reaches the regressor."""
    model = build_model("hgb", seed=3, max_iter=10)
    assert isinstance(model, Pipeline)
    params = model.named_steps["model"].get_params()
    assert params["max_iter"] == 10
    assert params["learning_rate"] == DEFAULT_PARAMS["hgb"]["learning_rate"]
    assert params["random_state"] == 3
    assert build_model("ridge").named_steps["model"].alpha == DEFAULT_PARAMS["ridge"]["alpha"]


def test_hgb_beats_median_baseline_clearly(hgb_result: TrainResult) -> None:
    """The model's MAE is at most half the median baseline's, or it has learned nothing useful."""
    assert hgb_result.kind == "hgb"
    assert hgb_result.run_id is None and hgb_result.model_uri is None
    assert hgb_result.metrics["mae"] <= 0.5 * hgb_result.baseline["mae"]
    assert hgb_result.metrics["r2"] > 0.8
    assert hgb_result.params == DEFAULT_PARAMS["hgb"]


def test_training_is_deterministic(
    frames: tuple[pd.DataFrame, pd.DataFrame], hgb_result: TrainResult
) -> None:
    """Two fits on the same data predict identically: reruns of a pipeline must reproduce."""
    again = train(*frames, kind="hgb", log_to_mlflow=False)
    x_eval, _ = split_xy(frames[1])
    np.testing.assert_array_equal(hgb_result.model.predict(x_eval), again.model.predict(x_eval))
    assert again.metrics == hgb_result.metrics


def test_ridge_also_beats_baseline(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Even the linear model beats doing nothing; params passed to train are recorded."""
    result = train(*frames, kind="ridge", params={"alpha": 2.0}, log_to_mlflow=False)
    assert result.params == {"alpha": 2.0}
    assert result.model.named_steps["model"].alpha == 2.0
    assert result.metrics["mae"] < result.baseline["mae"]


@pytest.mark.parametrize("kind", list(DEFAULT_PARAMS))
def test_skops_trusted_types_are_exact(kind: str, hgb_result: TrainResult) -> None:
    """SKOPS_TRUSTED_TYPES[kind] is exactly what skops reports as untrusted for a fitted model.

    Too few and MLflow cannot load the model; too many and the allow-list trusts types the
    model does not contain, which is what makes loading untrusted files dangerous.
    """
    assert set(SKOPS_TRUSTED_TYPES) == set(DEFAULT_PARAMS)
    if kind == "hgb":
        model = hgb_result.model
    else:
        model = build_model(kind).fit(*split_xy(simulate_days(range(2), seed=1, n=300)))
    untrusted = sio.get_untrusted_types(data=sio.dumps(model))
    assert set(SKOPS_TRUSTED_TYPES[kind]) == set(untrusted)
    assert len(SKOPS_TRUSTED_TYPES[kind]) == len(set(SKOPS_TRUSTED_TYPES[kind]))
    loaded = sio.loads(sio.dumps(model), trusted=SKOPS_TRUSTED_TYPES[kind])
    x, _ = split_xy(simulate_day(9, seed=1, n=50))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_model_requirements_pin_installed_versions() -> None:
    """Each requirement is 'name==installed version', so a served model gets the same stack."""
    requirements = model_requirements()
    assert requirements
    names = set()
    for line in requirements:
        name, sep, pinned = line.partition("==")
        assert sep == "==", line
        assert pinned == version(name), line
        names.add(name)
    assert {"mlflow", "scikit-learn", "skops"} <= names
