"""Training, tracking and the registry against a real MLflow server on loopback."""

from __future__ import annotations

import os

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from mlops_course import registry, services
from mlops_course.data.simulate import simulate_days
from mlops_course.features import to_model_input
from mlops_course.train import train


@pytest.fixture(scope="module")
def trained(mlflow_server: services.Service):
    """Two logged runs of different quality: a good tree model and a weak linear one."""
    train_frame, eval_frame = simulate_days(range(4), n=400), simulate_days([4], n=400)
    good = train(train_frame, eval_frame, kind="hgb", run_name="good")
    weak = train(train_frame, eval_frame, kind="ridge", run_name="weak")
    return good, weak, eval_frame


def test_run_logs_params_metrics_plot_and_model(trained) -> None:
    """A run must carry everything needed to compare and reproduce it."""
    good, _, _ = trained
    run = MlflowClient().get_run(good.run_id)
    assert run.data.params["model_kind"] == "hgb"
    assert run.data.params["train_days"] == "0-3"
    assert run.data.metrics["mae"] == pytest.approx(good.metrics["mae"])
    assert run.data.metrics["baseline_mae"] > run.data.metrics["mae"]
    artifacts = {a.path for a in MlflowClient().list_artifacts(good.run_id)}
    assert "predictions.png" in artifacts
    info = mlflow.models.get_model_info(good.model_uri)
    assert info.signature is not None
    assert [c.name for c in info.signature.inputs.inputs][:2] == ["pickup_zone", "pickup_hour"]
    assert info.flavors["sklearn"]["serialization_format"] == "skops"


def test_register_promote_load_and_rollback(trained, model_name: str) -> None:
    """Aliases decide what is served: promote moves champion, rollback moves it back."""
    good, weak, eval_frame = trained
    assert registry.get_version(registry.CHAMPION, model_name) is None
    with pytest.raises(LookupError, match="no version with alias"):
        registry.load_model(registry.CHAMPION, model_name)
    with pytest.raises(LookupError, match="nothing to roll back"):
        registry.rollback(model_name)

    v1 = registry.register(good.model_uri, model_name)
    v2 = registry.register(weak.model_uri, model_name)
    registry.promote(v1.version, model_name)
    registry.promote(v2.version, model_name)
    assert registry.get_version(registry.CHAMPION, model_name).version == v2.version
    assert registry.get_version(registry.PREVIOUS, model_name).version == v1.version

    x = to_model_input(eval_frame)
    served = registry.load_model(registry.CHAMPION, model_name).predict(x)
    np.testing.assert_allclose(served, weak.model.predict(x))

    restored = registry.rollback(model_name)
    assert restored.version == v1.version
    assert registry.get_version(registry.CHAMPION, model_name).version == v1.version
    served = registry.load_model(registry.CHAMPION, model_name).predict(x)
    np.testing.assert_allclose(served, good.model.predict(x))


def test_hardened_environment_refuses_stray_loads_but_not_the_registry(
    trained, model_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With deserialization switched off, only the registry's narrow opt-in can load a model."""
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    good, _, _ = trained
    version = registry.register(good.model_uri, model_name)
    registry.set_alias(registry.CHALLENGER, version.version, model_name)
    with pytest.raises(mlflow.exceptions.MlflowException, match="MLFLOW_ALLOW_PICKLE"):
        mlflow.sklearn.load_model(f"models:/{model_name}@{registry.CHALLENGER}")
    assert registry.load_model(registry.CHALLENGER, model_name) is not None
    assert os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] == "false"
