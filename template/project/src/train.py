"""Train the model on the clean data, log the run to MLflow and save the model for the API.

`dvc repro` runs this as the `train` stage; `python -m src.train` runs it by hand.
"""

import json
import os
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from src.data.schema import FEATURES, TARGET
from src.data.split import split
from src.models.metrics import baseline_score, score
from src.models.model import TRUSTED_TYPES, build_model, model_requirements, save_model
from src.utils.config import (
    CLEAN_DATA,
    MODEL_PATH,
    PROBLEM_TYPE,
    REPORTS,
    load_params,
    mlflow_config,
)

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def fit(frame: pd.DataFrame, params: dict[str, Any]) -> tuple[Pipeline, dict[str, float]]:
    """The trained model and its test metrics, with the baseline's prefixed `baseline_`."""
    train, test = split(frame, params["split"]["test_size"], params["seed"])
    model = build_model(params["train"], params["seed"])
    model.fit(train[FEATURES], train[TARGET])
    metrics = score(model, test)
    metrics.update({f"baseline_{k}": v for k, v in baseline_score(train, test).items()})
    return model, metrics


def log_run(
    model: Pipeline, params: dict[str, Any], metrics: dict[str, float], example: pd.DataFrame
) -> str:
    """Log parameters, metrics and the model to MLflow, register it as a new model version, and
    return the run id.

    MLflow is imported here, not at the top: it takes seconds to import, and the API and the tests
    that do not log need not wait for it.
    """
    import mlflow
    from mlflow.models import infer_signature

    config = mlflow_config()
    mlflow.set_tracking_uri(config["tracking_uri"])
    mlflow.set_experiment(config["experiment_name"])
    with mlflow.start_run() as run:
        mlflow.log_params({"problem_type": PROBLEM_TYPE, "seed": params["seed"], **params["train"]})
        mlflow.log_metrics(metrics)
        mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="skops",
            skops_trusted_types=TRUSTED_TYPES,
            signature=infer_signature(example, model.predict(example)),
            input_example=example.head(3),
            pip_requirements=model_requirements(),
            registered_model_name=config["registered_model_name"],
        )
    return run.info.run_id


def main() -> None:
    params = load_params()
    frame = pd.read_csv(CLEAN_DATA)
    model, metrics = fit(frame, params)
    run_id = log_run(model, params, metrics, frame[FEATURES].head(20))
    save_model(model, MODEL_PATH)
    REPORTS.mkdir(exist_ok=True)
    report = {"mlflow_run_id": run_id, **metrics}
    (REPORTS / "train.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"trained; MLflow run {run_id}; metrics {metrics}")


if __name__ == "__main__":
    main()
