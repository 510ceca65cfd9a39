"""Each training run logs its monitoring reference; monitoring loads it by run, version or alias."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from mlops_course import registry, services
from mlops_course.data.simulate import simulate_days
from mlops_course.features import to_model_input
from mlops_course.monitoring.reference import REFERENCE_ARTIFACT, load_reference
from mlops_course.schema import FEATURE_COLUMNS
from mlops_course.train import train


def test_train_logs_a_reference_that_loads_by_run_version_and_alias(
    mlflow_server: services.Service, model_name: str
) -> None:
    train_frame = simulate_days(range(3), n=300)
    result = train(train_frame, simulate_days([3], n=300), kind="ridge", run_name="reference")
    artifacts = {a.path for a in MlflowClient().list_artifacts(result.run_id, "reference")}
    assert artifacts == {REFERENCE_ARTIFACT}

    reference = load_reference(result.run_id)
    assert len(reference) == 900 and list(reference.columns) == [*FEATURE_COLUMNS, "prediction"]
    expected = result.model.predict(to_model_input(reference))
    assert reference["prediction"].to_numpy() == pytest.approx(expected)

    version = registry.register(result.model_uri, model_name)
    registry.set_alias(registry.CHAMPION, version.version, model_name)
    by_version = load_reference(version=version.version, name=model_name)
    by_alias = load_reference(alias=registry.CHAMPION, name=model_name)
    assert by_version.equals(reference) and by_alias.equals(reference)


def test_missing_reference_and_ambiguous_requests_are_explained(
    mlflow_server: services.Service,
) -> None:
    import mlflow

    with mlflow.start_run() as run:
        mlflow.log_param("empty", 1)
    with pytest.raises(LookupError, match="retrain the model"):
        load_reference(run.info.run_id)
    with pytest.raises(ValueError, match="exactly one"):
        load_reference(run.info.run_id, alias="champion")
